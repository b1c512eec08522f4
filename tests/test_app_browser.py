"""The app in headless Chromium (Debian's, driven by Playwright), as a visitor uses it, on the sandbox.

Skipped with a reason when Chromium or Playwright is missing. Screenshots go to ``artifacts/`` (git-ignored).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from sandbox import SandboxOptions
from tests.app_support import launched_app
from tests.browser_support import fresh_page, launch, needs_chromium, new_context, put_back

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
pytestmark = [
    needs_chromium,
    pytest.mark.timeout(120),
]


@pytest.fixture(scope="module")
def app():
    with launched_app(SandboxOptions(step_seconds=0.08, startup_seconds=0.1)) as launched:
        yield launched


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app):
    page = fresh_page(browser, app.url, viewport={"width": 1400, "height": 1100})
    page.goto(app.url, wait_until="load")
    page.get_by_role("button", name="Generate").first.wait_for(timeout=30_000)
    yield page
    put_back(page)


def cancels(app) -> list[dict]:
    return httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["cancels"]


def requests_after_the_page_loaded(page, app) -> list[tuple[str, object]]:
    """The page's POSTs to Gradio from now on, by route and event (``fn_index``), its own load events left out
    (late on a busy machine)."""
    dependencies = httpx.get(f"{app.url}config", timeout=10).json()["dependencies"]
    on_load = {d["id"] for d in dependencies if any(t[1] == "load" for t in d.get("targets") or [])}
    sent: list[tuple[str, object]] = []

    def seen(request) -> None:
        if "/gradio_api/" in request.url and request.method == "POST":
            body = request.post_data_json if request.post_data else None
            fn = body.get("fn_index") if isinstance(body, dict) else None
            if fn not in on_load:
                sent.append((request.url.split("?")[0].rsplit("/gradio_api/", 1)[1], fn))

    page.on("request", seen)
    return sent


def history_drawing(app) -> list[int]:
    """The two events that draw the history's contents: its accordion's expand, and the render fired by the State
    that event sets."""
    config = httpx.get(f"{app.url}config", timeout=10).json()
    section = next(c["id"] for c in config["components"] if (c.get("props") or {}).get("elem_id") == "history")
    expand = next(d for d in config["dependencies"] if [section, "expand"] in d["targets"])
    render = next(d for d in config["dependencies"] if [expand["outputs"][0], "change"] in d["targets"])
    return [expand["id"], render["id"]]


def event_id(app, api_name: str) -> int:
    return next(d["id"] for d in httpx.get(f"{app.url}config", timeout=10).json()["dependencies"]
                if d.get("api_name") == api_name)


def test_fill_run_watch_logs_and_find_captioned_image(page, app):
    ARTIFACTS.mkdir(exist_ok=True)
    sent = requests_after_the_page_loaded(page, app)
    spend_before = page.locator("#session-spend").inner_text()
    page.screenshot(path=str(ARTIFACTS / "01-landing.png"), full_page=True)
    assert page.get_by_text("Sandbox mode").is_visible()
    prompt = page.locator("#flux_pro-prompt textarea")
    prompt.fill("a red fox in fresh snow, morning light")
    page.locator("#flux_pro-seed input").fill("1234")
    page.locator("#flux_pro-generate").click()

    logs = page.locator("#flux_pro-logs textarea")
    # Read in the page, in the same tick as the logs are seen: counting from here afterwards lets a busy machine's
    # late image in first.
    images_when_logs_appeared = page.wait_for_function(
        "() => document.querySelector('#flux_pro-logs textarea').value.includes('Step 1/')"
        " && {images: document.querySelectorAll('#flux_pro-gallery img').length}").json_value()["images"]
    gallery_images = page.locator("#flux_pro-gallery img")
    page.screenshot(path=str(ARTIFACTS / "02-running.png"), full_page=True)

    page.get_by_text("Done", exact=False).first.wait_for(timeout=30_000)
    assert images_when_logs_appeared == 0, "logs streamed before the image arrived"
    assert "Step 28/28" in logs.input_value()
    image = gallery_images.first
    image.wait_for()
    caption = image.get_attribute("alt") or ""
    assert "seed 1234" in caption and "NSFW: no" in caption
    assert page.locator("#flux_pro-gallery").get_by_text("seed 1234 · NSFW: no").count() >= 1
    assert page.get_by_text("🖼 seed 1234 · NSFW: no").is_visible(), "the caption is visible beside the gallery"
    page.screenshot(path=str(ARTIFACTS / "03-done.png"), full_page=True)

    # What follows the run (its record into the history, the session's spend, the estimate, the code view, "Run
    # again anyway") is one queued step: the page sends the run's event and that step, nothing else.
    page.wait_for_function("(before) => document.querySelector('#session-spend').innerText !== before", arg=spend_before)
    page.locator("#history-count").get_by_text("1 run", exact=False).wait_for(timeout=10_000)
    assert page.locator("#history-gallery img").count() == 1, "the run is in the history"
    page.wait_for_timeout(1000)  # anything else the page sends after the run goes now
    run = [("queue/join", event_id(app, "flux_pro")), ("queue/join", event_id(app, "flux_pro_after_run"))]
    # A first visit's first run also draws the history's contents, once (components/history_panel.py): the panel's
    # opening (its accordion's expand event) and the drawing (the render that follows its ``opened`` State).
    assert sent[:2] == run and sorted(sent[2:]) == sorted(("queue/join", fn) for fn in history_drawing(app)), sent

    sent.clear()
    page.locator("#flux_pro-seed input").fill("1235")
    page.locator("#flux_pro-generate").click()
    page.locator("#history-count").get_by_text("2 runs", exact=False).wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    assert sent == run, sent  # the next run: the run's event and the step after it, nothing else
    # The runs are kept once, in the app's History (its own key); Gradio's run history, which copied every run's
    # inputs and outputs into this browser beside it, is off.
    stored = page.evaluate("Object.keys(window.localStorage)")
    assert not [key for key in stored if key.startswith("gradio:run-history")], stored


def test_the_result_section_says_what_comes_before_the_first_result(page):
    """The result JSON is not in the page until the first result (``endpoint_tab.HIDDEN_UNTIL_RESULT``): opening its
    section before a run showed nothing at all; a line stands in for it until the JSON is there."""
    section = page.get_by_text("Result JSON (request as sent", exact=False).first
    section.scroll_into_view_if_needed()
    section.click()
    stand_in = page.locator("#flux_pro-logs").locator("xpath=following::*[contains(@class,'fp-no-result')]").first
    stand_in.wait_for()
    assert "No result yet" in stand_in.inner_text() and page.locator(".fp-result-json").count() == 0
    page.locator("#flux_pro-generate").click()
    page.locator(".fp-result-json").first.wait_for(timeout=30_000)
    assert '"request_id"' in page.locator(".fp-result-json").first.inner_text()
    assert not stand_in.is_visible()


def test_flagged_image_is_marked(page):
    page.locator("#flux_pro-prompt textarea").fill("nsfw example")
    page.locator("#flux_pro-generate").click()
    page.get_by_text("flagged NSFW").first.wait_for(timeout=30_000)
    caption = page.locator("#flux_pro-gallery img").first.get_attribute("alt") or ""
    assert "FLAGGED" in caption
    assert page.get_by_text("NSFW: FLAGGED (blacked out)").last.is_visible()


def test_stop_cancels_the_remote_request(page, app):
    before = len(cancels(app))
    page.locator("#flux_pro-prompt textarea").fill("a long run to stop")
    page.locator("#flux_pro-generate").click()
    page.wait_for_function("() => document.querySelector('#flux_pro-logs textarea').value.includes('Step 2/')")
    page.locator("#flux_pro-stop").dispatch_event("click")  # at once: a busy machine must not let the run end first
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(cancels(app)) == before:
        time.sleep(0.1)
    assert len(cancels(app)) == before + 1


def test_invalid_value_shows_a_message_naming_the_field(page):
    page.get_by_role("tab", name="Flux Depth Pro · Segmind").click()
    page.locator("#segmind_flux_depth_pro-prompt textarea").fill("")
    page.locator("#segmind_flux_depth_pro-generate").click()
    page.locator("#segmind_flux_depth_pro-status", has_text="Not sent").wait_for(timeout=15_000)
    status = page.locator("#segmind_flux_depth_pro-status").inner_text()
    assert "Prompt: is required" in status, "the status line says what failed, by the field's label"
    note = page.locator("[data-fp-field-error='segmind_flux_depth_pro']").first
    note.wait_for(timeout=10_000)
    assert "Prompt: is required" in note.inner_text(), "and next to the field"
    assert "fp-field-error" in (page.locator("#segmind_flux_depth_pro-prompt").get_attribute("class") or "")


def test_ctrl_enter_runs_the_visible_tab_and_the_actions_stay_in_view(page):
    box = page.locator("#flux_pro-generate").bounding_box()
    assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"], "Generate in view on load"
    assert "$0.05" in page.locator("#flux_pro-estimate").inner_text(), "the cost is shown before the run"
    page.locator("#flux_pro-prompt textarea").fill("from the keyboard")
    page.locator("#flux_pro-prompt textarea").press("Control+Enter")
    page.wait_for_function("() => document.querySelector('#flux_pro-logs textarea').value.includes('Step')")
    page.wait_for_function("() => document.querySelector('#flux_pro-estimate').innerText.includes('pricing API')",
                           timeout=20_000)  # after the run: the prices it read, with their source
    page.locator("#flux_pro-advanced").click()  # a long form: Generate and Stop must still be on screen
    page.mouse.wheel(0, 600)
    for button in ("#flux_pro-generate", "#flux_pro-stop"):
        box = page.locator(button).bounding_box()
        assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= page.viewport_size["height"]


def test_session_key_is_used_and_never_shown(page):
    secret = "fal-test-id:session-secret-0123456789"
    page.get_by_text("Settings — use your own API keys").click()
    box = page.locator("#key-fal input")
    box.fill(secret)
    page.locator("#keys-save").click()
    page.get_by_text("live (your session key)").first.wait_for(timeout=10_000)
    page.get_by_text("fal.ai key set for this session").first.wait_for(timeout=10_000)
    banner = page.locator(".fp-banner").first.inner_text()
    assert "Sandbox mode for Segmind" in banner and "fal.ai" not in banner, "the banner agrees with the badges"
    assert box.input_value() == "", "the key box is cleared once the key is stored"
    html = page.content()
    storage = page.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert secret not in html and secret not in storage
    page.locator("#keys-forget").click()
    page.get_by_text("Session keys forgotten").first.wait_for(timeout=10_000)
    page.get_by_text("sandbox (synthetic images)").first.wait_for(timeout=10_000)


def test_a_key_typed_while_the_save_runs_is_kept(page):
    """The boxes are emptied of what was sent, not of what was typed after the click (the answer used to empty them)."""
    sent, typed_later = "fal-test-id:sent-0123456789", "fal-test-id:typed-later-01234"
    other_later = "SG_typed_later_0123"
    held: list = []

    def hold_the_save(route) -> None:
        if sent in (route.request.post_data or ""):
            held.append(route)  # answered below, once the visitor has typed
        else:
            route.continue_()

    def save_held():
        """Click Save and return its request, held in the browser until answered."""
        before = len(held)
        page.locator("#keys-save").click()
        deadline = time.monotonic() + 10
        while len(held) == before and time.monotonic() < deadline:
            page.wait_for_timeout(20)
        assert len(held) == before + 1, "the save was sent"
        return held[-1]

    page.route("**/queue/join*", hold_the_save)
    page.get_by_text("Settings — use your own API keys").click()
    fal, segmind = page.locator("#key-fal input"), page.locator("#key-segmind input")
    fal.fill(sent)
    save = save_held()
    segmind.fill(other_later)  # typed while the save runs
    save.continue_()
    page.get_by_text("fal.ai key set for this session").first.wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('#key-fal input').value === ''", timeout=10_000)
    assert segmind.input_value() == other_later, "a key typed in another box while the save ran is kept"
    # The same box, edited while its first key is being saved: the new key stays for the next save.
    fal.fill(sent)
    save = save_held()
    fal.fill(typed_later)
    save.continue_()
    page.locator("#keys-confirmation").get_by_text("Segmind").first.wait_for(timeout=10_000)
    # What was sent is emptied; the key typed meanwhile, in the same step, is not.
    page.wait_for_function("() => document.querySelector('#key-segmind input').value === ''", timeout=10_000)
    assert fal.input_value() == typed_later
    # A save that fails leaves no copy of the keys sent in the page (only a successful answer empties the boxes).
    fal.fill(sent)
    save = save_held()
    assert page.evaluate("() => (window.fpSentKeys || []).length") == 3, "held while the save runs"
    save.fulfill(status=500, body="")
    page.wait_for_function("() => window.fpSentKeys === undefined", timeout=10_000)
    page.unroute("**/queue/join*")


def test_malformed_keys_are_refused_or_warned_without_echoing_them(page):
    page.get_by_text("Settings — use your own API keys").click()
    page.locator("#key-fal input").fill("no-colon-key-0123456789")
    page.locator("#keys-save").click()
    # The toast shows while the save is still running; its answer (which empties the boxes) lands with the note.
    page.locator("#keys-confirmation").get_by_text("A fal key looks like key-id:key-secret").wait_for(timeout=10_000)
    page.wait_for_function("() => document.querySelector('#key-fal input').value === ''", timeout=10_000)
    page.locator("#key-segmind input").fill("SG_abc def")
    page.locator("#keys-save").click()
    page.locator("#keys-confirmation").get_by_text("Segmind key not used").wait_for(timeout=10_000)
    assert "SG_abc def" not in page.content() and "no-colon-key-0123456789" not in page.content()


def what_the_run_shows(page, app) -> str:
    """The page's status, step count and log tail, the app's runs and visitor slots, and the sandbox's jobs: what
    a failed wait in a full run needs to say (this test failed twice in full runs, never alone or under load)."""
    shown = page.evaluate("() => ({status: document.querySelector('#flux_pro-status')?.innerText, steps: "
                          "document.querySelector('#flux_pro-num_inference_steps input[type=number]')?.value, "
                          "logs: document.querySelector('#flux_pro-logs textarea')?.value.slice(-300), "
                          "images: [...document.querySelectorAll('#flux_pro-gallery img')].map(i => "
                          "[i.getAttribute('src'), i.complete, i.naturalWidth])})")
    sandbox = {key: value for key, value in httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json().items()
               if key in ("jobs", "queue", "runners_busy")}
    return f"page {shown}; app runs {list(app.ctx.active_runs)}, slots {app.ctx.visitor_slots.running}; sandbox {sandbox}"


def test_stop_says_stopped_and_a_new_run_keeps_the_previous_images_until_its_own(page, app):
    page.locator("#flux_pro-prompt textarea").fill("first")
    page.locator("#flux_pro-generate").click()
    try:
        page.locator("#flux_pro-gallery img").first.wait_for(timeout=30_000)
    except sync_api.TimeoutError:  # failed once in a full run on three workers
        raise AssertionError(f"the first run showed no image: {what_the_run_shows(page, app)}") from None
    # The first run has ended when its trailing step has undimmed the gallery (on a busy machine that step can
    # come after the image: a second Generate clicked before it would be undimmed by the first run's step).
    page.wait_for_function("() => !document.querySelector('#flux_pro-gallery').classList.contains('fp-previous')")
    page.locator("#flux_pro-prompt textarea").fill("second, stopped")
    # 50 steps (4 s here) instead of 28: time enough to stop it on a loaded machine, where the 2 s run once ended
    # before the Stop reached the app (status "Done in 2.6 s", in a full run on three workers).
    page.locator("#flux_pro-advanced").click()
    steps = page.locator("#flux_pro-num_inference_steps input[type=number]").first
    # Typed into the box the moment the opened accordion mounts it, the value can be put back to 28 as the slider
    # finishes mounting (seen in a full run: the run went with 28 steps and the box read 28): type it again until
    # it holds for a moment, as a person would see and retype.
    for _ in range(5):
        steps.fill("50")
        steps.press("Tab")
        page.wait_for_timeout(150)
        if steps.input_value() == "50":
            break
    assert steps.input_value() == "50", "the steps box keeps what was typed"
    page.locator("#flux_pro-generate").click()
    try:
        page.wait_for_function("() => document.querySelector('#flux_pro-logs textarea').value.includes('Step 1/50')")
    except sync_api.TimeoutError:  # failed once in a full run on four workers
        raise AssertionError(f"the 50-step run never logged its first step: {what_the_run_shows(page, app)}") from None
    assert page.locator("#flux_pro-gallery img").count() >= 1, "the previous image stays while the new run is going"
    assert "fp-previous" in (page.locator("#flux_pro-gallery").get_attribute("class") or "")
    # At once, without Playwright's actionability waits: on a loaded machine they can outlast the run's 2 s, and a
    # run that ended first has nothing to stop (failed once on three workers).
    page.locator("#flux_pro-stop").dispatch_event("click")
    try:
        page.get_by_text("Stopped").first.wait_for(timeout=15_000)
    except Exception:
        print("STATUS", page.locator("#flux_pro-status").inner_text())
        raise
    status = page.locator("#flux_pro-status").inner_text()
    assert "Stopped" in status and "remote request was cancelled" in status and "Running" not in status
    # The first run's image stays, said to be the previous result (it was shown undimmed under "Stopped").
    page.wait_for_function("() => document.querySelector('#flux_pro-gallery').classList.contains('fp-kept')",
                           timeout=10_000)
    note = page.evaluate("() => getComputedStyle(document.querySelector('#flux_pro-gallery'), '::before').content")
    assert "previous result" in note and "no new image" in note, note
    assert page.locator("#flux_pro-gallery img").count() >= 1


def test_closing_the_tab_cancels_the_remote_request(browser, app):
    before = len(cancels(app))
    context = new_context(browser)
    page = context.new_page()
    page.goto(app.url, wait_until="load")
    page.locator("#flux_pro-generate").wait_for(timeout=30_000)
    page.locator("#flux_pro-prompt textarea").fill("a run whose tab is closed")
    page.locator("#flux_pro-generate").click()
    page.wait_for_function("() => document.querySelector('#flux_pro-logs textarea').value.includes('Step 2/')")
    context.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(cancels(app)) == before:
        time.sleep(0.1)
    assert len(cancels(app)) == before + 1
