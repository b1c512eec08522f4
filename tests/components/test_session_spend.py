"""The session's running cost: each run or sweep counted once, billed runs apart from sandbox runs."""

from __future__ import annotations

from components.session_spend import add_to_session, new_total


def record(run_id: str, usd: float | None, *, route: str = "live", **extra: object) -> dict[str, object]:
    return {"id": run_id, "route": route, "cost": {"usd": usd} if usd is not None else None, **extra}


def test_a_run_counts_once_and_sandbox_runs_stay_apart_from_billed_spend():
    total, line = add_to_session(None, None)
    assert line == "Since this page opened: no runs yet."
    total, _ = add_to_session(total, record("a", 0.05))
    total, _ = add_to_session(total, record("a", 0.05))  # the same run again (a second change event)
    total, line = add_to_session(total, record("b", 0.025, route="sandbox"))
    assert (total["usd"], total["runs"], total["sandbox_usd"], total["sandbox_runs"]) == (0.05, 1, 0.025, 1)
    assert line == "Since this page opened: **$0.05 billed** over 1 run · 1 sandbox run that would cost $0.03."


def test_a_sweep_counts_each_cell_and_unpriced_and_cached_runs_are_named():
    sweep = record("s", 0.4, sweep={"cells": [{}, {}, {}, {}]})
    total, _ = add_to_session(new_total(), sweep)
    total, _ = add_to_session(total, record("u", None))
    total, line = add_to_session(total, record("c", 0.05, cached=True))
    assert (total["runs"], total["usd"], total["unpriced"], total["cached"]) == (6, 0.4, 1, 1)
    assert line == "Since this page opened: **$0.40 billed** over 6 runs (1 from cache; +1 of unknown cost)."


def test_a_sweeps_cells_served_from_the_cache_are_named_as_such():
    """A sweep run again pays only for its new cells: the cells the cache served count as runs from cache."""
    again = record("s2", 0.05, route="sandbox", sweep={"cells": ["a", "b", "c"], "cached_cells": 2})
    total, line = add_to_session(new_total(), again)
    assert (total["sandbox_runs"], total["sandbox_usd"], total["cached"]) == (3, 0.05, 2)
    assert line == "Since this page opened: **$0.00 billed** · 3 sandbox runs (2 from cache) that would cost $0.05."
    all_cached = record("s3", 0.0, route="sandbox", sweep={"cells": ["a", "b"], "cached_cells": 2})
    total, line = add_to_session(total, all_cached)
    assert total["cached"] == 4 and line.endswith("5 sandbox runs (4 from cache) that would cost $0.05.")


def test_one_run_from_the_cache_reads_as_one_run():
    total, line = add_to_session(new_total(), record("c", 0.0, route="sandbox", cached=True))
    assert line == "Since this page opened: **$0.00 billed** · 1 sandbox run (from cache) that would cost nothing."
    total, line = add_to_session(total, record("d", 0.0, route="sandbox", cached=True))
    assert line.endswith("2 sandbox runs (all from cache) that would cost nothing.")


def test_a_record_without_an_id_or_of_another_shape_changes_nothing():
    total, line = add_to_session(new_total(), {"cost": {"usd": 1.0}})
    assert total["runs"] == 0 and line == "Since this page opened: no runs yet."
    total, _ = add_to_session(total, "not a record")  # type: ignore[arg-type]
    assert total["runs"] == 0
