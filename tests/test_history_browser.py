"""History, Restore, Reuse seed, Download + "Open image", share links, copy-as-code, A/B compare and "Use as input",
as a visitor uses them in headless Chromium (Debian's, driven by Playwright), on the sandbox.

The tests are in three files so that ``pytest -n 3 --dist loadfile`` spreads them over the workers: this one (the
history itself, Restore, Reuse seed; with the fixtures and helpers the others import),
``test_history_links_browser.py`` (downloads, "Open image", share links, records naming other hosts or server files)
and ``test_history_actions_browser.py`` (copied code, compare, "Use as input", the phone, session keys). Each file
launches one app and one browser; each test gets its own browser context (fresh storage, so a fresh history).

Browser tests skip with the reason when Chromium or Playwright is missing. Screenshots go to ``artifacts/``.
``test_panel_events_stay_out_of_the_api`` needs no browser: it reads the API through ``gradio_client``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from components.history_state import filtered
from components.history_storage import STORAGE_KEY, STORAGE_SECRET, stored_entries
from endpoints import get_endpoint
from sandbox import SandboxOptions
from tests.app_support import LaunchedApp, launched_app

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - depends on the environment
    sync_api = None

from tests.browser_support import CHROMIUM, fresh_page, launch, needs_chromium, put_back
from tests.test_app_browser import ARTIFACTS

WAIT_MS = 20_000  # any single wait in the page
SNIPPET_SECONDS = 60  # a copied snippet run in a subprocess

RF = "flux_general_rf_inversion"
LORAS = [{"path": "https://example.test/loras/watercolor.safetensors", "scale": 0.7},
         {"path": "https://example.test/loras/ink.safetensors", "scale": 1.3}]

pytestmark = pytest.mark.timeout(150)


# --- fixtures -------------------------------------------------------------------------------------------------------


def history_app() -> Iterator[LaunchedApp]:
    """The app the history tests share (one per module; the other history files use it too)."""
    # live_is_sandbox: a key pasted in Settings sends runs "live", and live is the sandbox too (never fal itself)
    with launched_app(SandboxOptions(step_seconds=0.01, startup_seconds=0.01), live_is_sandbox=True) as launched:
        yield launched


def history_browser() -> Iterator[Any]:
    """One Chromium per module."""
    if sync_api is None:
        pytest.skip("playwright is not installed (requirements-dev.txt)")
    if not Path(CHROMIUM).exists():
        pytest.skip(needs_chromium.kwargs["reason"])
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def new_page(browser, app: LaunchedApp, *, width: int = 1400, height: int = 1100, url: str | None = None):
    page = fresh_page(browser, app.url, viewport={"width": width, "height": height},
                      permissions=["clipboard-read", "clipboard-write"])
    page.context.set_default_timeout(WAIT_MS)
    open_app(page, url or app.url)
    return page


def history_page(browser, app: LaunchedApp) -> Iterator[Any]:
    """A first visit: empty storage, so an empty history (``browser_support.fresh_page``)."""
    page = new_page(browser, app)
    yield page
    put_back(page)


@pytest.fixture(scope="module")
def app() -> Iterator[LaunchedApp]:
    yield from history_app()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from history_browser()


@pytest.fixture
def page(browser, app) -> Iterator[Any]:
    yield from history_page(browser, app)


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
    """Wait for ``count`` tiles; on a timeout, fail with what the list and the stored history showed."""
    try:
        page.wait_for_function(
            f"() => document.querySelectorAll('#history-gallery .thumbnail-item').length === {count}", timeout=WAIT_MS
        )
    except sync_api.TimeoutError:
        shown = [" / ".join(c.split("\n")[:2]) for c in captions(page)]
        raise AssertionError(f"{count} tiles wanted; the list showed {shown}, the stored history "
                             f"{[e.get('seed') for e in stored_history(page)]}") from None


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
    """The whole text of a code view (a Markdown code block: what its copy button copies) or of a gr.Code editor
    (read through its download button: the editor only draws visible lines)."""
    if page.locator(f"#{elem_id} .cm-content").count():
        href = page.locator(f"#{elem_id} a[download]").first.get_attribute("href")
        return page.evaluate("(href) => fetch(href).then(r => r.text())", href)
    return page.locator(f"#{elem_id} pre code").first.text_content() or ""


def set_code(page, elem_id: str, text: str) -> None:
    editor = page.locator(f"#{elem_id} .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    editor.blur()  # leaving the editor is what sends its text (and redraws a list's rows)
    page.wait_for_timeout(300)


def open_section(page, api_name: str, title: str, *, opened_by_page: bool = False) -> None:
    """Open a sub-section of "Advanced". A share link or a restore opens "Advanced" itself (``opened_by_page``):
    the test waits for that rather than clicking too, since two clicks close it again."""
    label = f"#{api_name}-advanced > button.label-wrap"
    is_open = f"() => (document.querySelector('{label}') || {{classList: []}}).classList.contains('open')"
    if not opened_by_page and "open" not in (page.locator(label).first.get_attribute("class") or ""):
        page.locator(f"#{api_name}-advanced").get_by_text("Advanced", exact=True).first.click()
    page.wait_for_function(is_open, timeout=WAIT_MS)
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


def stored_history(page) -> list[dict[str, Any]]:
    stored = local_storage(page).get(STORAGE_KEY)
    assert stored, "the history is in localStorage"
    entries = stored_entries(stored, STORAGE_SECRET)  # Gradio's BrowserState format (components/history_storage.py)
    assert entries is not None, "the stored history reads back"
    return filtered(entries, None)  # the runs (the list may end with the mark of the deleted ones)


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


def download(page, link) -> tuple[str, bytes]:
    href = link.get_attribute("href")
    response = page.request.get(href)
    assert response.ok, response.status
    return link.get_attribute("download"), response.body()


def open_history(page) -> None:
    """The History panel opened as a visitor does when it is closed (it is, until the history has an entry)."""
    if not page.locator("#history-actions").is_visible():
        page.locator("#history").get_by_text("History & compare", exact=False).first.click()
        page.locator("#history-actions").wait_for()


def drop_image(page, path: Path) -> None:
    open_history(page)
    section = page.locator("#open-image")
    if not page.locator("#open-image-file").is_visible():
        section.get_by_text("Open image", exact=False).first.click()
    clear = page.locator("#open-image-file button[aria-label='Clear']")
    if clear.count():
        clear.first.click()
    page.locator("#open-image-file input[type=file]").set_input_files(str(path))


def follow_sandbox_comment(code: str, app: LaunchedApp) -> str:
    """What the copied code's comment says to do to try it on a local sandbox (here: the app's own)."""
    assert "fal_client.client.QUEUE_URL_FORMAT" in code and "python -m sandbox" in code
    queue = app.sandbox.fal_queue_url.rstrip("/") + "/"
    return code.replace("import fal_client\n", "import fal_client\nimport fal_client.client\n"
                        f"fal_client.client.QUEUE_URL_FORMAT = {queue!r}\n", 1)


# --- issue 17: no server file through a form value (tests in test_history_links_browser.py) ---------------------------


def cached_copies(name: str) -> list[Path]:
    """Files called ``name`` in Gradio's cache, where it copies every file it serves."""
    import gradio as gr

    return list(Path(gr.utils.get_upload_folder()).rglob(name))


def secret_file(tmp_path: Path) -> Path:
    """A server file in the temp folder (Gradio copies from there), as the spend ledger or the app's code would be."""
    secret = tmp_path / f"secret-{os.getpid()}-{time.monotonic_ns()}.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(secret)
    return secret


# --- tests ----------------------------------------------------------------------------------------------------------


def test_the_history_panel_stays_closed_until_it_has_a_run_and_a_closed_one_stays_closed(page, app):
    header = page.locator("#history").get_by_text("History & compare", exact=False).first
    assert header.is_visible(), "a first visit sees where the history will be"
    assert not page.locator("#history-actions").is_visible(), "closed while there is nothing in it"
    run(page, "flux_pro", prompt="the first run", seed=21)  # waits for its tile: the panel opened by itself
    page.locator("#history-actions").wait_for()  # drawn as it opened (components/history_panel.py)
    header.click()  # the visitor closes it; the next run leaves it closed
    page.locator("#history-actions").wait_for(state="hidden")
    page.locator("#flux_pro-prompt textarea").fill("the second run")
    page.locator("#flux_pro-generate").click()
    deadline = time.monotonic() + WAIT_MS / 1000
    while len(stored_history(page)) < 2 and time.monotonic() < deadline:  # the run's entry, stored by the page
        page.wait_for_timeout(100)
    assert len(stored_history(page)) == 2, "the second run is in the history"
    assert not page.locator("#history-actions").is_visible(), "a panel the visitor closed stays closed"
    page.reload()
    open_app(page, app.url)
    wait_tiles(page, 2)  # a browser with a history opens the panel at load


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


def test_two_tabs_whose_runs_end_together_keep_both(page, app):
    """Runs started in two tabs at once end at once (the same job on the sandbox): each tab writes its list before
    the other's write reaches it. Both runs stay, in both tabs and in the stored history (before, each tab took the
    other's list in place of its own, and one run was lost)."""
    other = page.context.new_page()
    try:
        open_app(other, app.url)
        for tab, seed in ((page, 31), (other, 32)):
            set_seed(tab, "flux_pro", seed)
        page.locator("#flux_pro-generate").click()
        other.locator("#flux_pro-generate").click()
        for tab in (page, other):
            wait_tiles(tab, 2)
        page.wait_for_timeout(1500)  # the tabs' writes and their echoes settle
        for tab in (page, other):
            assert sorted(int(re.search(r"seed (\d+)", c).group(1)) for c in captions(tab)) == [31, 32]
        assert sorted(e["seed"] for e in stored_history(page)) == [31, 32]
    finally:
        other.close()


def test_two_tabs_keep_each_others_runs(page, app):
    """Two tabs of one browser: each run lands in the one stored history, and each tab's list follows the other's
    (before, the second tab's run wrote its own list over the first tab's run)."""
    other = page.context.new_page()
    try:
        open_app(other, app.url)  # opened before either run: its list is empty
        run(page, "flux_pro", prompt="first tab", seed=21)
        wait_tiles(other, 1)  # the first tab's run reached the second tab's list, without a reload
        assert "seed 21" in captions(other)[0]
        run(other, "flux_pro", prompt="second tab", seed=22)
        wait_tiles(page, 2)
        assert "seed 22" in captions(page)[0] and "seed 21" in captions(page)[1]
        assert [e["seed"] for e in stored_history(page)] == [22, 21]
        pick(page, 21)  # selected here, deleted there
        pick(other, 21)
        other.locator("#history-delete").click()
        wait_tiles(page, 1)  # a delete follows too
        page.locator("#history-details", has_text="deleted in another tab").wait_for()
        page.reload()
        open_app(page, app.url)
        wait_tiles(page, 1)
        assert "seed 22" in captions(page)[0]
    finally:
        other.close()


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


def test_a_restored_form_marks_the_image_it_did_not_make(page):
    """After a Restore, the restored run's status stood over the last run's image (a walk took it for the restored
    run's): the image is marked as the previous result until the next run."""
    run(page, "flux_pro", prompt="a red bicycle in rain", seed=101)
    run(page, "flux_pro", prompt="a blue teapot on a table", seed=202)
    gallery = page.locator("#flux_pro-gallery")
    assert "fp-stale" not in (gallery.get_attribute("class") or "")
    pick(page, 101)
    page.locator("#history-restore").click()
    wait_value(page, "#flux_pro-prompt textarea", "a red bicycle in rain")
    page.wait_for_function("() => document.getElementById('flux_pro-gallery').classList.contains('fp-stale')",
                           timeout=5_000)
    said = page.evaluate("() => getComputedStyle(document.getElementById('flux_pro-gallery'), '::before').content")
    assert "previous result" in said, said
    shot(page, "history-03-restored-over-another-image.png")
    run(page, "flux_pro", prompt="a red bicycle in rain", seed=101)
    assert "fp-stale" not in (gallery.get_attribute("class") or "")


def test_panel_events_stay_out_of_the_api(app):
    from tests.app_support import app_client

    client = app_client(app.url)
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


def test_a_page_with_no_stored_history_asks_the_server_nothing_for_it(browser, app):
    """Every visitor's page loads the history; a first visit's (nothing stored) sends no event for it."""
    page = fresh_page(browser, app.url, viewport={"width": 1400, "height": 1000})
    loader = next(index for index, fn in app.demo.fns.items() if getattr(fn.fn, "__name__", "") == "show_stored")
    joined: list[object] = []
    page.on("request", lambda r: joined.append((r.post_data_json or {}).get("fn_index"))
            if "/queue/join" in r.url or "/run/" in r.url else None)
    try:
        open_app(page, app.url)
        page.wait_for_timeout(1_500)  # the page's load events have been sent by now
        assert loader not in joined, joined
        run(page, "flux_pro", prompt="a stored run", seed=5)
        assert joined, "the run's join was seen"
        page.reload()
        open_app(page, app.url)
        wait_tiles(page, 1)  # a stored run: the page asks, and shows it
        assert loader in joined
    finally:
        put_back(page)
