"""A sweep in headless Chromium: a 4×2 grid over seed × guidance, cells arriving, and Stop half-way."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from endpoints import get_endpoint
from runs.sweep import axis_example
from sandbox import SandboxOptions
from tests.app_support import launched_app
from tests.browser_support import fresh_page, launch, needs_chromium, put_back
from tests.test_app_browser import ARTIFACTS

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
pytestmark = [
    needs_chromium,
    pytest.mark.timeout(150),
]


@pytest.fixture(scope="module")
def app():
    with launched_app(SandboxOptions(capacity=2, step_seconds=0.03, startup_seconds=0.0)) as launched:
        yield launched


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def open_page(browser, app, viewport: dict[str, int]):
    """A first visit (fresh storage: an empty history, no sweep from another test; ``browser_support.fresh_page``)."""
    page = fresh_page(browser, app.url, viewport=viewport)
    page.goto(app.url, wait_until="load")
    page.locator("#flux_pro-generate").wait_for(timeout=30_000)
    return page


@pytest.fixture
def page(browser, app):
    page = open_page(browser, app, {"width": 1400, "height": 1100})
    yield page
    put_back(page)


def set_axes(page, x_values: str, y_field: str | None, y_values: str = "") -> None:
    page.locator("#flux_pro-sweep").click()
    page.locator("#flux_pro-sweep-x-values input, #flux_pro-sweep-x-values textarea").first.fill(x_values)
    if y_field:
        page.locator("#flux_pro-sweep-y-field input").first.click()
        page.get_by_role("option", name=y_field).click()
        page.locator("#flux_pro-sweep-y-values input, #flux_pro-sweep-y-values textarea").first.fill(y_values)


def stats(app) -> dict:
    return httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()


def wait_for_status(page, app, text: str, timeout: float = 60_000) -> None:
    """Wait for ``text`` in the sweep's status; on a timeout, fail with what the status and the sandbox showed."""
    try:
        page.get_by_text(text).first.wait_for(timeout=timeout)
    except sync_api.TimeoutError:
        shown = page.locator("[id$='-sweep-status']").first.inner_text()[:600]
        toasts = page.locator(".toast-body").all_inner_texts()  # a refusal (busy, budget) shows as a toast
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sweep-timeout.png"), full_page=True)
        raise AssertionError(f"no {text!r} in {timeout / 1000:.0f} s; the status: {shown!r}; "
                             f"toasts: {toasts}; sandbox: {stats(app)}") from None


def test_a_4x2_grid_over_seed_and_guidance_with_cells_arriving(page, app):
    set_axes(page, "11, 22, 33, 44", "guidance_scale", "2, 5")
    example = axis_example(get_endpoint("flux_pro"), "guidance_scale")  # the values box's hint follows the field
    page.wait_for_function("(hint) => document.querySelector('#flux_pro-sweep-y-values input').placeholder === hint",
                           arg=example)
    page.locator("#flux_pro-sweep-plan").click()
    page.get_by_text("8 jobs (4 × 2)").first.wait_for(timeout=15_000)
    assert "est. $0.40" in page.locator("#flux_pro-sweep-status").inner_text()
    for empty in ("grid", "cells", "files"):  # no empty boxes under a sweep not yet run
        assert not page.locator(f"#flux_pro-sweep-{empty}").is_visible(), empty
    page.locator("#flux_pro-sweep-run").click()
    status = page.locator("#flux_pro-sweep-status")
    page.wait_for_function(  # some cells done while others still run: cells appear as they finish
        "() => { const s = document.querySelector('#flux_pro-sweep-status');"
        " return s && s.querySelectorAll('td.fp-done img').length >= 1 && s.innerText.includes('/8 done'); }",
        timeout=60_000,
    )
    wait_for_status(page, app, "8/8 done")
    assert status.locator("td.fp-done img").count() == 8
    for label in ("seed = 11", "seed = 44", "guidance_scale = 2", "guidance_scale = 5"):
        assert label in status.inner_text()
    page.locator("#flux_pro-sweep-grid img").first.wait_for(timeout=30_000)
    buttons = page.locator("#flux_pro-sweep-grid .icon-button-wrapper").first.bounding_box()
    grid = page.locator("#flux_pro-sweep-grid img").first.bounding_box()
    assert buttons and grid and buttons["y"] + buttons["height"] <= grid["y"] + 1, (buttons, grid)  # not over the title
    page.locator("#flux_pro-sweep-files a").first.wait_for(timeout=30_000)
    names = page.locator("#flux_pro-sweep-files").inner_text()
    assert ".png" in names and ".zip" in names
    captions = page.locator("#flux_pro-sweep-cells .caption-label").all_inner_texts()
    assert captions[0] == "seed = 11 · guidance_scale = 2", captions  # the table's words, not x=/y=
    cut = page.eval_on_selector_all("#flux_pro-sweep-cells .caption-label",
                                    "els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => e.innerText)")
    assert cut == [], cut  # four columns, each caption whole
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#flux_pro-sweep").screenshot(path=str(ARTIFACTS / "sweep-4x2.png"))
    page.locator("#flux_pro-sweep-cells button.thumbnail-item").first.click()  # open a cell's run
    note = page.get_by_text("restored into the form").first
    note.wait_for(timeout=15_000)
    assert "Cell seed = 11 · guidance_scale = 2 (seed 11)" in note.inner_text(), note.inner_text()  # not x=11 · y=2
    page.locator("#flux_pro-sweep-cell-code pre code", has_text="fal_client").wait_for(timeout=15_000)
    code = page.locator("#flux_pro-sweep-cell-code pre code").inner_text()
    assert "fal_client" in code and "'seed': 11" in code.replace('"', "'")
    # Aimed at fal itself, like every other code view: not at this process's sandbox (a random port).
    assert app.sandbox.url not in code and "python -m sandbox" in code
    assert page.locator("#flux_pro-seed input").first.input_value() == "11"
    # The tab's own status says where the form's values came from (it still said "Ready… the documented example").
    page.locator("#flux_pro-status", has_text="Restored from your sweep's cell seed = 11").wait_for(timeout=5_000)


def cell_tiles(page, count: int) -> tuple[dict, list[dict]]:
    """The cell gallery's box and its ``count`` tiles' boxes, once that many are drawn."""
    page.wait_for_function(
        "(n) => document.querySelectorAll('#flux_pro-sweep-cells button.thumbnail-item').length === n", arg=count)
    gallery = page.locator("#flux_pro-sweep-cells").bounding_box()
    boxes = [page.locator("#flux_pro-sweep-cells button.thumbnail-item").nth(i).bounding_box() for i in range(count)]
    assert gallery is not None and None not in boxes, (gallery, boxes)
    return gallery, boxes


def test_a_sweep_of_two_cells_shows_both_whole(page, app):
    """Fewer cells than columns keep the columns' width: each cell, caption included, is inside the gallery."""
    set_axes(page, "5, 6", None)
    page.locator("#flux_pro-sweep-run").click()
    wait_for_status(page, app, "2/2 done")
    gallery, boxes = cell_tiles(page, 2)
    for box in boxes:
        assert box["width"] <= gallery["width"] / 4 + 1, (box, gallery)
        assert box["y"] + box["height"] <= gallery["y"] + gallery["height"] + 1, (box, gallery)
    captions = page.locator("#flux_pro-sweep-cells .caption-label").all_inner_texts()
    assert captions == ["seed = 5", "seed = 6"], captions  # as the table says; no Y part


def test_a_sweeps_cells_fit_a_phone(browser, app):
    phone = open_page(browser, app, {"width": 390, "height": 844})
    try:
        set_axes(phone, "15, 16, 17, 18", None)
        phone.locator("#flux_pro-sweep-run").click()
        wait_for_status(phone, app, "4/4 done")
        gallery, boxes = cell_tiles(phone, 4)
        for i, box in enumerate(boxes):  # two to a row, none cut off at the side
            assert box["x"] + box["width"] <= gallery["x"] + gallery["width"] + 1, (i, box, gallery)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 391
    finally:
        put_back(phone)


@pytest.mark.parametrize("stop", ["flux_pro-sweep-stop", "flux_pro-stop"])
def test_stop_half_way_keeps_what_finished(page, app, stop):
    """Stop at about half of 8 cells, as a person does: the finished cells, a partial grid, the ZIP, the history
    entry and the session total stay; the status counts finished, stopped and remotely cancelled cells; no Error.
    The tab's own Stop (the action bar's: on a phone the one in view) stops the sweep too; it did nothing (a walk)."""
    before = len(stats(app)["cancels"])
    set_axes(page, "1, 2, 3, 4", "guidance_scale", "2, 5")
    page.locator("#flux_pro-advanced").click()
    steps = page.locator("#flux_pro-num_inference_steps input[type=number]").first
    steps.fill("40")
    steps.press("Tab")
    page.locator("#flux_pro-sweep-run").click()
    status = page.locator("#flux_pro-sweep-status")
    page.wait_for_function(  # two cells done (the sandbox runs two at once), the others queued or running
        "() => /[2-5]\\/8 done/.test(document.querySelector('#flux_pro-sweep-status').innerText)", timeout=60_000
    )
    page.locator(f"#{stop}").click()
    page.get_by_text("Sweep stopped").first.wait_for(timeout=30_000)
    text = status.inner_text()
    done = int(re.search(r"8 jobs: (\d) done", text).group(1))  # type: ignore[union-attr]
    assert 2 <= done < 8, text
    stopped = re.search(r"(\d) stopped \((\d) cancelled remotely\)", text)
    assert stopped and int(stopped.group(1)) == 8 - done and int(stopped.group(2)) >= 1, text
    assert "Error" not in text and status.locator(".error").count() == 0
    assert status.locator("td.fp-done img").count() == done
    page.locator("#flux_pro-sweep-grid img").first.wait_for(timeout=30_000)  # the partial grid
    page.locator("#flux_pro-sweep-files a").first.wait_for(timeout=30_000)
    names = page.locator("#flux_pro-sweep-files").inner_text()
    assert ".png" in names and ".zip" in names
    page.wait_for_function(
        f"() => document.querySelectorAll('#flux_pro-sweep-cells button.thumbnail-item').length === {done}",
        timeout=30_000,
    )
    page.wait_for_function("() => document.querySelectorAll('#history-gallery img').length === 1", timeout=30_000)
    assert "stopped" in page.locator("#history-gallery").inner_text()
    # every cell counts in the session line as a run, the stopped ones at $0 (on the sandbox: what they would cost)
    runs = f"8 sandbox runs that would cost ${0.05 * done:.2f}"
    page.wait_for_function(
        f"() => document.querySelector('#session-spend').innerText.includes({runs!r})", timeout=30_000
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#flux_pro-sweep").screenshot(path=str(ARTIFACTS / "sweep-stopped.png"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (stats(app)["jobs"].get("IN_PROGRESS", 0) or stats(app)["jobs"].get("IN_QUEUE", 0)):
        time.sleep(0.1)
    jobs = stats(app)["jobs"]
    assert jobs.get("IN_PROGRESS", 0) == 0 and jobs.get("IN_QUEUE", 0) == 0, jobs
    assert stats(app)["runners_busy"] == 0  # every cancelled job gave its runner back (CI: the next sweeps stalled)
    assert len(stats(app)["cancels"]) > before


def test_run_sends_the_plan_that_was_shown(page, app):
    """"4 random seeds" are drawn once, at Plan: Run sends exactly those seeds, and the grid's title says what
    happened rather than the estimate."""
    set_axes(page, "4 random seeds", None)
    page.locator("#flux_pro-sweep-plan").click()
    page.get_by_text("4 jobs").first.wait_for(timeout=15_000)
    status = page.locator("#flux_pro-sweep-status")
    shown = status.locator("th").all_inner_texts()
    assert sum(label.startswith("seed = ") for label in shown) == 4, shown
    page.locator("#flux_pro-sweep-run").click()
    wait_for_status(page, app, "4/4 done")
    ran = status.locator("th").all_inner_texts()
    assert [t for t in ran if t.startswith("seed = ")] == [t for t in shown if t.startswith("seed = ")]
    page.get_by_text("Sweep finished").first.wait_for(timeout=30_000)
    assert re.search(r"4 jobs: 4 done · \$0\.20 · \d+\.\d s", status.inner_text())


def test_a_finished_sweep_lands_in_the_history_as_one_entry(page, app):
    set_axes(page, "7, 8", None)
    page.locator("#flux_pro-sweep-run").click()
    wait_for_status(page, app, "2/2 done")
    entries = page.wait_for_function(
        "() => document.querySelectorAll('#history-gallery img').length", timeout=30_000
    ).json_value()
    assert entries == 1, "the two cells are one history entry"
    assert "sweep of 2 cells" in page.locator("#history-gallery").inner_text()  # not "no seed", as a broken run


def test_on_a_phone_the_table_and_the_grid_scroll_sideways_at_a_legible_size(browser, app):
    """Issue 19 (the phone): the cells table scrolls instead of being clipped, and the grid keeps a height its labels
    can be read at (it scrolls sideways) instead of shrinking a 4-column grid to the screen's width."""
    page = open_page(browser, app, {"width": 390, "height": 844})
    try:
        set_axes(page, "4 random seeds", "guidance_scale", "2, 5")
        page.locator("#flux_pro-sweep-plan").click()
        page.get_by_text("8 jobs (4 × 2)").first.wait_for(timeout=15_000)
        page.locator("#flux_pro-sweep-run").click()
        wait_for_status(page, app, "8/8 done", timeout=90_000)
        page.locator("#flux_pro-sweep-grid img").first.wait_for(timeout=30_000)
        page.wait_for_function("() => document.querySelector('#flux_pro-sweep-grid img').complete")
        sizes = page.evaluate("""() => {
            const table = document.querySelector('#flux_pro-sweep-status table');
            const img = document.querySelector('#flux_pro-sweep-grid img');
            const frame = img.parentElement;
            return {tableScroll: table.scrollWidth, tableBox: table.clientWidth,
                    tableOverflow: getComputedStyle(table).overflowX, imgWidth: img.clientWidth,
                    imgHeight: img.clientHeight, frameWidth: frame.clientWidth,
                    frameOverflow: getComputedStyle(frame).overflowX,
                    page: document.documentElement.scrollWidth};
        }""")
        assert sizes["page"] <= 391, sizes  # the page itself never scrolls sideways
        assert sizes["tableScroll"] > sizes["tableBox"] and sizes["tableOverflow"] == "auto", sizes
        assert sizes["imgHeight"] >= 300 and sizes["imgWidth"] > sizes["frameWidth"], sizes
        assert sizes["frameOverflow"] == "auto", sizes
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#flux_pro-sweep-grid").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "sweep-phone-grid.png"))
    finally:
        put_back(page)


def test_a_refused_plan_says_why_in_the_sweeps_status(page, app):
    """Axis values that cannot be read: the sweep's status (under the buttons) says what to fix, in place of its
    'Pick the axes' line; nothing is sent."""
    before = stats(app)
    set_axes(page, "1, banana", None)
    page.locator("#flux_pro-sweep-plan").click()
    status = page.locator("#flux_pro-sweep-status", has_text="Not sent")
    status.wait_for(timeout=15_000)
    text = status.inner_text()
    assert "banana" in text and "Pick the axes" not in text, text
    page.locator("#flux_pro-sweep-run").click()  # Run reads the same axes: said the same way
    page.wait_for_timeout(1_000)
    assert "Not sent" in page.locator("#flux_pro-sweep-status").inner_text()
    pills = page.locator("#flux_pro-sweep-status [data-testid=status-tracker] .error")
    assert all(not pills.nth(i).is_visible() for i in range(pills.count())), "no Error pill over the status"
    assert stats(app).get("submits") == before.get("submits"), "nothing was sent"

