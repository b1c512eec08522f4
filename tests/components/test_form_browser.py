"""The form's browser-side behaviour (Debian's Chromium via Playwright, ``tests/browser_support``; skipped when either is missing): the
example filled in on page load, image size kept in step by js, out-of-range values typed into sliders refused by
name (not clamped) with nothing submitted, and the image upload-or-URL choice."""

from __future__ import annotations

import json
import time
from typing import Any

import gradio as gr
import pytest

from components.form import EndpointForm, FormError, build_form
from components.page_config import trim_page_config
from endpoints import get_endpoint
from tests.app_support import free_port
from tests.browser_support import launch, needs_chromium, new_context

ENDPOINT_NAMES = ("flux_pro", "flux_general_rf_inversion", "flux_dev_image_to_image", "segmind_flux_depth_pro")

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = needs_chromium

#: Every input that reached the handler and validated (what would have been sent to the provider).
SUBMITTED: list[dict[str, Any]] = []
#: A past rf-inversion input that "Restore" writes back into the form.
RESTORED: dict[str, Any] = {
    "prompt": "restored", "image_url": "https://x.test/in.png", "image_size": {"width": 640, "height": 480},
    "seed": 42, "num_inference_steps": 30, "sigma_schedule": "sgm_uniform",
    "loras": [{"path": "https://x.test/r.safetensors", "scale": 0.7}],
    "controlnet_unions": [{"path": "https://x.test/u",
                           "controls": [{"control_image_url": "https://x.test/e.png", "control_mode": "depth"}]}],
    "fill_image": {"fill_image_url": "https://x.test/fill.png"},
}  # fmt: skip


def build_demo() -> gr.Blocks:
    with gr.Blocks() as demo:
        for api_name in ENDPOINT_NAMES:
            form = build_form(get_endpoint(api_name))
            run = gr.Button("Generate", elem_id=f"{api_name}-run")
            out = gr.Textbox(elem_id=f"{api_name}-out")

            def handler(_form: EndpointForm = form, **values: Any) -> str:
                try:
                    wire = _form.to_model(values).to_wire()
                except FormError as exc:
                    raise gr.Error(str(exc), title="Invalid input") from None
                SUBMITTED.append(wire)
                return json.dumps({"wire": wire, "run": len(SUBMITTED)})  # never twice the same output

            run.click(form.declare_api_parameters(handler),
                      inputs_kwargs=form.api_inputs() | form.ui_inputs(), outputs=out)  # fmt: skip
            if api_name == "flux_general_rf_inversion":  # Restore, as the app's history does it: server-side
                restore = gr.Button("Restore", elem_id=f"{api_name}-restore")
                restore.click(lambda _form=form: _form.updates(RESTORED),
                              outputs=list(form.value_components().values()))  # fmt: skip
    return demo


@pytest.fixture(scope="module")
def page():
    demo = build_demo()
    trim_page_config()  # the page as the app serves it: the example as starting values (components.page_config)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        with playwright_sync.sync_playwright() as p:
            browser = launch(p)
            page = new_context(browser).new_page()
            page.goto(demo.local_url)
            page.wait_for_selector("#flux_pro-run", timeout=20_000)
            page.wait_for_function(
                "() => document.querySelector('#flux_general_rf_inversion-image_url-link textarea')?.value",
                timeout=10_000,
            )
            # Gradio draws each block once its type's module has loaded: on a busy machine the forms' Advanced
            # sections came after the rest, so a first snapshot of the page missed them.
            page.wait_for_function("""() => {
                const ids = window.gradio_config.components.map((c) => c.props && c.props.elem_id)
                    .filter((id) => id && id.endsWith('-advanced'));
                return ids.length >= 4 && ids.every((id) => document.getElementById(id));
            }""", timeout=20_000)
            yield page
            browser.close()
    finally:
        demo.close()


def generate(page, api_name: str) -> dict[str, Any]:
    box = f"#{api_name}-out textarea"
    page.locator(box).evaluate("el => { el.value = '' }")
    page.click(f"#{api_name}-run")
    page.wait_for_function(f"() => document.querySelector('{box}').value !== ''", timeout=30_000)
    return json.loads(page.locator(box).input_value())["wire"]


def generate_or_refused(page, api_name: str) -> dict[str, Any] | None:
    """Generate: the input submitted, or None when the form refused it (its toast closed)."""
    box = f"#{api_name}-out textarea"
    page.locator(box).evaluate("el => { el.value = '' }")
    page.click(f"#{api_name}-run")
    page.wait_for_function(f"() => document.querySelector('{box}').value !== '' || document.querySelector('.toast-body')",
                           timeout=30_000)
    if page.locator(box).input_value():
        return json.loads(page.locator(box).input_value())["wire"]
    close_toasts(page)
    return None


def generate_refused(page, api_name: str, message: str) -> None:
    """Generate, expect an error toast with ``message``, and check nothing was submitted."""
    before = len(SUBMITTED)
    page.click(f"#{api_name}-run")
    page.locator(".toast-body", has_text=message).first.wait_for(timeout=10_000)
    assert len(SUBMITTED) == before
    close_toasts(page)


def close_toasts(page) -> None:
    closes = page.locator(".toast-close")
    for _ in range(10):
        if not closes.count():
            return
        try:
            closes.first.click(timeout=2_000)
        except playwright_sync.TimeoutError:
            pass
        page.wait_for_timeout(200)


def choose(page, elem_id: str, option: str) -> None:
    page.click(f"#{elem_id} input")
    page.locator("[role=option]", has_text=option).first.click()
    page.wait_for_timeout(300)


def open_section(page, api_name: str, *titles: str) -> None:
    """Open "Advanced" and closed sub-sections of it (each click toggles: once per endpoint and module)."""
    page.locator(f"#{api_name}-advanced").get_by_text("Advanced").first.click()
    for title in titles:
        elem_id = f"{api_name}-section-{title.lower().replace(' ', '-')}"
        page.locator(f"#{elem_id}").get_by_text(title).first.click()
    page.wait_for_timeout(300)


def type_into(page, selector: str, text: str) -> None:
    box = page.locator(selector)
    box.fill(text)
    box.press("Tab")  # leave the box: this is where Gradio's slider used to clamp
    page.wait_for_timeout(300)


SNAPSHOT_JS = """(prefix) => [...document.querySelectorAll(`[id^="${prefix}-"]`)]
    .filter(el => !el.id.endsWith("-out"))
    .map(el => [el.id, el.offsetParent !== null,
                [...el.querySelectorAll("input, textarea")].map(box => box.type === "checkbox" ? box.checked : box.value),
                el.id.endsWith("-source") ? el.innerText.trim() : ""])"""


@pytest.mark.timeout(90)
def test_the_page_opens_as_load_example_leaves_it(page) -> None:
    """The example arrives as the page's starting values, not by events, so nothing the browser derives from the
    values (which image is sent, the custom size boxes, list rows) may differ from pressing "Load example"."""
    for api_name in ENDPOINT_NAMES:
        opened = settled(page, api_name, lambda now: True)  # as drawn: unchanged for half a second
        assert any(row[2] for row in opened), api_name
        editable = ":not([disabled]):visible"
        boxes = page.locator(f'[id^="{api_name}-"] textarea{editable}, [id^="{api_name}-"] input[type=number]{editable}')
        for i in range(boxes.count()):
            boxes.nth(i).fill("")  # each box's change events run (and derive) from an empty form
        assert settled(page, api_name, lambda now, opened=opened: now != opened) != opened, api_name
        page.click(f"#{api_name}-load-example")
        # the click's own change events (js) settle: bounded, as a busy machine (three test workers on two cores)
        # took more than the second this waited before
        assert settled(page, api_name, lambda now, opened=opened: now == opened) == opened, api_name


def settled(page, api_name: str, done, timeout: float = 10.0):
    """The form's snapshot once ``done(snapshot)`` holds and it has stayed the same for half a second (at most
    ``timeout`` seconds): the last snapshot either way."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while True:
        now = page.evaluate(SNAPSHOT_JS, api_name)
        if now != last:
            last, since = now, time.monotonic()
        if (done(now) and time.monotonic() - since >= 0.5) or time.monotonic() > deadline:
            return now
        page.wait_for_timeout(100)


@pytest.mark.timeout(60)
def test_page_load_fills_the_example_and_defaults(page) -> None:
    assert page.locator("#flux_pro-seed input").input_value() == ""
    wire = generate(page, "flux_pro")
    assert wire == get_endpoint("flux_pro").example  # filled in by the page, not the API default
    rf = generate(page, "flux_general_rf_inversion")
    assert rf["image_url"] == get_endpoint("flux_general_rf_inversion").example["image_url"]
    assert "image_size" not in rf and "sigma_schedule" not in rf


@pytest.mark.timeout(60)
def test_image_size_follows_the_preset_and_custom_size(page) -> None:
    width = page.locator("#flux_pro-image_size-width")
    assert not width.is_visible()
    choose(page, "flux_pro-image_size-preset", "square_hd")
    assert generate(page, "flux_pro")["image_size"] == "square_hd"
    choose(page, "flux_pro-image_size-preset", "custom")
    assert width.is_visible()
    type_into(page, "#flux_pro-image_size-width input", "800")
    assert generate(page, "flux_pro")["image_size"] == {"width": 800, "height": 1024}
    choose(page, "flux_pro-image_size-preset", "portrait_16_9")
    assert not width.is_visible()
    assert generate(page, "flux_pro")["image_size"] == "portrait_16_9"


@pytest.mark.timeout(90)
def test_out_of_range_slider_values_are_refused_by_name_not_clamped(page) -> None:
    open_section(page, "flux_pro")  # "Sampling" starts open
    steps = "#flux_pro-num_inference_steps input[type=number]"
    type_into(page, steps, "80")
    assert page.locator(steps).input_value() == "80"  # not clamped to 50 on leaving the box
    generate_refused(page, "flux_pro", "num_inference_steps: must be between 1 and 50")
    type_into(page, steps, "30")
    assert generate(page, "flux_pro")["num_inference_steps"] == 30

    strength = "#flux_dev_image_to_image-strength input[type=number]"
    type_into(page, strength, "0")
    assert page.locator(strength).input_value() == "0"  # not 0.01
    generate_refused(page, "flux_dev_image_to_image", "strength: must be between 0.01 and 1")
    type_into(page, strength, "0.5")
    assert generate(page, "flux_dev_image_to_image")["strength"] == 0.5


@pytest.mark.timeout(60)
def test_out_of_range_number_box_is_refused_by_name(page) -> None:
    type_into(page, "#flux_pro-seed input", "-5")
    generate_refused(page, "flux_pro", "seed: must be between 0 and 4294967295")
    type_into(page, "#flux_pro-seed input", "")
    assert "seed" not in generate(page, "flux_pro")


@pytest.mark.timeout(90)
def test_image_upload_or_url_says_which_is_sent_and_clears_the_other(page, tmp_path) -> None:
    from PIL import Image

    png = tmp_path / "control.png"
    Image.new("RGB", (16, 16), (20, 120, 200)).save(png)
    source = page.locator("#segmind_flux_depth_pro-control_image-source")
    link = page.locator("#segmind_flux_depth_pro-control_image-link textarea")
    assert "the URL" in source.inner_text()  # the example's URL, filled in on load
    page.locator("#segmind_flux_depth_pro-control_image input[type=file]").set_input_files(str(png))
    page.wait_for_function(
        "() => document.querySelector('#segmind_flux_depth_pro-control_image-link textarea').value === ''"
    )
    page.locator("#segmind_flux_depth_pro-control_image-source", has_text="the uploaded image").wait_for()
    wire = generate(page, "segmind_flux_depth_pro")
    assert wire["control_image"].endswith("control.png") and not wire["control_image"].startswith("http")

    link.fill("https://x.test/c.png")  # typing a URL removes the upload
    page.locator("#segmind_flux_depth_pro-control_image-source", has_text="the URL").wait_for()
    assert generate(page, "segmind_flux_depth_pro")["control_image"] == "https://x.test/c.png"

    link.fill("")
    page.locator("#segmind_flux_depth_pro-control_image-source", has_text="Nothing chosen").wait_for()
    generate_refused(page, "segmind_flux_depth_pro", "control_image: is required")


@pytest.mark.timeout(60)
def test_uploading_a_file_that_is_not_an_image_says_so(page, tmp_path) -> None:
    notes = tmp_path / "notes.png"  # the page's file picker asks for images; the name alone does not make one
    notes.write_text("not an image")
    link = page.locator("#flux_dev_image_to_image-image_url-link textarea")
    link.fill("https://x.test/kept.png")
    page.locator("#flux_dev_image_to_image-image_url-source", has_text="the URL").wait_for()
    page.locator("#flux_dev_image_to_image-image_url input[type=file]").set_input_files(str(notes))
    # Named as the form shows it ("Image", the box taking an upload or a URL), not by its wire name.
    page.locator(".toast-body", has_text='Image: "notes.png" is not an image').first.wait_for(timeout=10_000)
    close_toasts(page)
    # The refused file took nothing with it: the URL given before is still there, and is what is sent.
    page.locator("#flux_dev_image_to_image-image_url-source", has_text="the URL").wait_for()
    assert link.input_value() == "https://x.test/kept.png"
    assert generate(page, "flux_dev_image_to_image")["image_url"] == "https://x.test/kept.png"


@pytest.mark.timeout(60)
def test_a_url_typed_while_an_uploads_check_is_on_its_way_is_kept(page, tmp_path) -> None:
    """The upload's check (a queued event) emptied the URL box when it answered, after a URL typed meanwhile had
    removed the upload: the field was left empty (a review)."""
    from PIL import Image

    png = tmp_path / "red.png"
    Image.new("RGB", (16, 16), (200, 30, 30)).save(png)
    api = "flux_dev_image_to_image"
    link = page.locator(f"#{api}-image_url-link textarea")
    held: list[Any] = []
    page.route("**/queue/join*", lambda route: held.append(route))  # the check waits until the URL is typed
    try:
        page.locator(f"#{api}-image_url input[type=file]").set_input_files(str(png))
        page.wait_for_timeout(300)
        link.fill("https://x.test/typed-meanwhile.png")
        page.locator(f"#{api}-image_url-source", has_text="the URL").wait_for()
        for route in held:
            route.continue_()
    finally:
        page.unroute("**/queue/join*")
    page.wait_for_timeout(1_500)  # the check has answered
    assert link.input_value() == "https://x.test/typed-meanwhile.png"
    assert generate(page, api)["image_url"] == "https://x.test/typed-meanwhile.png"


# --- list fields: row editors over the JSON text ---------------------------------------------------------------

RF = "flux_general_rf_inversion"


@pytest.fixture(scope="module")
def rf_lists(page):
    """The rf-inversion form with "Advanced" and "LoRAs and controls" open."""
    open_section(page, RF, "LoRAs and controls")
    return page


def row(field: str, *path: int | str) -> str:
    """``row("loras", 0, "path")`` -> ``#flux_general_rf_inversion-loras-row-0-path``."""
    parts = [f"row-{p}" if isinstance(p, int) else p for p in path]
    return "#" + "-".join([RF, field, *parts])


def json_view(page, field: str) -> Any:
    """The field's JSON editor text, parsed (opens "Edit as JSON" the first time)."""
    editor = page.locator(f"#{RF}-{field} .cm-content")
    if not editor.is_visible():
        page.locator(f"#{RF}-{field}-json").get_by_text("Edit as JSON").first.click()
        editor.wait_for()
    text = editor.inner_text()
    return json.loads(text) if text.strip() else None


@pytest.mark.timeout(90)
def test_proper_labels(rf_lists) -> None:
    page = rf_lists
    for label in ("LoRAs", "Control LoRAs", "ControlNets", "ControlNet unions", "EasyControls", "Fill image"):
        assert page.locator(f"#{RF}-section-loras-and-controls").get_by_text(label, exact=True).first.is_visible()
    assert page.locator(f"{row('loras')}-add").inner_text().strip() == "+ Add LoRA"


@pytest.mark.timeout(120)
def test_rows_add_edit_remove_and_stay_in_step_with_the_json(rf_lists) -> None:
    page = rf_lists
    page.click(f"{row('loras')}-add")
    page.wait_for_selector(row("loras", 0, "path"))
    page.click(f"{row('loras')}-add")
    page.wait_for_selector(row("loras", 1, "path"))
    type_into(page, f"{row('loras', 0, 'path')} textarea", "https://x.test/a.safetensors")
    type_into(page, f"{row('loras', 1, 'path')} textarea", "https://x.test/b.safetensors")
    type_into(page, f"{row('loras', 1, 'scale')} input[type=number]", "0.5")
    expected = [{"path": "https://x.test/a.safetensors", "scale": 1.0},
                {"path": "https://x.test/b.safetensors", "scale": 0.5}]  # fmt: skip
    assert generate(page, RF)["loras"] == expected
    assert json_view(page, "loras") == expected  # the JSON editor shows the rows

    page.click(f"{row('loras', 0)}-remove")
    page.wait_for_function(f"() => !document.querySelector('{row('loras', 1, 'path')}')")
    assert page.locator(f"{row('loras', 0, 'path')} textarea").input_value() == "https://x.test/b.safetensors"
    assert generate(page, RF)["loras"] == expected[1:]
    assert json_view(page, "loras") == expected[1:]

    # Power users edit the JSON; the rows follow when the editor loses focus.
    editor = page.locator(f"#{RF}-loras .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text('[{"path": "https://x.test/c.safetensors", "scale": 2}]')
    page.locator(f"{row('loras')}-add").hover()
    page.mouse.click(5, 5)  # leave the editor
    page.wait_for_function(
        f"() => document.querySelector('{row('loras', 0, 'path')} textarea')?.value === 'https://x.test/c.safetensors'"
    )
    assert page.locator(f"{row('loras', 0, 'scale')} input[type=number]").input_value() == "2"
    assert generate(page, RF)["loras"] == [{"path": "https://x.test/c.safetensors", "scale": 2}]
    page.click(f"{row('loras', 0)}-remove")
    page.wait_for_function(f"() => !document.querySelector('{row('loras', 0, 'path')}')")
    assert generate(page, RF)["loras"] == []


@pytest.mark.timeout(90)
def test_an_empty_row_is_an_error_not_dropped(rf_lists) -> None:
    page = rf_lists
    page.click(f"{row('controlnets')}-add")
    page.wait_for_selector(row("controlnets", 0, "path"))
    assert page.locator(f"{row('controlnets')}-add").is_disabled()  # at most one ControlNet
    generate_refused(page, RF, "ControlNet 1 → path: is required")
    page.click(f"{row('controlnets', 0)}-remove")
    page.wait_for_function(f"() => !document.querySelector('{row('controlnets', 0, 'path')}')")
    assert generate(page, RF)["controlnets"] == []


@pytest.mark.timeout(120)
def test_row_images_take_an_upload_or_a_url(rf_lists, tmp_path) -> None:
    from PIL import Image

    page = rf_lists
    png = tmp_path / "control.png"
    Image.new("RGB", (8, 8), (10, 200, 10)).save(png)
    page.click(f"{row('control_loras')}-add")
    page.wait_for_selector(row("control_loras", 0, "path"))
    type_into(page, f"{row('control_loras', 0, 'path')} textarea", "https://x.test/depth.safetensors")
    page.locator(f"{row('control_loras', 0, 'control_image_url')} input[type=file]").set_input_files(str(png))
    # The upload is the one server step: it becomes a data: URI in the JSON.
    page.locator(f"{row('control_loras', 0, 'control_image_url')} img").wait_for()
    for _ in range(40):  # until the upload's server step has put the data: URI in (slow when the cores are busy)
        wire = generate_or_refused(page, RF)
        if wire is not None and (item := wire["control_loras"][0])["control_image_url"]:
            break
        page.wait_for_timeout(250)
    assert item["control_image_url"].startswith("data:image/png;base64,") and item["path"].endswith("depth.safetensors")

    link = f"{row('control_loras', 0, 'control_image_url')}-link textarea"
    type_into(page, link, "https://x.test/control.png")
    assert generate(page, RF)["control_loras"][0]["control_image_url"] == "https://x.test/control.png"
    type_into(page, link, "/etc/passwd")
    generate_refused(page, RF, "Control LoRA 1 → control_image_url: must be an http(s):// or data: URL")
    page.click(f"{row('control_loras', 0)}-remove")
    page.wait_for_function(f"() => !document.querySelector('{row('control_loras', 0, 'path')}')")


@pytest.mark.timeout(90)
def test_nested_rows_and_the_fill_image_object(rf_lists) -> None:
    page = rf_lists
    page.click(f"{row('controlnet_unions')}-add")
    page.wait_for_selector(row("controlnet_unions", 0, "controls", 0, "control_mode"))
    page.click(f"{row('controlnet_unions', 0, 'controls')}-add")
    page.wait_for_selector(row("controlnet_unions", 0, "controls", 1, "control_mode"))
    type_into(page, f"{row('controlnet_unions', 0, 'path')} textarea", "https://x.test/union")
    for index, url in enumerate(("https://x.test/e.png", "https://x.test/f.png")):
        type_into(page, f"{row('controlnet_unions', 0, 'controls', index, 'control_image_url')}-link textarea", url)
    page.click(f"{row('fill_image')}-add")
    page.wait_for_selector(row("fill_image", 0, "fill_image_url"))
    type_into(page, f"{row('fill_image', 0, 'fill_image_url')}-link textarea", "https://x.test/fill.png")
    wire = generate(page, RF)
    (union,) = wire["controlnet_unions"]
    assert union["path"] == "https://x.test/union"
    assert [c["control_image_url"] for c in union["controls"]] == ["https://x.test/e.png", "https://x.test/f.png"]
    assert wire["fill_image"] == {"fill_image_url": "https://x.test/fill.png"}
    page.click(f"{row('fill_image', 0)}-remove")
    page.click(f"{row('controlnet_unions', 0)}-remove")
    page.wait_for_function(f"() => !document.querySelector('{row('controlnet_unions', 0, 'path')}')")
    wire = generate(page, RF)
    assert "fill_image" not in wire and wire["controlnet_unions"] == []


@pytest.mark.timeout(90)
def test_restore_writes_a_past_input_back_into_every_widget(rf_lists) -> None:
    page = rf_lists
    page.click(f"#{RF}-restore")
    page.wait_for_selector(row("controlnet_unions", 0, "controls", 0, "control_mode"))
    assert page.locator(f"{row('loras', 0, 'path')} textarea").input_value() == "https://x.test/r.safetensors"
    assert page.locator(f"#{RF}-image_url-link textarea").input_value() == "https://x.test/in.png"
    expected = get_endpoint(RF).input_model.model_validate(RESTORED).to_wire()
    assert generate(page, RF) == expected

    page.click(f"#{RF}-load-example")  # and back to the documented example
    page.wait_for_function(f"() => !document.querySelector('{row('loras', 0, 'path')}')")
    example = get_endpoint(RF).input_model.model_validate(get_endpoint(RF).example).to_wire()
    assert generate(page, RF) == example
