"""History, Restore, Reuse seed, Download + "Open image", share links, copy-as-code, A/B compare and "Use as input",
as a visitor uses them in headless Chromium (Debian's, driven by Playwright), on the sandbox.

Browser tests skip with the reason when Chromium or Playwright is missing. Screenshots go to ``artifacts/``.
``test_panel_events_stay_out_of_the_api`` needs no browser: it reads the API through ``gradio_client``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin

from components.history_panel import STORAGE_KEY, STORAGE_SECRET
from endpoints import get_endpoint
from providers.base import REDACTED, PreparedRequest
from runs.provenance import embed_metadata, read_metadata
from runs.record import RunRecord
from sandbox import SandboxOptions
from tests.app_support import LaunchedApp, launched_app

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - depends on the environment
    sync_api = None

from tests.test_app_browser import ARGS, ARTIFACTS, CHROMIUM

WAIT_MS = 20_000  # any single wait in the page
SNIPPET_SECONDS = 60  # a copied snippet run in a subprocess

RF = "flux_general_rf_inversion"
LORAS = [{"path": "https://example.test/loras/watercolor.safetensors", "scale": 0.7},
         {"path": "https://example.test/loras/ink.safetensors", "scale": 1.3}]

pytestmark = pytest.mark.timeout(150)


# --- fixtures -------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    # live_is_sandbox: a key pasted in Settings sends runs "live", and live is the sandbox too (never fal itself)
    with launched_app(SandboxOptions(step_seconds=0.01, startup_seconds=0.01), live_is_sandbox=True) as launched:
        yield launched


@pytest.fixture(scope="module")
def browser():
    if sync_api is None:
        pytest.skip("playwright is not installed (requirements-dev.txt)")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def new_page(browser, app: LaunchedApp, *, width: int = 1400, height: int = 1100, url: str | None = None):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url.rstrip("/"))
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    open_app(page, url or app.url)
    return page


@pytest.fixture
def page(browser, app):
    page = new_page(browser, app)
    yield page
    page.context.close()


# --- helpers --------------------------------------------------------------------------------------------------------


def open_app(page, url: str) -> None:
    """Open the app and wait until the page-load steps ran (the example fills the form, the history is read)."""
    page.goto(url, wait_until="load")
    page.locator("#flux_pro-generate").wait_for(state="attached")  # a share link may show another tab
    page.wait_for_function("() => (document.querySelector('#flux_pro-prompt textarea') || {}).value")
    page.wait_for_timeout(500)  # the queued load steps (stored history, a share link) answer after the js ones


def shot(page, name: str, locator: str | None = None) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target = page.locator(locator) if locator else page
    if locator:
        target.screenshot(path=str(ARTIFACTS / name))
    else:
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def tiles(page):
    return page.locator("#history-gallery .thumbnail-item")


def tile_count(page) -> int:
    return tiles(page).count()


def wait_tiles(page, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('#history-gallery .thumbnail-item').length === {count}", timeout=WAIT_MS
    )


def captions(page) -> list[str]:
    return [c.strip() for c in page.locator("#history-gallery .caption-label").all_inner_texts()]


def select_tab(page, api_name: str) -> None:
    page.locator("#endpoint-tabs").get_by_role("tab", name=get_endpoint(api_name).label, exact=True).click()
    page.locator(f"#{api_name}-generate").wait_for(state="visible")


def selected_tab(page) -> str:
    return page.locator("#endpoint-tabs [role=tab][aria-selected=true]").first.inner_text().strip()


def wait_value(page, selector: str, value: str) -> None:
    page.wait_for_function("([sel, want]) => (document.querySelector(sel) || {}).value === want", arg=[selector, value])


def set_seed(page, api_name: str, seed: int | str) -> None:
    box = page.locator(f"#{api_name}-seed input")
    box.fill(str(seed))
    box.press("Tab")


def run(page, api_name: str, *, prompt: str | None = None, seed: int | None = None) -> None:
    """Fill in, press Generate, and wait for the run's entry to appear in the history."""
    select_tab(page, api_name)
    before = tile_count(page)
    if prompt is not None:
        page.locator(f"#{api_name}-prompt textarea").fill(prompt)
    if seed is not None:
        set_seed(page, api_name, seed)
    page.locator(f"#{api_name}-generate").click()
    wait_tiles(page, before + 1)
    if seed is not None:
        assert f"seed {seed}" in captions(page)[0]


def pick(page, seed: int) -> None:
    """Click the history tile of the run with ``seed``; its details show."""
    exact = re.compile(rf"seed {seed}(?!\d)")  # matched against textContent, where lines run together
    tiles(page).filter(has_text=exact).first.click()
    page.locator("#history-details", has_text=exact).wait_for()


def choose(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.locator("[role=option]", has_text=option).first.click()
    page.wait_for_timeout(300)


def code_value(page, elem_id: str) -> str:
    """The whole text of a gr.Code box, read through its download button (the editor only draws visible lines)."""
    href = page.locator(f"#{elem_id} a[download]").first.get_attribute("href")
    return page.evaluate("(href) => fetch(href).then(r => r.text())", href)


def set_code(page, elem_id: str, text: str) -> None:
    editor = page.locator(f"#{elem_id} .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    editor.blur()  # leaving the editor is what sends its text (and redraws a list's rows)
    page.wait_for_timeout(300)


def open_section(page, api_name: str, title: str) -> None:
    label = page.locator(f"#{api_name}-advanced > button.label-wrap").first
    page.wait_for_timeout(400)  # a share link or a restore opens the Advanced group itself, just after filling
    if "open" not in (label.get_attribute("class") or ""):
        page.locator(f"#{api_name}-advanced").get_by_text("Advanced", exact=True).first.click()
    elem_id = f"{api_name}-section-{title.lower().replace(' ', '-')}"
    page.locator(f"#{elem_id}").get_by_text(title, exact=True).first.click()
    page.wait_for_timeout(300)


def clear_toasts(page) -> None:
    for close in page.locator(".toast-close").all():
        with contextlib.suppress(Exception):  # a toast may close by itself meanwhile
            close.click(timeout=1000)


def clipboard_once(page, needle: str) -> str:
    """The clipboard's text once it contains ``needle`` (the browser's clipboard is shared by every page)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    text = ""
    while time.monotonic() < deadline:
        text = page.evaluate("navigator.clipboard.readText()")
        if needle in text:
            return text
        page.wait_for_timeout(100)
    raise AssertionError(f"the clipboard never held {needle!r}; it holds {text[:200]!r}")


def local_storage(page) -> dict[str, str]:
    return page.evaluate("() => Object.fromEntries(Object.entries(localStorage))")


def decrypt_browser_state(stored: str, secret: str) -> Any:
    """Gradio's BrowserState value: CryptoJS AES with a passphrase (the secret's SHA-256 hex), stored as
    ``<iv>:<OpenSSL 'Salted__' base64>``; key and iv come from EVP_BytesToKey (MD5)."""
    ciphers = pytest.importorskip("cryptography.hazmat.primitives.ciphers")
    padding = pytest.importorskip("cryptography.hazmat.primitives.padding")
    passphrase = hashlib.sha256(secret.encode()).hexdigest().encode()
    raw = base64.b64decode(stored.split(":", 1)[1])
    assert raw[:8] == b"Salted__"
    salt, body = raw[8:16], raw[16:]
    derived, block = b"", b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase + salt).digest()  # what CryptoJS uses
        derived += block
    decryptor = ciphers.Cipher(ciphers.algorithms.AES(derived[:32]), ciphers.modes.CBC(derived[32:48])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    plain = unpadder.update(decryptor.update(body) + decryptor.finalize()) + unpadder.finalize()
    return json.loads(plain)


def stored_history(page) -> list[dict[str, Any]]:
    stored = local_storage(page).get(STORAGE_KEY)
    assert stored, "the history is in localStorage"
    return decrypt_browser_state(stored, STORAGE_SECRET)


def snippet_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("FAL_", "SEGMIND_")) and k.lower() not in ("http_proxy", "https_proxy",
                                                                                    "all_proxy")}
    return {**env, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", **extra}


def run_snippet(path: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(path)], cwd=path.parent, env=snippet_env(env), capture_output=True,
                          text=True, timeout=SNIPPET_SECONDS, check=False)
    assert done.returncode == 0, f"the copied code failed ({done.returncode}):\n{done.stderr}\n{done.stdout}"
    return json.loads(done.stdout)


# --- tests ----------------------------------------------------------------------------------------------------------


def test_history_survives_a_reload_filters_and_deletes(page, app):
    run(page, "flux_pro", prompt="a lighthouse at dusk", seed=11)
    run(page, "flux_pro", prompt="a lighthouse at dawn", seed=12)
    run(page, "segmind_flux_depth_pro", prompt="a desk by a window", seed=13)
    shown = captions(page)
    assert len(shown) == 3
    assert shown[0].startswith("Flux Depth Pro") and "seed 13" in shown[0], "newest first"
    assert shown[1].startswith("FLUX.1 [pro]") and "seed 12" in shown[1]
    assert shown[2].startswith("FLUX.1 [pro]") and "seed 11" in shown[2]
    assert "3 runs" in page.locator("#history-count").inner_text()
    box = tiles(page).first.bounding_box()
    assert box and box["width"] < 200 and box["height"] < 200, f"tiles are small: {box}"
    shot(page, "history-01-three-runs.png", "#history")

    page.reload()
    open_app(page, app.url)
    wait_tiles(page, 3)
    assert "seed 13" in captions(page)[0] and "seed 11" in captions(page)[2], "kept across the reload, in order"
    page.locator("#history-restore").click()  # nothing selected after a reload: each action says so
    page.locator(".toast-body", has_text="Select a run in the history first").first.wait_for()
    clear_toasts(page)
    page.locator("#history-code").click()
    page.locator(".toast-body", has_text="Select a run in the history first").first.wait_for()
    clear_toasts(page)

    choose(page, "history-filter", "FLUX.1 [pro]")
    wait_tiles(page, 2)
    assert all(c.startswith("FLUX.1 [pro]") for c in captions(page))
    assert "2 shown" in page.locator("#history-count").inner_text()
    pick(page, 11)
    page.locator("#history-delete").click()
    wait_tiles(page, 1)
    assert "seed 12" in captions(page)[0]
    choose(page, "history-filter", "all endpoints")
    wait_tiles(page, 2)

    page.reload()
    open_app(page, app.url)
    wait_tiles(page, 2)
    assert not any(re.search(r"seed 11(?!\d)", c) for c in captions(page)), "deleted for good, reload or not"
    assert [e["seed"] for e in stored_history(page)] == [13, 12]


def open_lora_json(page) -> None:
    select_tab(page, RF)
    open_section(page, RF, "LoRAs and controls")
    page.locator(f"#{RF}-loras-json").get_by_text("Edit as JSON", exact=True).first.click()
    page.locator(f"#{RF}-loras .cm-content").wait_for()


def lora_rows(page) -> list[str]:
    """The LoRA paths the row editor shows."""
    boxes = f"[id^={RF}-loras-row-][id$=-path] textarea, [id^={RF}-loras-row-][id$=-path] input"
    return page.locator(boxes).evaluate_all("els => els.map(e => e.value)")


def test_restore_fills_the_nested_lora_list_and_reuse_seed_sets_only_the_seed(page):
    open_lora_json(page)
    set_code(page, f"{RF}-loras", json.dumps(LORAS))
    page.wait_for_function(f"() => document.querySelectorAll('[id^={RF}-loras-row-][id$=-remove]').length === 2")
    run(page, RF, prompt="an inverted portrait, restored", seed=21)
    stored = stored_history(page)[0]["record"]
    assert stored["input"]["loras"] == LORAS and stored["api_name"] == RF

    # Change everything that matters, then go to another tab.
    page.locator(f"#{RF}-prompt textarea").fill("something else entirely")
    set_seed(page, RF, 999)
    set_code(page, f"{RF}-loras", "[]")
    page.wait_for_function(f"() => document.querySelectorAll('[id^={RF}-loras-row-][id$=-remove]').length === 0")
    select_tab(page, "flux_pro")

    pick(page, 21)
    page.locator("#history-restore").click()
    wait_value(page, f"#{RF}-prompt textarea", "an inverted portrait, restored")
    assert selected_tab(page) == get_endpoint(RF).label, "Restore switches to the run's tab"
    assert page.locator(f"#{RF}-seed input").input_value() == "21"
    status = page.locator(f"#{RF}-status").inner_text()
    assert "Restored from your run" in status and "seed 21" in status, "the status says where the values came from"
    page.wait_for_function(f"() => document.querySelectorAll('[id^={RF}-loras-row-][id$=-remove]').length === 2")
    assert json.loads(code_value(page, f"{RF}-loras")) == LORAS
    assert lora_rows(page) == [lora["path"] for lora in LORAS], "the row editor shows the restored LoRAs"
    shot(page, "history-02-restored-loras.png")

    # Reuse seed: only the seed comes back.
    page.locator(f"#{RF}-prompt textarea").fill("keep this prompt")
    set_seed(page, RF, 5)
    select_tab(page, "flux_pro")
    page.locator("#history-reuse-seed").click()
    wait_value(page, f"#{RF}-seed input", "21")
    assert selected_tab(page) == get_endpoint(RF).label
    assert page.locator(f"#{RF}-prompt textarea").input_value() == "keep this prompt"
    # ...and the restored form runs as it was.
    run(page, RF, prompt="an inverted portrait, restored")
    assert stored_history(page)[0]["record"]["input"]["loras"] == LORAS


def download(page, link) -> tuple[str, bytes]:
    href = link.get_attribute("href")
    response = page.request.get(href)
    assert response.ok, response.status
    return link.get_attribute("download"), response.body()


def drop_image(page, path: Path) -> None:
    section = page.locator("#open-image")
    if not page.locator("#open-image-file").is_visible():
        section.get_by_text("Open image", exact=False).first.click()
    clear = page.locator("#open-image-file button[aria-label='Clear']")
    if clear.count():
        clear.first.click()
    page.locator("#open-image-file input[type=file]").set_input_files(str(path))


def test_downloaded_image_restores_its_run_and_an_image_without_metadata_says_so(page, tmp_path):
    run(page, "flux_pro", prompt="a downloaded lighthouse", seed=31)
    pick(page, 31)
    page.locator("#history-download").click()
    link = page.locator("#history-files a[download]").first
    link.wait_for()
    name, data = download(page, link)
    assert name == "flux_pro-31-1.jpg", "named <api_name>-<seed>-<n>.<ext>"
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
        open_section(other, RF, "LoRAs and controls")
        other.wait_for_function(f"() => document.querySelectorAll('[id^={RF}-loras-row-][id$=-remove]').length === 2")
        assert lora_rows(other) == [lora["path"] for lora in LORAS]
        shot(other, "history-04-share-link-opened.png")
    finally:
        other.context.close()

    broken = new_page(browser, app, url=app.url.rstrip("/") + "/?endpoint=no_such_endpoint&prompt=x")
    try:
        broken.locator(".toast-body", has_text="names no endpoint").first.wait_for()
        assert selected_tab(broken) == "FLUX.1 [pro]"
    finally:
        broken.context.close()


def follow_sandbox_comment(code: str, app: LaunchedApp) -> str:
    """What the copied code's comment says to do to try it on a local sandbox (here: the app's own)."""
    assert "fal_client.client.QUEUE_URL_FORMAT" in code and "python -m sandbox" in code
    queue = app.sandbox.fal_queue_url.rstrip("/") + "/"
    return code.replace("import fal_client\n", "import fal_client\nimport fal_client.client\n"
                        f"fal_client.client.QUEUE_URL_FORMAT = {queue!r}\n", 1)


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
    page.locator("#history-code-gradio_client .cm-content").wait_for()
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
    rows = page.locator("#compare-diff [role=row].virtual-row").evaluate_all(
        "rows => rows.map(r => [...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()))")
    assert sorted(rows) == [["prompt", "compare me: A", "compare me: B"], ["seed", "61", "62"]], rows
    page.locator("#compare").scroll_into_view_if_needed()
    shot(page, "history-05-compare.png", "#compare")


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
        page.locator("#flux_pro-share").click()
        page.wait_for_function("() => (document.querySelector('#flux_pro-share-link textarea') || {}).value")
        box = page.locator("#flux_pro-share-link").bounding_box()
        assert box and box["x"] + box["width"] <= 390
        shot(page, "history-08-phone-share.png", "#flux_pro-share-link")
    finally:
        page.context.close()


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
        page.context.close()


def test_panel_events_stay_out_of_the_api(app):
    from gradio_client import Client

    client = Client(app.url, verbose=False)
    info = client.view_api(return_format="dict", print_info=False)
    named = set(info["named_endpoints"])
    assert not info["unnamed_endpoints"], info["unnamed_endpoints"]
    own_modules = {"components.history_panel", "components.share_panel", "components.open_links"}
    by_api_name = {f"/{fn.api_name}": fn for fn in app.demo.fns.values() if fn.api_name}
    leaked = {name for name in named if getattr(by_api_name.get(name, None), "fn", None) is not None
              and by_api_name[name].fn.__module__ in own_modules}
    assert not leaked, leaked
    for fn in app.demo.fns.values():
        if fn.fn is not None and fn.fn.__module__ in own_modules:
            assert fn.api_visibility == "private", (fn.name, fn.api_visibility)
    assert {f"/{spec}" for spec in ("flux_pro", RF, "flux_dev_image_to_image")} <= named


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


# --- issue 17: no server file through a form value ------------------------------------------------------------------


def cached_copies(name: str) -> list[Path]:
    """Files called ``name`` in Gradio's cache, where it copies every file it serves."""
    import gradio as gr

    return list(Path(gr.utils.get_upload_folder()).rglob(name))


def secret_file(tmp_path: Path) -> Path:
    """A server file in the temp folder (Gradio copies from there), as the spend ledger or the app's code would be."""
    secret = tmp_path / f"secret-{os.getpid()}-{time.monotonic_ns()}.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(secret)
    return secret


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
        page.context.close()

    hostile = '<img src=x onerror="window.__injected=1">'
    page = new_page(browser, app, url=f"{app.url.rstrip('/')}/?endpoint={urllib.parse.quote(hostile)}")
    try:
        toast = page.locator(".toast-body", has_text="names no endpoint").first
        toast.wait_for()
        assert "<img" in toast.inner_text(), "shown as the text it is"
        assert page.evaluate("() => window.__injected") is None
    finally:
        page.context.close()


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
