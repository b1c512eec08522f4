"""Status line, progress, logs and captions as plain data (no Gradio), fed with RunUpdates."""

from __future__ import annotations

from dataclasses import replace

import pytest

from components.run_view import RunView, caption, image_captions
from providers.base import LogLine
from runs.progress import Step, StepClock, parse_step
from runs.record import Cost, RunError, RunRecord, Timings
from runs.runner import RunUpdate


def result(nsfw: list[bool] | None, n: int = 2) -> dict:
    return {"images": [{"url": f"https://cdn.test/{i}.png"} for i in range(n)], "seed": 7, "has_nsfw_concepts": nsfw}


def record(state: str, **kwargs) -> RunRecord:
    return RunRecord(id="r", endpoint_id="fal-ai/flux-pro", api_name="flux_pro", provider="fal", route="sandbox",
                     input={"prompt": "p"}, state=state, timings=Timings(1.0, 2.0, 4.5), **kwargs)


@pytest.mark.parametrize(
    ("seed", "nsfw", "index", "count", "expected"),
    [
        (42, False, 0, 1, "seed 42 · NSFW: no"),
        (42, True, 1, 2, "#2/2 · seed 42 · ⚠ NSFW: FLAGGED (blacked out)"),
        (None, None, 0, 1, "seed unknown · NSFW: not reported"),
    ],
)
def test_caption(seed, nsfw, index, count, expected):
    assert caption(seed, nsfw, index, count) == expected


def test_captions_never_invent_a_flag():
    assert image_captions(result(None)) == ["#1/2 · seed 7 · NSFW: not reported", "#2/2 · seed 7 · NSFW: not reported"]
    assert image_captions(result([True, False]))[0].endswith("FLAGGED (blacked out)")


def test_status_follows_updates_with_step_progress_and_time_left():
    view = RunView("FLUX.1 [pro]", "fal.ai (sandbox)")
    view.apply(RunUpdate("r", "preparing", 0.1))
    assert "Preparing" in view.status_html()
    view.apply(RunUpdate("r", "queued", 0.3, position=2, request_id="req-1"))
    assert "position 2 (2 request(s) ahead)" in view.status_html() and "req-1" in view.status_html()
    view.apply(RunUpdate("r", "running", 1.0, new_logs=(LogLine("Step 14/28"), LogLine("disk", "WARN")),
                         step=Step(14, 28), eta=9.4))
    html = view.status_html()
    assert "Step 14/28" in html and '<progress max="28" value="14">' in html and "about 9.4 s left" in html
    assert "log line" not in html
    assert view.logs_text == "Step 14/28\n[WARN] disk"


def test_done_failed_and_stopped_read_from_the_record():
    view = RunView("x", "fal.ai")
    done = record("done", result=result([False, True]), cost=Cost(0.05, "1 image × 1 MP × $0.05"))
    view.apply(RunUpdate("r", "done", 3.5, record=done))
    html = view.status_html()
    assert "✅ <b>Done</b> in 3.5 s" in html and "2 images · seed 7 · ⚠ 1 flagged NSFW" in html and "$0.05" in html
    assert "$0.05 live, not billed in the sandbox" in html  # as the estimate said
    live = RunView("x", "fal.ai")
    live.apply(RunUpdate("r", "done", 3.5, record=replace(done, route="server_key", cost=Cost(0.1, "2 images"))))
    assert "· $0.10 (2 images)" in live.status_html() and "sandbox" not in live.status_html()
    failed = record("failed", request_id="req-9",
                    error=RunError("ValidationFailed", "fal rejected the input", (("loras[0].scale", "must be a number"),)))
    view.apply(RunUpdate("r", "failed", 1.0, record=failed))
    html = view.status_html()
    assert "❌ <b>Failed</b>" in html and "req-9" in html and "<code>loras[0].scale</code>: must be a number" in html
    stopped = record("stopped", error=RunError("Stopped", "Stopped; the remote request was cancelled."))
    view.apply(RunUpdate("r", "stopped", 1.0, record=stopped))
    assert "⏹ <b>Stopped</b>" in view.status_html() and "cancelled" in view.status_html()
    unrecorded = RunView("x", "fal.ai", state="stopped").status_html()  # stopped before a record was made
    assert "⏹ <b>Stopped</b>" in unrecorded and "the remote request was cancelled" in unrecorded


def test_html_in_logs_or_errors_is_escaped():
    view = RunView("<b>x</b>", "fal")
    view.apply(RunUpdate("r", "failed", 1.0, record=record("failed", error=RunError("E", "<script>alert(1)</script>"))))
    assert "<script>" not in view.status_html() and "&lt;script&gt;" in view.status_html()


@pytest.mark.parametrize(("line", "expected"), [
    ("Step 14/28", (14, 28)), ("step 3 of 10", (3, 10)), (" 57%|█████     | 16/28 [00:05<00:04,  2.9it/s]", (16, 28)),
    ("loaded 2/3 shards", None), ("Step 30/28", None), ("Step 1/0", None),
    ("Progress 45%", (45, 100)), ("Ready: 100%", (100, 100)), ("Progress 140%", None), ("used 45% of memory", None),
])
def test_step_parsing(line, expected):
    step = parse_step(line)
    assert (step.index, step.total) == expected if expected else step is None


def test_a_percentage_shows_as_one_in_the_status_bar():
    """Black Forest Labs reports how far a task is, not steps: the status shows a bar and "45%", not "Step 45/100"."""
    view = RunView("FLUX1.1 [pro]", "Black Forest Labs")
    view.apply(RunUpdate("r", "running", 2.0, step=parse_step("Progress 45%")))
    html = view.status_html()
    assert '<progress max="100" value="45">' in html and "45%" in html and "Step 45" not in html


def test_time_left_from_the_step_rate():
    clock = StepClock()
    clock.observe(Step(2, 10), 100.0)
    assert clock.eta(100.0) is None
    clock.observe(Step(6, 10), 104.0)
    assert clock.eta(104.0) == pytest.approx(4.0)
