"""The history's actions as plain functions (components/history_actions.py), without a page."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from components.history_actions import COMPARE_EMPTY, delete
from components.history_state import ALL
from tests.components.test_history_state import ended_at

VIEW = SimpleNamespace(ctx=None, files=SimpleNamespace(placeholder="placeholder.png"))


def test_deleting_a_pinned_run_takes_it_out_of_the_compare():
    """The compare kept showing a deleted run as B, its image in the slider (a visitor's walk-through)."""
    entries = [ended_at(2, 300.0), ended_at(1, 200.0), ended_at(0, 100.0)]
    out = delete(VIEW, entries, "run-1", ALL, ["run-0", "run-1"], {"ids": [], "own": []})
    pins, (note, slider, diff) = out[5], out[8:]
    assert pins == ["run-0"]
    assert "**A:**" in note and "pin it as B" in note and slider is None and diff == ""
    out = delete(VIEW, out[0], "run-0", ALL, pins, {"ids": [], "own": []})  # A too: nothing pinned
    assert out[5] == [] and out[8:] == (COMPARE_EMPTY, None, "")


def test_deleting_a_run_not_pinned_leaves_the_compare_alone():
    entries = [ended_at(2, 300.0), ended_at(1, 200.0), ended_at(0, 100.0)]
    out = delete(VIEW, entries, "run-2", ALL, ["run-0", "run-1"], {"ids": [], "own": []})
    assert out[5] == ["run-0", "run-1"] and all(value == gr.skip() for value in out[8:])
    # the page's tile marked selected is cleared: the update names selected_index (a Gallery left without it keeps
    # the page's mark)
    assert out[1].constructor_args.get("selected_index", "unset") is None, "no tile stays marked selected"


def test_a_runs_time_is_shown_once_as_utc():
    """The details read "Finished: 2026-12-07T16:11:08+00:00 UTC" (UTC said twice)."""
    from components.history_state import details_markdown

    entry = {**ended_at(1, 200.0), "created": "2026-12-07T16:11:08+00:00"}
    assert "Finished: 2026-12-07 16:11:08 UTC" in details_markdown(entry)
    assert "Finished: sometime" in details_markdown({**entry, "created": "sometime"})  # an odd stored value, as is


def test_an_out_of_range_time_is_shown_as_stored():
    from components.history_state import shown_time

    assert shown_time("0001-01-01T00:30:00+01:00") == "0001-01-01T00:30:00+01:00"  # no UTC for it: as it is
