"""Copied code, A/B compare, "Use as input", the history on a phone and session keys kept out of the browser's
storage, as a visitor uses them in headless Chromium, on the sandbox.

Split from ``test_history_browser.py`` (whose fixtures and helpers this file uses) so that the workers of
``pytest -n 3 --dist loadfile`` share the history tests. One app and one browser serve the module; each test gets
its own browser context (fresh storage, so a fresh history).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.app_support import LaunchedApp
from tests.browser_support import put_back
from tests.test_history_browser import (
    choose,
    clipboard_once,
    code_value,
    follow_sandbox_comment,
    history_app,
    history_browser,
    history_page,
    local_storage,
    new_page,
    open_app,
    pick,
    run,
    run_snippet,
    selected_tab,
    shot,
    stored_history,
    tiles,
    wait_tiles,
    wait_value,
)

pytestmark = pytest.mark.timeout(150)


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    yield from history_app()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from history_browser()


@pytest.fixture
def page(browser, app) -> Iterator[Any]:
    yield from history_page(browser, app)


def test_copied_python_runs_against_the_sandbox_with_the_same_seed_and_prompt(page, app, tmp_path):
    run(page, "flux_pro", prompt="code that runs as it stands", seed=51)
    pick(page, 51)
    page.locator("#history-code").click()
    code = clipboard_once(page, "code that runs as it stands")
    assert "fal_client.subscribe" in code
    assert "sandbox-key" not in code and "Key " not in code
    assert code == code_value(page, "history-code-python")
    port = app.sandbox.url.rsplit(":", 1)[-1]
    assert f":{port}" not in code and "127.0.0.1" not in code.replace("127.0.0.1:8765", ""), "never the sandbox port"
    script = tmp_path / "copied.py"
    script.write_text(follow_sandbox_comment(code, app))
    result = run_snippet(script, {"FAL_KEY": "sandbox-key"})
    assert result["seed"] == 51 and result["prompt"] == "code that runs as it stands"

    page.locator("#history-code-section").get_by_role("tab", name="gradio_client").click()
    page.locator("#history-code-gradio_client pre code").wait_for()
    client_code = code_value(page, "history-code-gradio_client")
    (tmp_path / "client.py").write_text(client_code)
    outputs = run_snippet(tmp_path / "client.py", {})
    result_json = next(o for o in outputs if isinstance(o, dict) and "seed" in o)
    assert result_json["seed"] == 51 and result_json["prompt"] == "code that runs as it stands"


def test_ab_compare_shows_the_slider_and_only_the_differing_parameters(page):
    run(page, "flux_pro", prompt="compare me: A", seed=61)
    run(page, "flux_pro", prompt="compare me: B", seed=62)
    pick(page, 61)
    page.locator("#history-pin").click()
    page.locator("#compare-note", has_text="pin it as B").wait_for()
    pick(page, 62)
    page.locator("#history-pin").click()
    page.locator("#compare-note", has_text="B:").wait_for()
    slider_images = page.locator("#compare-slider img")
    page.wait_for_function("() => [...document.querySelectorAll('#compare-slider img')].filter(i => i.complete && "
                           "i.naturalWidth > 0).length >= 2")
    assert slider_images.count() >= 2
    rows = page.locator("#compare-diff tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(c => c.innerText.trim()))")
    assert sorted(rows) == [["prompt", "compare me: A", "compare me: B"], ["seed", "61", "62"]], rows
    page.locator("#compare").scroll_into_view_if_needed()
    shot(page, "history-05-compare.png", "#compare")
    # B deleted: the compare no longer shows it (it kept its image and caption), A stays pinned.
    pick(page, 62)
    assert page.locator("#history-gallery .thumbnail-item.selected").count() == 1
    page.locator("#history-delete").click()
    page.locator("#compare-note", has_text="pin it as B").wait_for()
    assert "compare me: B" not in page.locator("#compare").inner_text()
    page.wait_for_function("() => !document.querySelector('#compare-slider img')")
    assert not page.locator("#history-gallery .thumbnail-item.selected").count(), "no tile marked selected"


def test_use_as_input_sends_a_result_into_an_image_to_image_form(page):
    run(page, "flux_pro", prompt="a source image", seed=71)
    pick(page, 71)
    choose(page, "history-use-target", "[dev] Image to Image → image_url")
    page.locator("#history-use-as-input").click()
    page.locator("#flux_dev_image_to_image-image_url-source", has_text="the uploaded image").wait_for()
    assert selected_tab(page) == "[dev] Image to Image"
    assert "image_url: the image of your run" in page.locator("#flux_dev_image_to_image-status").inner_text()
    assert page.locator("#flux_dev_image_to_image-image_url-link textarea").input_value() == ""
    run(page, "flux_dev_image_to_image", prompt="the source, as a watercolor", seed=72)
    record = stored_history(page)[0]["record"]
    assert record["state"] == "done" and record["api_name"] == "flux_dev_image_to_image"
    assert record["input"]["image_url"].startswith("http"), "the image went up to (sandbox) fal storage"


@pytest.mark.parametrize(("target", "api_name", "field"), [
    ("FLUX.1 Kontext [pro] Image Editing → image_url", "flux_pro_kontext", "image_url"),
    ("FLUX.1 Kontext [pro] · BFL → input_image", "bfl_flux_kontext_pro", "input_image"),
])
def test_use_as_input_sends_a_result_into_a_models_tab_form(page, target, api_name, field):
    """Issue 18: the editing models live in the Models tab; a result goes there as an upload, on fal and on BFL."""
    seed = 81 if api_name.startswith("flux") else 82
    run(page, "flux_pro", prompt="a source for editing", seed=seed)
    pick(page, seed)
    choose(page, "history-use-target", target)
    page.locator("#history-use-as-input").click()
    page.locator(f"#{api_name}-{field}-source", has_text="the uploaded image").wait_for()
    assert selected_tab(page) == "Models"
    page.locator(f"#{api_name}-{field} img").first.wait_for()  # the image shows in the field
    assert f"{field}: the image of your run" in page.locator(f"#{api_name}-status").inner_text()
    page.locator(f"#{api_name}-prompt textarea").fill("make it a watercolor")
    page.locator(f"#{api_name}-generate").click()
    page.locator(f"#{api_name}-status", has_text="Done").wait_for()
    page.locator(f"#{api_name}-gallery img").first.wait_for()
    wait_tiles(page, 2)
    record = stored_history(page)[0]["record"]
    assert record["state"] == "done" and record["api_name"] == api_name, record
    sent = record["request"]
    if sent["provider"] == "bfl":  # sent inline as base64: the record describes the file, never its bytes
        assert [part["field"] for part in sent["files"]] == [field] and field not in sent["body"]
    else:  # uploaded to (sandbox) fal storage first
        assert record["input"][field].startswith("http") and sent["body"][field] == record["input"][field]


def test_history_and_share_links_on_a_phone(browser, app):
    page = new_page(browser, app, width=390, height=844)
    try:
        for seed in (81, 82, 83, 84):
            run(page, "flux_pro", prompt=f"phone run {seed}", seed=seed)
        pick(page, 83)
        page.locator("#history").scroll_into_view_if_needed()
        shot(page, "history-06-phone.png", "#history")
        shot(page, "history-07-phone-page.png")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"nothing wider than the phone: {width}px"
        boxes = [tiles(page).nth(i).bounding_box() for i in range(4)]
        assert all(b and b["x"] >= 0 and b["x"] + b["width"] <= 390 for b in boxes), boxes
        assert len({round(b["y"]) for b in boxes if b}) <= 2, "at least two tiles a row"
        for button in ("#history-restore", "#history-reuse-seed", "#history-code", "#history-download",
                       "#history-pin", "#history-delete", "#history-use-as-input"):
            box = page.locator(button).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 28, (button, box)
        page.locator("#history-restore").click()
        wait_value(page, "#flux_pro-seed input", "83")
        # The restore then opens Advanced, which on a phone (one column) moves the share button further down: a tap
        # aimed before that lands elsewhere. Tap once the page has settled, as a visitor would.
        page.locator("#flux_pro-num_inference_steps").wait_for(state="visible")
        page.locator("#flux_pro-share").click()
        page.wait_for_function("() => (document.querySelector('#flux_pro-share-link textarea') || {}).value")
        box = page.locator("#flux_pro-share-link").bounding_box()
        assert box and box["x"] + box["width"] <= 390
        shot(page, "history-08-phone-share.png", "#flux_pro-share-link")
    finally:
        put_back(page)


def test_a_session_key_never_reaches_local_storage(browser, app):
    secret = "sandbox-id:never-in-storage-0123456789abcdef"
    page = new_page(browser, app)
    try:
        page.get_by_text("Settings — use your own API keys").click()
        page.locator("#key-fal input").fill(secret)
        page.locator("#keys-save").click()
        page.locator("#keys-confirmation", has_text="key set for this session").wait_for()
        run(page, "flux_pro", prompt="a run with my own key", seed=91)
        entry = stored_history(page)[0]
        assert entry["record"]["route"] == "session_key", "the run used the pasted key"
        pick(page, 91)
        page.locator("#history-code").click()
        clipboard_once(page, "a run with my own key")
        page.reload()
        open_app(page, app.url)
        wait_tiles(page, 1)
        values = {**local_storage(page),
                  **page.evaluate("() => Object.fromEntries(Object.entries(sessionStorage))")}
        assert values, "there is stored data to check"
        for name, value in values.items():
            assert secret not in value and secret.split(":")[1] not in value, f"the key is in storage item {name}"
        history_text = json.dumps(stored_history(page))
        assert secret.split(":")[1] not in history_text, "the key is not in the (decrypted) history either"
        assert secret.split(":")[1] not in page.evaluate("navigator.clipboard.readText()")
        assert secret.split(":")[1] not in page.content()
    finally:
        put_back(page)
