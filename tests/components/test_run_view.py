"""Status line, logs and captions as plain data (no Gradio)."""

from __future__ import annotations

import pytest

from components.run_view import RunView, caption, image_captions
from providers.base import Completed, LogLine, Queued, Result, ResultImage, Running


def result(nsfw: list[bool] | None, n: int = 2) -> Result:
    images = [ResultImage(f"https://cdn.test/{i}.png", 64, 64, "image/png") for i in range(n)]
    return Result("fal-ai/flux-pro", "r1", images, 7, nsfw, "p", {})


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


def test_status_follows_events_and_logs_accumulate():
    view = RunView("FLUX.1 [pro]", "fal — sandbox")
    assert view.status_line().startswith("⏳ **Submitting**")
    view.apply(Queued(2))
    assert "position 2 (2 request(s) ahead)" in view.status_line()
    view.apply(Queued(0))
    assert "next in line" in view.status_line()
    view.apply(Running((LogLine("starting"), LogLine("disk full", "WARN"))))
    view.apply(Running((LogLine("step 1/2"),)))
    assert view.logs_text == "starting\n[WARN] disk full\nstep 1/2"
    assert "**Running**" in view.status_line() and "3 log line(s)" in view.status_line()
    view.apply(Completed(result([False, True])))
    assert "✅ **Done**" in view.status_line() and "2 image(s) · seed 7 · ⚠ 1 flagged NSFW" in view.status_line()
    assert view.status_line().endswith("🖼 #1/2 · seed 7 · NSFW: no  \n🖼 #2/2 · seed 7 · ⚠ NSFW: FLAGGED (blacked out)")


def test_failed_and_stopped():
    view = RunView("x", "fal")
    view.fail("fal rejected the API key")
    assert view.status_line().startswith("❌ **Failed**") and "rejected the API key" in view.status_line()
    view.stop()
    assert "cancelled" in view.status_line()
