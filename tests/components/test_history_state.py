"""History entries as plain data: newest first, capped at 100, deduplicated, filtered, compared."""

from __future__ import annotations

from components.history_state import (
    HISTORY_LIMIT,
    added,
    caption,
    changed_parameters,
    entry_of,
    filtered,
    parameter_diff,
    removed,
)
from endpoints import get_endpoint


def record(i: int, api_name: str = "flux_pro", **input_values) -> dict:
    spec = get_endpoint(api_name)
    return {
        "id": f"run-{i}", "api_name": api_name, "endpoint_id": spec.id, "provider": spec.provider, "route": "sandbox",
        "input": {"prompt": f"p{i}", **input_values}, "state": "done", "request": None,
        "result": {"seed": 100 + i, "images": [{"url": f"http://app.test/media/{i}.jpg"}]},
        "request_id": f"req-{i}", "timings": {"submitted": 10.0, "started": 11.0, "finished": 13.5},
        "cost": {"usd": 0.05, "basis": "1 image × 1 MP × $0.05"}, "error": None, "sweep": None,
    }


def test_newest_first_capped_and_deduplicated():
    history: list = []
    for i in range(HISTORY_LIMIT + 5):
        history = added(history, record(i))
    assert len(history) == HISTORY_LIMIT and history[0]["id"] == f"run-{HISTORY_LIMIT + 4}"
    assert len(added(history, record(HISTORY_LIMIT + 4))) == HISTORY_LIMIT
    assert removed(history, "run-104")[0]["id"] == "run-103"


def test_entry_shows_what_a_person_needs():
    entry = entry_of(record(1, guidance_scale=5.0, num_inference_steps=28))
    assert entry["seed"] == 101 and entry["duration"] == 3.5 and entry["cost_usd"] == 0.05
    assert entry["changed"] == {"prompt": "p1", "guidance_scale": 5.0}  # steps 28 is the default
    assert entry["images"] == ["http://app.test/media/1.jpg"] and entry["request_id"] == "req-1"
    assert caption(entry).startswith("FLUX.1 [pro] · ✅ · seed 101 · 3.5 s · $0.05")


def test_filter_by_endpoint_and_diff_of_two_runs():
    history = added(added([], record(1)), record(2, "flux_dev_image_to_image", strength=0.5))
    assert [e["id"] for e in filtered(history, "flux_pro")] == ["run-1"]
    assert len(filtered(history, None)) == 2
    rows = parameter_diff(entry_of(record(1, guidance_scale=3.5)), entry_of(record(2, guidance_scale=6.0)))
    assert ["guidance_scale", "3.5", "6.0"] in rows and ["prompt", "p1", "p2"] in rows
    assert not any(r[0] == "num_inference_steps" for r in rows)


def test_changed_parameters_counts_required_fields():
    assert changed_parameters(get_endpoint("flux_pro"), {"prompt": "x", "num_images": 1}) == {"prompt": "x"}
