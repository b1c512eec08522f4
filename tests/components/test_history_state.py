"""History entries as plain data: newest first, capped at 100, each run once, filtered, compared, small enough for
the browser's storage, and robust to whatever the browser kept."""

from __future__ import annotations

from components.history_state import (
    ELIDED,
    HISTORY_LIMIT,
    MAX_DELETED,
    MAX_KEPT_DATA_URI,
    added,
    caption,
    changed_parameters,
    deleted_ids,
    details_markdown,
    entry_of,
    filtered,
    marked,
    page_runs,
    parameter_diff,
    removed,
    restored_axes,
    tile_caption,
    with_stored,
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


def test_a_record_already_listed_stays_where_it_is():
    history = added(added([], record(1)), record(2))
    assert [e["id"] for e in added(history, record(1))] == ["run-2", "run-1"]
    assert added(history, None) == history and added(history, {"no": "id"}) == history


def test_what_the_browser_kept_in_another_shape_is_ignored():
    assert filtered({"not": "a list"}, None) == [] and filtered(None, "flux_pro") == []
    assert [e["id"] for e in filtered([1, "x", {"no": "id"}, entry_of(record(3))], None)] == ["run-3"]
    assert removed("garbage", "run-1") == []


def test_large_data_uris_are_not_kept():
    big = "data:image/png;base64," + "A" * (MAX_KEPT_DATA_URI + 1)
    rec = record(4, "flux_dev_image_to_image", image_url=big, strength=0.5)
    rec["request"] = {"body": {"image_url": big}}
    entry = entry_of(rec)
    assert "image_url" not in entry["record"]["input"] and entry["not_kept"] == ["image_url"]
    assert entry["record"]["request"]["body"]["image_url"] == ELIDED
    assert "Not kept" in details_markdown(entry) and "`image_url`" in details_markdown(entry)
    small = "data:image/png;base64,AAAA"
    assert entry_of(record(5, "flux_dev_image_to_image", image_url=small))["record"]["input"]["image_url"] == small


def test_tile_caption_and_details():
    entry = entry_of(record(6))
    assert tile_caption(entry) == "FLUX.1 [pro]\nseed 106\n✅ done · 3.5 s · $0.05"
    details = details_markdown(entry)
    assert details.startswith("**FLUX.1 [pro]** — ✅ · seed 106") and "Request id: `req-6`" in details
    stopped = {**record(7), "state": "stopped", "result": None, "cost": {"usd": None, "basis": ""}}
    assert tile_caption(entry_of(stopped)) == "FLUX.1 [pro]\nno seed\n⏹ stopped · 3.5 s"
    assert details_markdown(None).startswith("Select a run")
    sweep = {**record(8), "cost": {"usd": 0.1, "basis": "2 cells"}}  # money as everywhere else: cents at least
    assert tile_caption(entry_of(sweep)).endswith("· $0.10") and caption(entry_of(sweep)).endswith("· $0.10")
    assert "Cost: $0.10 (2 cells)" in details_markdown(entry_of(sweep))  # it read "$0.1"


def test_a_whole_sweep_is_named_a_sweep_with_its_axes():
    """A walk took a sweep's entry for a broken run: "no seed", nothing said of the sweep."""
    axis = {"name": "x", "field": "seed", "kind": "field", "title": "seed", "values": [1, 2, 3],
            "labels": ["seed = 1", "seed = 2", "seed = 3"], "notes": []}  # as runs.sweep.label_for writes them
    guidance = {**axis, "field": "guidance_scale", "title": "guidance_scale", "values": [2.0, 5.0],
                "labels": ["guidance_scale = 2", "guidance_scale = 5"]}
    whole = {**record(9), "result": {"seed": None, "images": [{"url": "http://app.test/media/grid.png"}]},
             "cost": {"usd": 0.3, "basis": "sweep of 6 cells: the sum of their costs"},
             "sweep": {"id": "run-9", "x": axis, "y": guidance, "cells": [f"c{i}" for i in range(6)]}}
    entry = entry_of(whole)
    assert tile_caption(entry) == "FLUX.1 [pro]\nsweep of 6 cells\n✅ done · 3.5 s · $0.30"
    assert caption(entry).startswith("FLUX.1 [pro] · ✅ · 📊 sweep of 6 cells · 3.5 s · $0.30")
    details = details_markdown(entry)
    assert "Sweep: seed = 1, 2, 3 × guidance_scale = 2, 5" in details and "Restore fills the form" in details


def test_diff_of_nested_values_and_of_two_endpoints():
    a = entry_of(record(8, "flux_general_rf_inversion", loras=[{"path": "https://x.test/a", "scale": 1.0}]))
    b = entry_of(record(8, "flux_general_rf_inversion", loras=[{"path": "https://x.test/a", "scale": 0.5}]))
    assert [r[0] for r in parameter_diff(a, b)] == ["loras"]
    assert parameter_diff(a, a) == []
    c = entry_of(record(9, "flux_pro"))
    rows = parameter_diff(a, c)
    assert rows[0] == ["endpoint", "fal-ai/flux-general/rf-inversion", "fal-ai/flux-pro"]
    assert ["loras", '[{"path": "https://x.test/a", "scale": 1.0}]', "—"] in rows


def test_the_same_model_on_two_providers_differs_only_in_meaning():
    """FLUX1.1 [pro] on BFL (width/height, safety_tolerance 2) against fal (image_size, "2", fal-only defaults): the
    same request in meaning, so only the provider row shows; a real difference still shows, in A's terms."""
    bfl = entry_of(record(1, "bfl_flux_pro_1_1", prompt="a fox", seed=42, width=1024, height=768,
                          prompt_upsampling=False, safety_tolerance=2))
    fal = entry_of(record(1, "flux_pro_v1_1", prompt="a fox", seed=42, image_size="landscape_4_3",
                          safety_tolerance="2", sync_mode=False, enhance_prompt=False, num_images=1))
    assert parameter_diff(bfl, fal) == [["provider", "Black Forest Labs", "fal.ai"]]
    bigger = entry_of(record(1, "flux_pro_v1_1", prompt="a fox", seed=42, image_size="square_hd",
                             safety_tolerance="5", num_images=2))
    rows = parameter_diff(bfl, bigger)
    assert rows[0] == ["provider", "Black Forest Labs", "fal.ai"]
    assert ["width", "1024", "1024"] not in rows and ["height", "768", "1024"] in rows
    assert ["safety_tolerance", "2", "5"] in rows and ["num_images", "—", "2"] in rows


def ended_at(i: int, finished: float) -> dict:
    return entry_of({**record(i), "timings": {"submitted": finished - 2, "started": finished - 1, "finished": finished}})


def ids(entries: list[dict]) -> list[str]:
    return [e["id"] for e in filtered(entries, None)]


def test_two_tabs_whose_writes_crossed_come_to_the_same_list():
    """Tab A listed run 1, tab B run 2, each wrote before it saw the other's write: each puts its own run back into
    the other's list, and both lists come out the same (so the exchange ends)."""
    old = [ended_at(0, 100.0)]
    run_1, run_2 = ended_at(1, 200.0), ended_at(2, 200.4)
    a_list, a_own = with_stored([run_2, *old], [run_1])  # A reads B's write
    b_list, b_own = with_stored([run_1, *old], [run_2])  # B reads A's
    assert ids(a_list) == ids(b_list) == ["run-2", "run-1", "run-0"]
    assert a_own == [run_1] and b_own == [run_2]
    assert with_stored(b_list, a_own) == (b_list, [run_1])  # then A reads B's merged write: in sync


def test_a_run_echoed_back_is_still_put_back_into_an_older_list():
    """Tab B echoed A's write (run 1) before B's own step, which read an empty list, wrote [run 2]: A puts run 1
    back (before, the echo counted as run 1 being stored, and B's older list then replaced it)."""
    run_1, run_2 = ended_at(1, 200.0), ended_at(2, 200.4)
    echoed, own = with_stored([run_1], [run_1])
    assert ids(echoed) == ["run-1"] and own == [run_1]
    after, own = with_stored([run_2], own)
    assert ids(after) == ["run-2", "run-1"] and own == [run_1]


def test_a_run_another_tab_deleted_stays_deleted():
    """Run 1 is this page's; the other tab deletes it: the list it stores marks it deleted, and it is not put back
    (nor in any later list)."""
    own = [ended_at(1, 200.0), ended_at(0, 100.0)]
    stored_after_delete = removed(own, "run-1")
    assert ids(stored_after_delete) == ["run-0"] and deleted_ids(stored_after_delete) == ["run-1"]
    after, kept = with_stored(stored_after_delete, [own[0]])
    assert ids(after) == ["run-0"] and kept == []
    assert deleted_ids(after) == ["run-1"]  # passed on with the list this page writes


def test_a_delete_crossing_an_older_write_stays_deleted():
    """The page deleted run 1 while another tab wrote a list that still had it (it had not seen the delete): the
    page's mark leaves run 1 out of that list, and the list the page writes carries the mark on."""
    old, run_1, run_2 = ended_at(0, 100.0), ended_at(1, 200.0), ended_at(2, 300.0)
    page = removed([run_1, old], "run-1")
    other, own = with_stored([run_2, run_1, old], [], page)
    assert ids(other) == ["run-2", "run-0"] and deleted_ids(other) == ["run-1"] and own == []


def test_the_deleted_mark_is_kept_capped_and_passed_by():
    history = removed([ended_at(1, 1.0), ended_at(2, 2.0)], "run-1")
    assert ids(history) == ["run-2"] and len(history) == 2  # the mark follows the entries
    assert deleted_ids(added(history, record(3))) == ["run-1"]
    assert deleted_ids(added(history, record(1))) == []  # added again (an image of it opened): not deleted now
    assert removed(history, "not-listed") == history  # only what the list had is marked
    for i in range(MAX_DELETED + 5):
        history = removed(added(history, record(1000 + i)), f"run-{1000 + i}")
    assert len(deleted_ids(history)) == MAX_DELETED and deleted_ids(history)[-1] == f"run-{1000 + MAX_DELETED + 4}"
    assert deleted_ids("garbage") == [] and deleted_ids([{"deleted": ["x"]}]) == []
    assert deleted_ids([{"deleted": {"x": 2.0, "1": "when?", "y": 1.0}}, {"id": "a", "deleted": {"z": 1.0}}]) == ["y", "x"]
    crafted = [{"deleted": {f"id-{i}": float(i) for i in range(10_000)}}] * 40  # read once, and only so far
    assert len(deleted_ids(crafted)) == 2 * MAX_DELETED


def test_two_tabs_with_full_marks_settle_on_the_same_deletes():
    """With MAX_DELETED deletes in both tabs, one more in tab B dropped its oldest mark; tab A put it back and dropped
    another, and the two wrote to each other for ever (a review). The newest deletes by (when, id) are kept in both."""
    both = marked([ended_at(0, 1.0)], {f"gone-{i}": float(i) for i in range(MAX_DELETED)})
    b_list = removed(added(both, record(7)), "run-7", now=500.0)
    a_list, _ = with_stored(b_list, [], both)  # A reads B's write, its own (older) marks with it
    assert a_list == b_list
    b_again, _ = with_stored(a_list, [], b_list)
    assert b_again == a_list


def test_a_run_added_again_after_its_delete_stays_in_both_tabs():
    """Tab A deleted run 1, then opened one of its images (the run is added again); tab B still holds the delete:
    the run stays (before, B's mark deleted it again at the next exchange)."""
    a = removed([ended_at(1, 10.0), ended_at(0, 5.0)], "run-1", now=100.0)
    b = list(a)  # B has seen the delete
    a = added(a, ended_at(1, 10.0)["record"], now=200.0)
    assert ids(a) == ["run-1", "run-0"] and deleted_ids(a) == []
    b_after, _ = with_stored(a, [], b)  # B reads A's write, its own list still marking run 1 deleted
    assert ids(b_after) == ["run-1", "run-0"] and deleted_ids(b_after) == []
    a_after, _ = with_stored(removed(b_after, "run-1", now=300.0), [], a)  # deleted again later: deleted
    assert ids(a_after) == ["run-0"] and deleted_ids(a_after) == ["run-1"]


def test_the_page_runs_state_reads_ids_and_own_entries():
    entry = ended_at(2, 10.0)
    assert page_runs({"ids": ["run-1", "run-2"], "own": [entry, "junk"]}) == (["run-1", "run-2"], [entry])
    assert page_runs(None) == ([], [])


def test_a_sweep_axis_the_tab_cannot_take_back_is_left_out_and_said():
    from endpoints import get_endpoint

    pro = get_endpoint("flux_pro")
    x = {"field": "seed", "kind": "value", "values": [1, 2]}
    y = {"field": "guidance_scale", "kind": "value", "values": [2.0, 5.0]}
    axes = restored_axes(pro, {"x": x, "y": y})
    assert (axes.x_field, axes.x_text, axes.y_field, axes.y_text, axes.left_out) == (
        "seed", "1, 2", "guidance_scale", "2, 5", [])
    gone = restored_axes(pro, {"x": {**x, "field": "no_such_field"}, "y": y})  # the tab no longer has it
    assert gone.x_field is None and gone.y_field is None
    assert gone.left_out == ["X axis (no_such_field)", "Y axis (guidance_scale, with the X axis)"]
