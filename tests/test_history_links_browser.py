"""Downloads dropped back into "Open image", share links, and records (in opened images, links or the history) that
name another host or a server file, as a visitor meets them in headless Chromium, on the sandbox.

Split from ``test_history_browser.py`` (whose fixtures and helpers this file uses) so that the workers of
``pytest -n 3 --dist loadfile`` share the history tests. One app and one browser serve the module; each test gets
its own browser context (fresh storage, so a fresh history).
"""

from __future__ import annotations

import io
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from endpoints import get_endpoint
from providers.base import REDACTED, PreparedRequest
from runs.provenance import embed_metadata, read_metadata
from runs.record import RunRecord
from tests.app_support import LaunchedApp
from tests.browser_support import put_back
from tests.test_history_browser import (
    LORAS,
    RF,
    cached_copies,
    clear_toasts,
    clipboard_once,
    download,
    drop_image,
    history_app,
    history_browser,
    history_page,
    lora_rows,
    new_page,
    open_lora_json,
    open_section,
    pick,
    run,
    secret_file,
    select_tab,
    selected_tab,
    set_code,
    set_seed,
    shot,
    tile_count,
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


def test_downloaded_image_restores_its_run_and_an_image_without_metadata_says_so(page, tmp_path):
    run(page, "flux_pro", prompt="a downloaded lighthouse", seed=31)
    pick(page, 31)
    with page.expect_download() as started:  # the button saves the file: no second click on a list
        page.locator("#history-download").click()
    assert started.value.suggested_filename == "flux_pro-31-1.jpg", "named <api_name>-<seed>-<n>.<ext>"
    assert read_metadata(Path(started.value.path()).read_bytes()).seed == 31
    link = page.locator("#history-files a[download]").first  # and the list stays, to save it again
    link.wait_for()
    name, data = download(page, link)
    assert name == "flux_pro-31-1.jpg"
    meta = read_metadata(data)
    assert meta.kind == "record" and meta.seed == 31 and meta.prompt == "a downloaded lighthouse"
    saved = tmp_path / name
    saved.write_bytes(data)

    page.locator("#flux_pro-prompt textarea").fill("not the downloaded prompt")
    set_seed(page, "flux_pro", 1)
    select_tab(page, "segmind_flux_depth_pro")
    before = tile_count(page)
    drop_image(page, saved)
    page.locator("#open-image-note", has_text="every parameter can be restored").wait_for()
    assert "Restored into **FLUX.1 [pro]**" in page.locator("#open-image-note").inner_text() or (
        "Restored into FLUX.1 [pro]" in page.locator("#open-image-note").inner_text())
    wait_value(page, "#flux_pro-prompt textarea", "a downloaded lighthouse")
    assert selected_tab(page) == "FLUX.1 [pro]"
    assert page.locator("#flux_pro-seed input").input_value() == "31"
    assert "Restored from an image" in page.locator("#flux_pro-status").inner_text()
    assert tile_count(page) == before, "a run already in the history is not listed twice"
    shot(page, "history-03-open-image.png", "#history")

    plain = tmp_path / "plain.png"
    Image.new("RGB", (32, 32), (200, 30, 30)).save(plain)
    drop_image(page, plain)
    page.locator("#open-image-note", has_text="this image carries no parameters").wait_for()

    a1111 = tmp_path / "a1111.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a watercolor fox\nNegative prompt: blurry\n"
                                "Steps: 30, Sampler: Euler, CFG scale: 4.5, Seed: 4242, Size: 800x600, "
                                "Model: fal-ai/flux-pro")
    Image.new("RGB", (32, 32), (30, 30, 200)).save(a1111, pnginfo=info)
    select_tab(page, "flux_dev_image_to_image")
    drop_image(page, a1111)
    page.locator("#open-image-note", has_text="A1111-style parameters").wait_for()
    wait_value(page, "#flux_pro-prompt textarea", "a watercolor fox")
    assert selected_tab(page) == "FLUX.1 [pro]"
    assert page.locator("#flux_pro-seed input").input_value() == "4242"
    note = page.locator("#open-image-note").inner_text()
    assert "Negative prompt" in note, "what does not map is named"


def test_share_link_opens_the_right_tab_with_the_right_values(page, browser, app):
    open_lora_json(page)
    set_code(page, f"{RF}-loras", json.dumps(LORAS))
    page.locator(f"#{RF}-prompt textarea").fill("a shared inversion & more")
    set_seed(page, RF, 41)
    page.locator(f"#{RF}-share").click()
    box = page.locator(f"#{RF}-share-link textarea")
    box.wait_for()
    page.wait_for_function(f"() => (document.querySelector('#{RF}-share-link textarea') || {{}}).value")
    link = box.input_value()
    assert link.startswith(app.url.rstrip("/") + "/?endpoint=" + RF), link
    assert "seed=41" in link and "z=" in link, "plain seed, nested LoRAs packed"
    assert "FAL_KEY" not in link and "key" not in link.lower().split("?")[1].split("=")[0]
    assert clipboard_once(page, link) == link, "Copy link copies it"

    other = new_page(browser, app, url=link)
    try:
        wait_value(other, f"#{RF}-prompt textarea", "a shared inversion & more")
        assert selected_tab(other) == get_endpoint(RF).label
        assert "Filled in from a share link" in other.locator(f"#{RF}-status").inner_text()
        assert other.locator(f"#{RF}-seed input").input_value() == "41"
        open_section(other, RF, "LoRAs and controls", opened_by_page=True)
        other.wait_for_function(f"() => document.querySelectorAll('[id^={RF}-loras-row-][id$=-remove]').length === 2")
        assert lora_rows(other) == [lora["path"] for lora in LORAS]
        shot(other, "history-04-share-link-opened.png")
    finally:
        put_back(other)

    broken = new_page(browser, app, url=app.url.rstrip("/") + "/?endpoint=no_such_endpoint&prompt=x")
    try:
        broken.locator(".toast-body", has_text="names no endpoint").first.wait_for()
        assert selected_tab(broken) == "FLUX.1 [pro]"
    finally:
        put_back(broken)


def test_a_record_read_from_an_image_cannot_aim_the_copied_code_elsewhere(page, tmp_path):
    """Records in opened images (and in the browser's storage) are not trusted: copied code only ever targets the
    hosts this app sends runs to, or the provider's public service, which is where a visitor's key may go."""
    evil = "https://collector.example.test"
    body = {"prompt": "a trap", "seed": 4711}
    record = RunRecord(
        id="planted-run", endpoint_id="fal-ai/flux-pro", api_name="flux_pro", provider="fal", route="sandbox",
        input=body, state="done",
        request=PreparedRequest(provider="fal", endpoint_id="fal-ai/flux-pro", method="POST",
                                url=f"{evil}/fal-ai/flux-pro", headers={"Authorization": f"Key {REDACTED}"},
                                body_kind="json", body=body),
        result={"images": [{"url": f"{evil}/stolen.jpg", "content_type": "image/jpeg"}], "seed": 4711},
        request_id="planted",
    )
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(buffer, format="PNG")
    planted = tmp_path / "planted.png"
    planted.write_bytes(embed_metadata(buffer.getvalue(), "image/png", record))

    drop_image(page, planted)
    page.locator("#open-image-note", has_text="every parameter can be restored").wait_for()
    wait_tiles(page, 1)
    pick(page, 4711)
    page.locator("#history-code").click()
    page.locator(".toast-body", has_text="names a host this app does not use").first.wait_for()
    code = clipboard_once(page, "a trap")
    assert "collector.example.test" not in code and "QUEUE_URL_FORMAT" not in code, code
    assert "fal_client.subscribe" in code
    clear_toasts(page)
    page.locator("#history-download").click()
    page.locator(".toast-body", has_text="no longer available").first.wait_for()


def test_a_record_with_code_in_an_upload_name_gets_no_code(page, app, tmp_path):
    """The issue's record: an image-to-image run aimed at this app's own queue, whose upload's field name holds a
    newline and ``os.system``. "Open image" keeps it in the history; "Code" refuses it by field, copies nothing."""
    key = "image_url\nimport os; os.system('touch pwned')\n#"
    upload = f"{app.sandbox.fal_queue_url}/files/planted.png"
    body = {"prompt": "a planted upload name", "image_url": upload, "seed": 4712}
    endpoint = "fal-ai/flux/dev/image-to-image"
    record = RunRecord(
        id="planted-upload", endpoint_id=endpoint, api_name=get_endpoint(endpoint).api_name, provider="fal",
        route="sandbox", input=body, state="done",
        request=PreparedRequest(provider="fal", endpoint_id=endpoint, method="POST",
                                url=f"{app.sandbox.fal_queue_url}/{endpoint}",
                                headers={"Authorization": f"Key {REDACTED}"}, body_kind="json", body=body,
                                uploads={key: upload}),
        result={"images": [{"url": upload, "content_type": "image/png"}], "seed": 4712},
    )
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, format="PNG")
    planted = tmp_path / "planted.png"
    planted.write_bytes(embed_metadata(buffer.getvalue(), "image/png", record))

    drop_image(page, planted)
    wait_tiles(page, 1)
    pick(page, 4712)
    page.locator("#history-code").click()
    toast = page.locator(".toast-body", has_text="No code for that run").first
    toast.wait_for()
    assert "request.uploads" in toast.inner_text() and "is not a field of the body" in toast.inner_text()
    assert "os.system" not in page.evaluate("navigator.clipboard.readText()")


def test_a_share_link_naming_a_server_file_serves_nothing_and_keeps_the_rest(browser, app, tmp_path):
    """``/?endpoint=flux_dev_image_to_image&image_url=/path/to/file`` made Gradio copy the file into its cache and serve
    it at ``/gradio_api/file=…``; and ``seed=abc`` silently dropped the whole link. Both values are refused by name
    and the rest of the link fills the form. What the link says shows as text in its toasts, never as markup."""
    secret = secret_file(tmp_path)
    query = urllib.parse.urlencode({"endpoint": "flux_dev_image_to_image", "prompt": "a linked fox",
                                    "image_url": str(secret), "seed": "abc", "strength": "0.6"})
    page = new_page(browser, app, url=f"{app.url.rstrip('/')}/?{query}")
    try:
        wait_value(page, "#flux_dev_image_to_image-prompt textarea", "a linked fox")
        toast = page.locator(".toast-body", has_text="Left out of the link").first
        toast.wait_for()
        text = toast.inner_text()
        assert "image_url: must be an http(s):// or data: URL" in text and "seed: must be a whole number" in text
        assert page.locator("#flux_dev_image_to_image-image_url img").count() == 0
        assert page.locator("#flux_dev_image_to_image-image_url-link textarea, "
                            "#flux_dev_image_to_image-image_url-link input").first.input_value() == ""
        assert not cached_copies(secret.name), "the file was not copied into Gradio's cache"
        assert str(secret) not in page.content()
    finally:
        put_back(page)

    hostile = '<img src=x onerror="window.__injected=1">'
    page = new_page(browser, app, url=f"{app.url.rstrip('/')}/?endpoint={urllib.parse.quote(hostile)}")
    try:
        toast = page.locator(".toast-body", has_text="names no endpoint").first
        toast.wait_for()
        assert "<img" in toast.inner_text(), "shown as the text it is"
        assert page.evaluate("() => window.__injected") is None
    finally:
        put_back(page)


def test_an_opened_image_or_history_entry_naming_a_server_file_restores_the_rest(page, tmp_path):
    """A crafted record in an image dropped on "Open image", and the history entry it becomes, reach the same form
    code as a link: the path is refused by name, nothing is copied into Gradio's cache, the rest is restored."""
    secret = secret_file(tmp_path)
    spec = get_endpoint("flux_dev_image_to_image")
    record = RunRecord(id="planted-path", endpoint_id=spec.id, api_name=spec.api_name, provider="fal",
                       route="sandbox", input={"prompt": "a planted path", "image_url": str(secret), "seed": 4712},
                       state="done", result={"images": [], "seed": 4712})
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(buffer, format="PNG")
    planted = tmp_path / "planted-path.png"
    planted.write_bytes(embed_metadata(buffer.getvalue(), "image/png", record))

    drop_image(page, planted)
    note = page.locator("#open-image-note", has_text="Not carried over")
    note.wait_for()
    assert "image_url: must be an http(s):// or data: URL" in note.inner_text()
    wait_value(page, "#flux_dev_image_to_image-prompt textarea", "a planted path")
    assert page.locator("#flux_dev_image_to_image-image_url img").count() == 0
    assert not cached_copies(secret.name)

    page.locator("#flux_dev_image_to_image-prompt textarea").fill("changed since")
    clear_toasts(page)
    pick(page, 4712)
    page.locator("#history-restore").click()
    toast = page.locator(".toast-body", has_text="except what its endpoint refuses").first
    toast.wait_for()
    assert "image_url: must be an http(s):// or data: URL" in toast.inner_text()
    wait_value(page, "#flux_dev_image_to_image-prompt textarea", "a planted path")
    assert page.locator("#flux_dev_image_to_image-image_url img").count() == 0
    assert not cached_copies(secret.name), "the file was not copied into Gradio's cache"


def test_selecting_another_run_takes_away_the_last_ones_files_and_code(page):
    """A walk downloaded run A, selected run B, and still had A's file (and code) under B's details."""
    run(page, "flux_pro", prompt="run a", seed=41)
    run(page, "flux_pro", prompt="run b", seed=42)
    pick(page, 41)
    with page.expect_download():
        page.locator("#history-download").click()
    page.locator("#history-files a[download]").first.wait_for()
    page.locator("#history-code").click()
    page.locator("#history-code-python pre code").wait_for()
    pick(page, 42)
    page.locator("#history-files").wait_for(state="hidden")
    page.locator("#history-code-python").wait_for(state="hidden")
    with page.expect_download() as started:  # B's own, once asked for
        page.locator("#history-download").click()
    assert started.value.suggested_filename == "flux_pro-42-1.jpg"
