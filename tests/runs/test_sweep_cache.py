"""Sweeps pay only for new cells: the plan looks each cell up in the result cache and counts the cached ones apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runs.pricing import estimate_cost
from runs.result_cache import ResultCache
from runs.storage import SqliteStore
from runs.sweep import parse_json_axis, plan_sweep
from runs.sweep_cache import plan_with_cache
from tests.runs.test_runner_cache import FLUX_PRO, VALUES, run


@pytest.fixture
def cached_rig(rig, tmp_path: Path):
    rig.runner.cache = ResultCache(SqliteStore(tmp_path / "state.sqlite3"), tmp_path / "cache")
    return rig


def plan(rig, base, x_values, cache):
    wire = FLUX_PRO.input_model.model_validate(base).to_wire()
    x = parse_json_axis(FLUX_PRO, "guidance_scale", json.dumps(x_values), wire, axis="X")
    route = rig.route("fal")
    def cost_of(s, w):
        return estimate_cost(s, w, s.price)

    made = plan_sweep(FLUX_PRO, wire, x, cost_of=cost_of, seconds_per_job=lambda s, w: 1.0, max_cells=64,
                      concurrency={"fal": 2})
    return made, route, cost_of


async def test_the_plan_counts_cached_cells_apart_and_prices_only_the_rest(cached_rig) -> None:
    for g in (2, 5):
        await run(cached_rig, {**VALUES, "guidance_scale": g})
    made, route, cost_of = plan(cached_rig, VALUES, [2, 5, 8], cached_rig.runner.cache)
    marked = await plan_with_cache(made, cached_rig.runner.cache, lambda _: route, cost_of=cost_of,
                                   seconds_per_job=lambda s, w: 1.0, concurrency={"fal": 2})
    assert marked.cached == {0, 1}
    one = cost_of(FLUX_PRO, made.cells[2].input).usd
    assert marked.run_cost is not None and marked.run_cost.usd == one
    assert marked.summary().startswith(f"3 cells: 2 from cache, 1 to run · est. ${one:.2f}"), marked.summary()
    assert marked.to_json()["cached_cells"] == 2


async def test_no_cache_no_cached_cells_and_the_plain_summary(cached_rig) -> None:
    made, route, cost_of = plan(cached_rig, VALUES, [2, 5], cached_rig.runner.cache)
    marked = await plan_with_cache(made, None, lambda _: route, cost_of=cost_of,
                                   seconds_per_job=lambda s, w: 1.0, concurrency={"fal": 2})
    assert marked is made and marked.summary().startswith("2 jobs")


async def test_an_unseeded_sweep_draws_its_seed_once_at_plan_time(cached_rig) -> None:
    unseeded = {k: v for k, v in VALUES.items() if k != "seed"}
    made, _, _ = plan(cached_rig, unseeded, [2, 5], cached_rig.runner.cache)
    seeds = {cell.input["seed"] for cell in made.cells}
    assert len(seeds) == 1 and None not in seeds  # an explicit seed: the cells can be cached and repeated


async def run_widened(rig, cached: tuple[float, ...]) -> list:
    """A 4-cell sweep over guidance 2, 5, 8, 11 (jobs of ~0.3 s on the rig's sandbox, one at a time) after runs of
    ``cached`` alone: its updates."""
    import asyncio

    from runs.sweep_runner import run_sweep

    slow = {**VALUES, "num_inference_steps": 30}
    for g in cached:
        await run(rig, {**slow, "guidance_scale": g})
    made, route, cost_of = plan(rig, slow, [2, 5, 8, 11], rig.runner.cache)
    marked = await plan_with_cache(made, rig.runner.cache, lambda _: route, cost_of=cost_of,
                                   seconds_per_job=lambda s, w: 1.0, concurrency={"fal": 1})
    assert marked.cached == {[2, 5, 8, 11].index(g) for g in cached}
    async with asyncio.timeout(30):
        return [update async for update in run_sweep(marked, rig.runner, lambda spec: route, concurrency={"fal": 1},
                                                     media_url=lambda n: "/media/" + n)]


async def test_the_time_left_is_not_shortened_by_the_cells_served_from_the_cache(cached_rig) -> None:
    """A sweep run again after a Stop said "4/8 done · 2 running · 2 queued · about 1 s left" and took 10 s more:
    its cached cells, done at once, were counted as jobs that take no time."""
    from runs.sweep_runner import outcome

    updates = await run_widened(cached_rig, (2, 5))
    seen = next(u for u in updates if not u.final and [c.state for c in u.cells].count("done") == 2
                and all(c.record and c.record.cached for c in u.cells if c.state == "done"))
    last = updates[-1]
    assert seen.time_left is not None
    actual = last.elapsed - seen.elapsed  # the two cells still to run, one at a time
    assert seen.time_left >= 0.4 * actual, (seen.time_left, actual)
    assert last.records is not None and outcome(last.records).startswith("4 jobs: 4 done (2 from cache) · $")


async def test_a_cached_cell_still_waiting_adds_nothing_to_the_time_left(cached_rig) -> None:
    """A grid widened around cached cells (new values between old ones): a cached cell waiting its turn was priced
    as a whole job (1.04 s said, 0.36 s left; a review)."""
    updates = await run_widened(cached_rig, (5, 11))
    # the first job done; one job (cell 2) and one cached cell (3) to go
    seen = next(u for u in updates if not u.final and u.cells[0].state == "done" and u.cells[2].state != "done")
    assert seen.time_left is not None
    first_job = seen.elapsed
    # one job's time is left, not two: under 1.6 jobs, judged by the first job's own time
    assert seen.time_left < 1.6 * first_job, (seen.time_left, first_job, updates[-1].elapsed - seen.elapsed)
