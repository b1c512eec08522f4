"""Sweeps run on the sandbox in plain asyncio: records per cell, concurrency, failures, and Stop cancelling remotely."""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from providers.media import MediaStore
from providers.registry import build_providers, sandbox_settings
from runs.record import Cost
from runs.result_cache import ResultCache
from runs.runner import Runner
from runs.storage import SqliteStore
from runs.sweep import ENDPOINT_FIELD, SweepPlan, parse_axis, plan_sweep
from runs.sweep_runner import (
    NOT_SENT,
    STOPPED_REMOTELY,
    SweepUpdate,
    outcome,
    run_sweep,
    start_sweep,
    was_cancelled_remotely,
)
from sandbox import SandboxOptions, start_sandbox
from tests.runs.conftest import SandboxRig

FLUX_PRO = get_endpoint("flux_pro")
I2I = get_endpoint("flux_dev_image_to_image")
MEDIA = "http://app.test/media/"


def media_url(name: str) -> str:
    return MEDIA + name


def make_plan(spec: EndpointSpec, base: dict[str, Any], x: tuple[str, str], y: tuple[str, str] | None) -> SweepPlan:
    rng = random.Random(0)
    x_axis = parse_axis(spec, x[0], x[1], base, rng=rng)
    y_axis = parse_axis(spec, y[0], y[1], base, axis="Y", rng=rng) if y else None
    return plan_sweep(
        spec, base, x_axis, y_axis, cost_of=lambda s, w: Cost(0.01, "test"), seconds_per_job=lambda s, w: 1.0,
        max_cells=64, concurrency={"fal": 16, "segmind": 4}, rng=rng,
    )


@pytest.fixture
async def slow_rig(tmp_path: Path) -> AsyncIterator[SandboxRig]:
    """A sandbox whose 50-step jobs take 2.5 s, so a Stop always lands while cells are queued or running."""
    sandbox = start_sandbox(SandboxOptions(step_seconds=0.05, startup_seconds=0.0))
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    providers = build_providers(sandbox_settings(sandbox.url), local_file_roots=(uploads,), is_sandbox=True)
    try:
        yield SandboxRig(sandbox, providers, Runner(MediaStore(tmp_path / "media")), uploads)
    finally:
        await providers.aclose()
        sandbox.stop()


def small(steps: int = 4) -> dict[str, Any]:
    return {"prompt": "a lighthouse at dusk", "image_size": {"width": 64, "height": 48}, "num_inference_steps": steps}


async def wait_until_idle(rig, timeout: float = 5.0) -> dict:
    """The sandbox's stats once no fal job is queued or in progress (or the last stats at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = await asyncio.to_thread(rig.stats)
        if (stats["jobs"]["IN_QUEUE"], stats["jobs"]["IN_PROGRESS"]) == (0, 0) or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.05)


async def test_a_4_by_2_sweep_returns_8_records_with_their_values(rig):
    plan = make_plan(FLUX_PRO, small(), ("seed", "11-14"), ("guidance_scale", "2, 3.5"))
    updates: list[SweepUpdate] = []
    async with asyncio.timeout(30):
        async for update in run_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider),
                                      concurrency={"fal": 16}, media_url=media_url):
            updates.append(update)
    final = updates[-1]
    assert final.final and final.records is not None and len(final.records) == 8
    assert final.summary() == "8/8 done" and final.progress == 1.0
    for cell, record in zip(plan.cells, final.records, strict=True):
        assert record.state == "done", record.error
        assert record.seed == cell.x_value == 11 + cell.x_index
        assert record.input["guidance_scale"] == cell.y_value == (2.0, 3.5)[cell.y_index]
        assert record.sweep == {"id": plan.id, "x": cell.x_value, "y": cell.y_value,
                                "x_index": cell.x_index, "y_index": cell.y_index}
        assert record.result is not None and record.result["images"][0]["url"].startswith(MEDIA)
    assert len({r.request_id for r in final.records}) == 8
    # every cell was sent (limit 16, one after the other in grid order); the sandbox runs 2 at a time, so others
    # waited in its queue
    states = [c.state for u in updates for c in u.cells]
    assert "queued" in states and "running" in states
    assert any(c.state == "queued" and c.position and c.position > 0 for u in updates for c in u.cells)
    assert all(u.time_left is not None for u in updates)
    stats = await wait_until_idle(rig)
    assert stats["submits"] == {FLUX_PRO.id: 8} and stats["cancels"] == []


async def test_cells_wait_for_a_slot_under_the_provider_limit(rig):
    plan = make_plan(FLUX_PRO, small(), ("seed", "1-4"), None)
    seen_waiting: list[int | None] = []
    most_in_flight = 0
    async with asyncio.timeout(30):
        async for update in run_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider), concurrency={"fal": 1}):
            in_flight = sum(1 for c in update.cells if c.state in ("preparing", "queued", "running", "saving"))
            most_in_flight = max(most_in_flight, in_flight)
            seen_waiting += [c.position for c in update.cells if c.state == "waiting"]
            if update.final:
                assert [r.state for r in update.records or ()] == ["done"] * 4
    assert most_in_flight == 1
    assert {0, 1, 2} <= set(seen_waiting)  # places in our own line


async def test_closing_the_sweep_cancels_every_queued_and_running_cell(slow_rig):
    rig = slow_rig
    plan = make_plan(FLUX_PRO, small(steps=50), ("seed", "1-4"), ("guidance_scale", "2, 3"))
    sweep = start_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider), concurrency={"fal": 3})
    updates = sweep.updates()
    async with asyncio.timeout(30):
        async for update in updates:
            if any(c.state == "running" for c in update.cells):
                break
        await updates.aclose()
    records = sweep.records
    assert records is not None and len(records) == 8
    assert [r.state for r in records] == ["stopped"] * 8, [(r.state, r.error) for r in records]
    sent = [r for r in records if r.request_id]
    assert len(sent) == 3  # the limit: the other five never left
    assert all(r.error is not None and r.error.message == NOT_SENT for r in records if not r.request_id)
    assert all(r.sweep is not None and r.sweep["id"] == plan.id for r in records)
    stats = await wait_until_idle(rig)
    assert stats["jobs"]["IN_QUEUE"] == 0 and stats["jobs"]["IN_PROGRESS"] == 0
    assert stats["submits"] == {FLUX_PRO.id: 3}
    assert {c["request_id"] for c in stats["cancels"]} == {r.request_id for r in sent}
    assert all(r.error is not None and r.error.message == STOPPED_REMOTELY for r in sent)


async def test_cancelling_the_consuming_task_also_cancels_remotely(slow_rig):
    rig = slow_rig
    plan = make_plan(FLUX_PRO, small(steps=50), ("seed", "1-4"), None)
    sweep = start_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider), concurrency={"fal": 4})
    running = asyncio.Event()

    async def consume() -> None:
        async for update in sweep.updates():
            if any(c.state == "running" for c in update.cells):
                running.set()

    task = asyncio.ensure_future(consume())
    async with asyncio.timeout(30):
        await running.wait()
        task.cancel()
        await sweep.finished.wait()
    assert [r.state for r in sweep.records or ()] == ["stopped"] * 4
    stats = await wait_until_idle(rig)
    assert (stats["jobs"]["IN_QUEUE"], stats["jobs"]["IN_PROGRESS"]) == (0, 0)
    sent = {r.request_id for r in sweep.records or () if r.request_id}  # cells sent by then, in grid order
    assert sent and {c["request_id"] for c in stats["cancels"]} == sent


async def test_stop_ends_the_stream_with_stopped_records(slow_rig):
    rig = slow_rig
    plan = make_plan(FLUX_PRO, small(steps=50), ("seed", "1-3"), None)
    sweep = start_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider), concurrency={"fal": 2})
    last: SweepUpdate | None = None
    async with asyncio.timeout(30):
        async for update in sweep.updates():
            last = update
            if any(c.state == "running" for c in update.cells) and not update.final:
                asyncio.ensure_future(sweep.stop())
    assert last is not None and last.final
    assert [r.state for r in last.records or ()] == ["stopped"] * 3
    assert [c.state for c in last.cells] == ["stopped"] * 3
    assert last.summary() == "0/3 done · 3 stopped"
    stats = await wait_until_idle(rig)
    assert (stats["jobs"]["IN_QUEUE"], stats["jobs"]["IN_PROGRESS"]) == (0, 0)


async def test_cells_reach_the_provider_in_grid_order_so_a_stop_keeps_the_first(slow_rig, tmp_path):
    """Every cell is sent at once (limit 16) to a provider that runs two at a time: they reach its queue in grid
    order, so the first two run first, and a Stop after they finish keeps seeds 1 and 2 (the submits used to
    race: a walk-through's stopped sweep kept seeds 2 and 3, seed 1 eleventh in the queue). A stopped sweep's
    bar shows what finished, not a full bar."""
    rig = slow_rig
    # The app's runner looks each cell up in the result cache first (SQLite, in a worker thread): the lookups
    # end in any order, and the submits after them followed that order.
    rig.runner.cache = ResultCache(SqliteStore(tmp_path / "state.sqlite3"), tmp_path / "cache")
    plan = make_plan(FLUX_PRO, small(steps=8), ("seed", "1-8"), None)  # 0.4 s a job
    sweep = start_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider), concurrency={"fal": 16})
    last: SweepUpdate | None = None
    async with asyncio.timeout(30):
        async for update in sweep.updates():
            last = update
            if update.count("done") >= 2 and not update.final:
                asyncio.ensure_future(sweep.stop())
    assert last is not None and last.final and last.records is not None
    submitted = [r.timings.submitted for r in last.records if r.timings.submitted is not None]
    assert len(submitted) >= 4 and submitted == sorted(submitted), submitted  # sent in grid order
    done = [i for i, r in enumerate(last.records) if r.state == "done"]
    assert done[:2] == [0, 1], [(r.seed, r.state) for r in last.records]
    assert last.progress == pytest.approx(len(done) / 8), (last.progress, last.summary())
    stats = await wait_until_idle(rig)
    assert (stats["jobs"]["IN_QUEUE"], stats["jobs"]["IN_PROGRESS"]) == (0, 0)


async def test_stop_before_iterating_sends_nothing(rig):
    plan = make_plan(FLUX_PRO, small(), ("seed", "1-2"), None)
    sweep = start_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider))
    records = await sweep.stop()
    assert [(r.state, r.error.message if r.error else None) for r in records] == [("stopped", NOT_SENT)] * 2
    assert (await asyncio.to_thread(rig.stats))["submits"] == {}


async def test_a_failed_cell_does_not_stop_the_rest_and_the_shared_image_is_uploaded_once(rig_factory):
    rig = rig_factory(faults="segmind=status_500:99")
    try:
        png = io.BytesIO()
        Image.new("RGB", (48, 48), (200, 40, 40)).save(png, "PNG")
        source = rig.uploads_root / "shared.png"
        source.write_bytes(png.getvalue())
        base = {"prompt": "a wizard cat", "image_url": str(source), "num_inference_steps": 10}
        plan = make_plan(I2I, base, (ENDPOINT_FIELD, "flux_dev_image_to_image, flux-depth-pro"), ("seed", "1, 2, 3"))
        async with asyncio.timeout(30):
            updates = [u async for u in run_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider))]
        records = updates[-1].records or ()
        assert [(r.endpoint_id, r.state) for r in records] == [
            (I2I.id, "done"), ("flux-depth-pro", "failed")
        ] * 3
        assert all(r.error is not None for r in records if r.state == "failed")
        assert [r.seed for r in records if r.state == "done"] == [1, 2, 3]
        stats = await asyncio.to_thread(rig.stats)
        assert stats["uploads"] == 1  # three fal cells, one upload of the shared input image
        assert updates[-1].summary() == "3/6 done · 3 failed"
    finally:
        await rig.providers.aclose()


async def test_stop_half_way_keeps_the_finished_cells(rig):
    """The sandbox runs two jobs at once; Stop once two of eight cells are done: those keep their records and
    images, the rest are stopped (those already sent, cancelled remotely), and the outcome says so."""
    plan = make_plan(FLUX_PRO, small(steps=30), ("seed", "1-8"), None)
    sweep = start_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider), concurrency={"fal": 16},
                        media_url=media_url)
    last: SweepUpdate | None = None
    async with asyncio.timeout(30):
        async for update in sweep.updates():
            last = update
            if update.count("done") >= 2 and not update.final and not sweep.stop_requested:
                asyncio.ensure_future(sweep.stop())
    assert last is not None and last.final and sweep.stop_requested
    records = last.records or ()
    done = [r for r in records if r.state == "done"]
    assert 2 <= len(done) < 8 and all((r.result or {}).get("images") for r in done)
    assert {r.state for r in records} == {"done", "stopped"}
    remote = [r for r in records if was_cancelled_remotely(r)]
    assert remote and all(r.error and r.error.message == STOPPED_REMOTELY for r in remote)
    text = outcome(records, 4.0)
    assert text.startswith(f"8 jobs: {len(done)} done · {8 - len(done)} stopped ({len(remote)} cancelled remotely)")
    assert text.endswith("cost unknown · 4.0 s")  # the rig's runner prices nothing


async def test_time_left_counts_the_cells_the_provider_really_runs_at_once(slow_rig):
    """We send 16 at once but the sandbox runs 2: after the first cells finish, the time left is the remaining
    waves of 2, not one wave of 16 (which said "about 5 s" for a sweep that took 20 s)."""
    rig = slow_rig
    plan = make_plan(FLUX_PRO, small(steps=16), ("seed", "1-8"), None)
    seen: list[tuple[float, float]] = []
    async with asyncio.timeout(30):
        async for update in run_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider),
                                      concurrency={"fal": 16}):
            if not update.final and update.count("done") and update.time_left is not None and not seen:
                seen.append((update.elapsed, update.time_left))
            last = update
    elapsed, left = seen[0]
    actual = last.elapsed - elapsed
    # Three waves of 2 remain after the first: the time left is about 3 jobs, against the one job (the time so far)
    # that a single wave of 16 would say. Judged by the time so far or by what really followed (which a loaded
    # machine stretches: later jobs run slower than the first wave did).
    assert left >= 1.5 * elapsed or left >= 0.6 * actual, (left, elapsed, actual)
