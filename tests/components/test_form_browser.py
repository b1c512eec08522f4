"""The form's browser-side behaviour (Debian's chromium via Playwright; skipped when either is missing):
image size kept in step by js, width/height shown only for "custom", "Insert template", an empty seed, and the
example URL filled in on page load."""

from __future__ import annotations

import json
import shutil
from typing import Any

import gradio as gr
import pytest

from components.form import EndpointForm, FormError, build_form
from endpoints import get_endpoint

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="chromium is not installed")


def build_demo() -> gr.Blocks:
    with gr.Blocks() as demo:
        for api_name in ("flux_pro", "flux_general_rf_inversion"):
            form = build_form(get_endpoint(api_name))
            run = gr.Button("Generate", elem_id=f"{api_name}-run")
            out = gr.Textbox(elem_id=f"{api_name}-out")

            def handler(_form: EndpointForm = form, **values: Any) -> str:
                try:
                    return json.dumps({"wire": _form.to_model(values).to_wire()})
                except FormError as exc:
                    return json.dumps({"errors": exc.messages})

            run.click(form.declare_api_parameters(handler),
                      inputs_kwargs=form.api_inputs() | form.ui_inputs(), outputs=out)  # fmt: skip
    return demo


@pytest.fixture(scope="module")
def page():
    demo = build_demo()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        with playwright_sync.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(demo.local_url)
            page.wait_for_selector("#flux_pro-run", timeout=20_000)
            page.wait_for_function(
                "() => document.querySelector('#flux_general_rf_inversion-image_url-link textarea').value !== ''",
                timeout=10_000,
            )
            yield page
            browser.close()
    finally:
        demo.close()


def generate(page, api_name: str) -> dict[str, Any]:
    box = f"#{api_name}-out textarea"
    page.locator(box).evaluate("el => { el.value = '' }")
    page.click(f"#{api_name}-run")
    page.wait_for_function(f"() => document.querySelector('{box}').value !== ''", timeout=10_000)
    return json.loads(page.locator(box).input_value())["wire"]


def choose(page, elem_id: str, option: str) -> None:
    page.click(f"#{elem_id} input")
    page.locator("[role=option]", has_text=option).first.click()
    page.wait_for_timeout(300)


@pytest.mark.timeout(60)
def test_page_load_defaults(page) -> None:
    assert page.locator("#flux_pro-seed input").input_value() == ""
    wire = generate(page, "flux_pro")
    assert "seed" not in wire and wire["image_size"] == "landscape_4_3"
    rf = generate(page, "flux_general_rf_inversion")
    assert rf["image_url"] == get_endpoint("flux_general_rf_inversion").example["image_url"]
    assert "image_size" not in rf


@pytest.mark.timeout(60)
def test_image_size_follows_the_preset_and_custom_size(page) -> None:
    width = page.locator("#flux_pro-image_size-width")
    assert not width.is_visible()
    choose(page, "flux_pro-image_size-preset", "square_hd")
    assert generate(page, "flux_pro")["image_size"] == "square_hd"
    choose(page, "flux_pro-image_size-preset", "custom")
    assert width.is_visible()
    page.fill("#flux_pro-image_size-width input", "800")
    page.locator("#flux_pro-image_size-width input").press("Tab")
    page.wait_for_timeout(300)
    assert generate(page, "flux_pro")["image_size"] == {"width": 800, "height": 1024}
    choose(page, "flux_pro-image_size-preset", "portrait_16_9")
    assert not width.is_visible()
    assert generate(page, "flux_pro")["image_size"] == "portrait_16_9"


@pytest.mark.timeout(60)
def test_insert_template_appends_list_items(page) -> None:
    page.locator("#flux_general_rf_inversion-advanced").get_by_text("Advanced").first.click()
    page.locator("#flux_general_rf_inversion-section-loras-and-controls").get_by_text("LoRAs and controls").first.click()
    for _ in range(2):
        page.click("#flux_general_rf_inversion-loras-template")
        page.wait_for_timeout(200)
    page.click("#flux_general_rf_inversion-fill_image-template")
    page.wait_for_timeout(200)
    wire = generate(page, "flux_general_rf_inversion")
    assert wire["loras"] == [{"path": "", "scale": 1.0}] * 2
    assert wire["fill_image"] == {"fill_image_url": ""}
