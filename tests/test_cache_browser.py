"""The result cache in headless Chromium (issue 22): run, run again (from cache, $0.00, nothing sent), then
"Run again anyway" (sent and billed). Shares the set-up of ``tests/test_app_browser.py``."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from sandbox import SandboxOptions
from tests.app_support import launched_app
from tests.browser_support import fresh_page, launch, needs_chromium, put_back

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
pytestmark = [
    needs_chromium,
    pytest.mark.timeout(120),
]


@pytest.fixture(scope="module")
def app():
    with launched_app(SandboxOptions(step_seconds=0.01, startup_seconds=0.0), env={"PLAYGROUND_CACHE": "1"}) as launched:
        yield launched


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app):
    """A first visit (fresh storage, ``browser_support.fresh_page``); the app, its cache and the browser are the
    module's."""
    page = fresh_page(browser, app.url, viewport={"width": 1400, "height": 1100})
    page.goto(app.url, wait_until="load")
    page.locator("#flux_pro-generate").wait_for(timeout=30_000)
    yield page
    put_back(page)


def submits(app) -> int:
    return httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["submits"].get("fal-ai/flux-pro", 0)


def wait_for_submits(app, count: int, seconds: float = 20) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and submits(app) < count:
        time.sleep(0.1)
    return submits(app)


def test_run_again_is_served_from_the_cache_and_run_again_anyway_is_sent(page, app):
    status = page.locator("#flux_pro-status")
    page.locator("#flux_pro-prompt textarea").fill("a cached lighthouse")
    page.locator("#flux_pro-seed input").fill("4242")
    page.locator("#flux_pro-generate").click()
    page.get_by_text("Done", exact=False).first.wait_for(timeout=30_000)
    assert submits(app) == 1 and "from cache" not in status.inner_text()
    assert not page.locator("#flux_pro-run-anyway").is_visible(), "offered only after a cached result"

    page.locator("#flux_pro-generate").click()
    page.wait_for_function("() => document.querySelector('#flux_pro-status').innerText.includes('from cache')",
                           timeout=30_000)
    text = status.inner_text()
    assert "from cache (first run " in text and "$0.00" in text and "request " in text
    assert submits(app) == 1, "a cache hit sent nothing to the provider"
    page.wait_for_function("() => document.querySelector('#session-spend').innerText.includes('sandbox runs (1 from cache)')",
                           timeout=10_000)  # the session total does not count it as spend

    anyway = page.locator("#flux_pro-run-anyway")
    anyway.wait_for(state="visible", timeout=10_000)
    anyway.click()
    assert wait_for_submits(app, 2) == 2, "Run again anyway reached the provider"
    page.wait_for_function("() => { const t = document.querySelector('#flux_pro-status').innerText;"
                           " return t.includes('Done') && !t.includes('from cache'); }", timeout=30_000)
    assert "$0.05" in status.inner_text(), "and it is billed"
    page.locator("#flux_pro-run-anyway").wait_for(state="hidden", timeout=10_000)
    page.locator("#flux_pro-generate").click()  # the box is cleared: Generate goes to the cache again
    page.wait_for_function("() => document.querySelector('#flux_pro-status').innerText.includes('from cache')",
                           timeout=30_000)
    assert submits(app) == 2


def test_a_run_that_ends_before_the_last_ones_steps_still_counts(page, app):
    """A cached run ends in milliseconds; the steps after the run before it (history, spend, code) may still be on
    their way, as on a slow connection. The page held those back ("once": a trigger while the same step is pending
    is dropped), so the cached run never reached the history nor the session's spend."""
    run_index = page.evaluate("() => window.gradio_config.dependencies.find(d => d.api_name === 'flux_pro').id")
    held: list = []
    holding = {"on": False}

    def hold_after_steps(route):
        body = route.request.post_data_json or {}
        if holding["on"] and body.get("fn_index") != run_index:
            held.append(route)
        else:
            route.continue_()

    def release() -> None:
        holding["on"] = False
        while held:
            held.pop(0).continue_()

    page.route("**/gradio_api/queue/join*", hold_after_steps)
    try:
        page.locator("#flux_pro-prompt textarea").fill("a held lighthouse")
        page.locator("#flux_pro-seed input").fill("777")
        holding["on"] = True
        page.locator("#flux_pro-generate").click()
        page.wait_for_function("() => document.querySelector('#flux_pro-status').innerText.includes('Done')",
                               timeout=30_000)
        deadline = time.monotonic() + 10
        while not held and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        assert held, "the steps after the first run asked to join the queue"
        page.locator("#flux_pro-generate").click()  # the same form again: a cache hit
        page.wait_for_function("() => document.querySelector('#flux_pro-status').innerText.includes('from cache')",
                               timeout=30_000)
        page.wait_for_timeout(300)  # the page has dispatched (or dropped) the cached run's steps by now
        release()
        page.wait_for_function(
            "() => document.querySelector('#session-spend').innerText.includes('1 from cache')", timeout=15_000)
        spend = page.locator("#session-spend").inner_text()
        assert "2 sandbox runs (1 from cache) that would cost $0.05" in spend, "both runs count"
    finally:  # the page is reused by the next test: nothing held back, no route left
        release()
        page.unroute("**/gradio_api/queue/join*")


def test_widening_a_finished_sweep_runs_only_the_new_cells(page, app):
    """A 2×1 sweep over fixed seeds, then the same sweep with one seed more: the plan counts the two cached cells
    apart and only the new cell reaches the provider."""
    from tests.test_sweep_browser import set_axes

    page.locator("#flux_pro-prompt textarea").fill("a widened sweep")
    set_axes(page, "501, 502", None)
    before = submits(app)
    page.locator("#flux_pro-sweep-run").click()
    page.get_by_text("2/2 done").first.wait_for(timeout=60_000)
    assert wait_for_submits(app, before + 2) == before + 2
    page.locator("#flux_pro-sweep-x-values input, #flux_pro-sweep-x-values textarea").first.fill("501, 502, 503")
    page.locator("#flux_pro-sweep-plan").click()
    page.get_by_text("2 from cache, 1 to run").first.wait_for(timeout=30_000)
    page.locator("#flux_pro-sweep-run").click()
    page.get_by_text("3/3 done").first.wait_for(timeout=60_000)
    time.sleep(1)
    assert submits(app) == before + 3, "only the new cell was sent"


def box_value(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} input, #{elem_id} textarea").first.input_value()


def test_a_sweep_restored_from_the_history_fills_its_axes_and_runs_the_same_cells(page, app):
    """Restore on a sweep's history entry, in a page opened later: the form and the Sweep section's axes come back
    as they ran, random seeds as the seeds drawn, so Plan finds every cell in the cache (before, Restore filled the
    form only and said the axes were the visitor's to set again)."""
    from tests.test_sweep_browser import set_axes

    set_axes(page, "2 random seeds", "guidance_scale", "2, 5")
    page.locator("#flux_pro-sweep-run").click()
    page.get_by_text("4/4 done").first.wait_for(timeout=60_000)
    before = submits(app)
    page.wait_for_function("() => document.querySelectorAll('#history-gallery img').length === 1", timeout=30_000)
    page.wait_for_timeout(500)  # the list is written to the browser's storage
    page.reload(wait_until="load")
    page.locator("#history-gallery img").first.wait_for(timeout=30_000)
    page.locator("#history-gallery .thumbnail-item").first.click()
    page.locator("#history-details", has_text="sweep of 4 cells").wait_for()
    page.locator("#history-code").click()  # a whole sweep has no one request: said so, not "ended before its request"
    page.locator(".toast-body", has_text="each cell's code is in the Sweep section").wait_for(timeout=15_000)
    page.locator("#history-use-as-input").click()  # nor is its labelled grid a picture to edit (a walk sent it)
    page.locator(".toast-body", has_text="A sweep's image is its labelled grid").wait_for(timeout=15_000)
    page.locator("#history-restore").click()
    x_values = page.locator("#flux_pro-sweep-x-values input")
    sync_api.expect(x_values).to_have_value(re.compile(r"^\d+, \d+$"), timeout=15_000)  # the seeds drawn, not "2 random"
    assert box_value(page, "flux_pro-sweep-x-field") == "seed"
    assert box_value(page, "flux_pro-sweep-y-field") == "guidance_scale"
    assert box_value(page, "flux_pro-sweep-y-values") == "2, 5"
    assert page.locator("#flux_pro-sweep-plan").is_visible(), "the Sweep section is open"
    page.locator("#flux_pro-status", has_text="Press Run sweep in the Sweep section").wait_for()  # not "Generate"
    page.wait_for_function("() => Math.abs(document.getElementById('flux_pro-sweep').getBoundingClientRect().top)"
                           " < 200", timeout=10_000)  # shown: the Sweep section, not the form's top
    page.locator("#flux_pro-sweep-plan").click()
    page.get_by_text("4 cells (2 × 2): 4 from cache, 0 to run").first.wait_for(timeout=30_000)
    assert submits(app) == before
