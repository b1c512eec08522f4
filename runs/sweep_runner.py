"""Running a ``SweepPlan``: every cell through the run engine, concurrently up to a limit per provider.

No Gradio here. ``start_sweep(...)`` gives a ``SweepRun``; iterate its ``updates()`` once (``run_sweep`` does both).
Each ``SweepUpdate`` holds every cell's status (waiting for a slot, queued upstream with its position, running
with its step, done, failed, stopped), the overall progress and the time left; the last one carries the cells'
``RunRecord``s in plan order, each with ``sweep={"id", "x", "y", "x_index", "y_index"}``.

Guarantees, mirroring ``runs.runner``:

- a failed cell does not stop the others;
- closing the updates generator, cancelling the task that iterates it, or ``SweepRun.stop()`` cancels every queued
  and running cell remotely (each ``Run`` cancels its remote job when its own generator is closed); cells that
  never got a slot end ``stopped`` without anything sent;
- a local input image shared by all cells is uploaded once (the providers' upload cache); 429s are retried by the
  providers, honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import ValidationError

from endpoints.base import EndpointSpec
from endpoints.validation import describe_validation_error
from providers.routing import Route
from runs.pricing import format_usd
from runs.progress import Step
from runs.record import RunError, RunRecord
from runs.runner import Run, Runner, RunUpdate
from runs.sweep import SweepCell, SweepLimits, SweepPlan, format_elapsed, format_seconds

CellState = Literal["waiting", "preparing", "queued", "running", "saving", "done", "failed", "stopped"]
FINAL_STATES: frozenset[str] = frozenset({"done", "failed", "stopped"})
_SUMMARY_STATES: tuple[CellState, ...] = ("failed", "stopped", "running", "queued", "waiting")
STOP_TIMEOUT = 15.0
STOP_GRACE = 1.0  # after cancelling a cell's task, how long before its remote job is cancelled directly
#: How long a cell waits for the cell before it (same provider) to be submitted before it submits regardless: the
#: provider queues cells in grid order (a Stop half-way keeps the first cells), and one slow submit holds none long.
SUBMIT_TURN_SECONDS = 3.0
STOPPED_REMOTELY = "The remote request was cancelled."  # runs.runner's wording for a stopped run

log = logging.getLogger(__name__)
NOT_SENT = "Stopped before anything was sent."
NOTHING_SENT = "Nothing had been sent to the provider yet."  # runs.runner's wording for a run stopped before its submit

RouteFor = Callable[[EndpointSpec], Route]


@dataclass(frozen=True)
class CellStatus:
    """Where one cell stands. ``position`` is the place in line: ours (``waiting``) or the provider's (``queued``)."""

    index: int  # in plan order
    x_index: int
    y_index: int
    state: CellState
    position: int | None = None
    step: Step | None = None
    eta: float | None = None
    request_id: str | None = None
    elapsed: float | None = None
    record: RunRecord | None = None  # once final

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def caption(self) -> str:
        """``waiting (3 in line)``, ``queued (2 ahead)``, ``running · Step 14/28``, ``done``, the error."""
        if self.state == "waiting":
            return "waiting for a slot" if self.position is None else f"waiting ({self.position + 1} in line)"
        if self.state == "queued" and self.position is not None:  # the provider's position: 0 is next
            return "queued (next in line)" if self.position == 0 else f"queued ({self.position} ahead)"
        if self.state == "running" and self.step is not None:
            return f"running · {self.step}"
        if self.state in ("failed", "stopped") and self.record is not None and self.record.error is not None:
            return self.record.error.message
        return self.state


@dataclass(frozen=True)
class SweepUpdate:
    sweep_id: str
    cells: tuple[CellStatus, ...]  # every cell, in plan order
    changed: tuple[int, ...]  # indices of the cells that changed since the previous update
    elapsed: float
    time_left: float | None
    records: tuple[RunRecord, ...] | None = None  # only on the last update, in plan order

    @property
    def final(self) -> bool:
        return self.records is not None

    def count(self, state: CellState) -> int:
        return sum(1 for cell in self.cells if cell.state == state)

    @property
    def finished(self) -> int:
        return sum(1 for cell in self.cells if cell.final)

    @property
    def progress(self) -> float:
        """Cells done or failed, plus the step fraction of running ones, over all cells (0..1). Stopped cells do
        not count: a sweep stopped half-way shows a bar half full, not a full one."""
        ended = sum(1 for c in self.cells if c.final and c.state != "stopped")
        running = sum(c.step.fraction for c in self.cells if c.state == "running" and c.step is not None)
        return (ended + running) / len(self.cells) if self.cells else 1.0

    def summary(self) -> str:
        """``3/8 done · 1 failed · 2 running · about 20 s left``."""
        parts = [f"{self.count('done')}/{len(self.cells)} done"]
        for state in _SUMMARY_STATES:
            if n := self.count(state):
                parts.append(f"{n} {state}")
        if not self.final and self.time_left is not None:
            parts.append(f"about {format_seconds(self.time_left)} left")
        return " · ".join(parts)


def _job_seconds(status: CellStatus) -> float:
    """How long a finished cell's job took once the provider ran it (its wait in the provider's queue left out,
    as that is what the count of cells at once accounts for)."""
    timings = status.record.timings if status.record is not None else None
    if timings is not None and timings.started is not None and timings.finished is not None:
        return max(0.0, timings.finished - timings.started)
    return status.elapsed or 0.0


def was_cancelled_remotely(record: RunRecord) -> bool:
    """A stopped cell whose job had reached the provider (and was cancelled there), not one never sent."""
    return record.state == "stopped" and record.error is not None and record.error.message not in (
        NOT_SENT, NOTHING_SENT)


def outcome(records: tuple[RunRecord, ...] | list[RunRecord], elapsed: float | None = None) -> str:
    """What a finished or stopped sweep did, for its status and grid title:
    ``8 jobs: 4 done · 4 stopped (3 cancelled remotely) · $0.20 · 21 s``; ``8 jobs: 8 done (4 from cache) · …``."""
    done = sum(r.state == "done" for r in records)
    failed = sum(r.state == "failed" for r in records)
    stopped = [r for r in records if r.state == "stopped"]
    cached = sum(r.state == "done" and r.cached for r in records)
    parts = [f"{len(records)} job{'s' if len(records) != 1 else ''}: {done} done"
             + (f" ({cached} from cache)" if cached else "")]
    if failed:
        parts.append(f"{failed} failed")
    if stopped:
        remote = sum(was_cancelled_remotely(r) for r in stopped)
        parts.append(f"{len(stopped)} stopped ({remote} cancelled remotely)")
    usd = [r.cost.usd for r in records if r.cost.usd is not None]
    parts.append(format_usd(round(sum(usd), 6)) if usd else "cost unknown")
    if elapsed is not None:
        parts.append(format_elapsed(elapsed))
    return " · ".join(parts)


def _sweep_ref(plan: SweepPlan, cell: SweepCell) -> dict[str, Any]:
    return {"id": plan.id, "x": cell.x_value, "y": cell.y_value, "x_index": cell.x_index, "y_index": cell.y_index}


class SweepRun:
    """One sweep. Iterate ``updates()`` once; ``stop()`` may be called from anywhere."""

    def __init__(
        self,
        plan: SweepPlan,
        runner: Runner,
        route_for: RouteFor,
        *,
        concurrency: Mapping[str, int] | None = None,
        visitor: str = "anonymous",
        media_url: Callable[[str], str] | None = None,
    ) -> None:
        self.plan = plan
        self.runner = runner
        self.visitor = visitor
        self.media_url = media_url
        self.routes: tuple[Route, ...] = tuple(route_for(cell.endpoint) for cell in plan.cells)
        limits = concurrency if concurrency is not None else SweepLimits().concurrency
        providers = {route.provider.name for route in self.routes}
        self.limits = {name: max(1, int(limits.get(name, 1))) for name in providers}
        self.runs: list[Run | None] = [None] * len(plan.cells)
        self._failed_early: dict[int, RunRecord] = {}
        self._stopping: set[int] = set()  # cells unfinished when the sweep was stopped
        self._stop: asyncio.Future[None] | None = None
        self.stop_requested = False  # stop() was called: the sweep ends with what finished, the rest stopped
        self._most_running: dict[str, int] = {}  # per provider: the most cells seen running at once
        self.records: tuple[RunRecord, ...] | None = None
        self.finished = asyncio.Event()
        self._status = [CellStatus(i, c.x_index, c.y_index, "waiting") for i, c in enumerate(plan.cells)]
        self._events: asyncio.Queue[tuple[int, RunUpdate] | None] = asyncio.Queue()
        self._submitted = [asyncio.Event() for _ in plan.cells]  # the cell's request reached its provider (or ended)
        self._tasks: list[asyncio.Task[None]] = []
        self._iterated = False
        self._started = time.monotonic()

    # ---- the cells

    async def _run_cell(self, index: int, slots: asyncio.Semaphore) -> None:
        cell = self.plan.cells[index]
        async with slots:
            try:
                await self._my_turn(index)
                payload = cell.endpoint.build_input(cell.input)
            except ValidationError as exc:  # a plan edited by hand: this cell fails, the others go on
                self._submitted[index].set()
                lines = describe_validation_error(exc, cell.endpoint.input_model)
                fields = tuple((path, rule) for path, _, rule in (line.partition(": ") for line in lines))
                error = RunError("ValidationFailed", "; ".join(lines), fields)
                record = replace(self._not_sent(index), state="failed", error=error)
                self._failed_early[index] = record
                self._events.put_nowait((index, RunUpdate(record.id, "failed", 0.0, record=record)))
                return
            run = self.runner.start(
                cell.endpoint,
                payload,
                self.routes[index],
                visitor=self.visitor,
                media_url=self.media_url,
                sweep=_sweep_ref(self.plan, cell),
            )
            self.runs[index] = run
            try:
                async with contextlib.aclosing(run.updates()) as updates:  # closing it cancels the remote job
                    async for update in updates:
                        if update.state != "preparing":  # queued, running, or served from the cache
                            self._submitted[index].set()
                        self._events.put_nowait((index, update))
            finally:
                self._submitted[index].set()

    async def _my_turn(self, index: int) -> None:
        """Wait (at most ``SUBMIT_TURN_SECONDS``) until the previous cell of the same provider has been submitted.
        Cells take their slots in grid order; without this their submits raced, and the provider ran, say, seed 2
        and 3 while seed 1 waited eleventh in its queue."""
        provider = self.routes[index].provider.name
        before = next((i for i in range(index - 1, -1, -1) if self.routes[i].provider.name == provider), None)
        if before is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SUBMIT_TURN_SECONDS):
                await self._submitted[before].wait()

    def _not_sent(self, index: int) -> RunRecord:
        """The record of a cell stopped before it got a slot: nothing was sent, nothing is owed."""
        cell, route = self.plan.cells[index], self.routes[index]
        estimate = self.runner.estimate(cell.endpoint, cell.input, route)
        return RunRecord(
            id=RunRecord.new_id(),
            endpoint_id=cell.endpoint.id,
            api_name=cell.endpoint.api_name,
            provider=route.provider.name,
            route=route.kind,
            input=dict(cell.input),
            state="stopped",
            cost=self.runner.settle(estimate, "stopped", {}, route.provider.name),
            error=RunError("Stopped", NOT_SENT),
            sweep=_sweep_ref(self.plan, cell),
        )

    # ---- status

    def _apply(self, index: int, update: RunUpdate) -> None:
        status = self._status[index]
        self._status[index] = replace(
            status,
            state=update.state,
            position=update.position if update.state == "queued" else None,
            step=update.step or (status.step if update.state in ("running", "saving") else None),
            eta=update.eta,
            request_id=update.request_id or status.request_id,
            elapsed=update.elapsed,
            record=update.record,
        )

    def _count_running(self) -> None:
        """Remember how many cells each provider really runs at once (it may queue what we send beyond that)."""
        running: dict[str, int] = {}
        for i, status in enumerate(self._status):
            if status.state == "running":
                provider = self.routes[i].provider.name
                running[provider] = running.get(provider, 0) + 1
        for provider, n in running.items():
            self._most_running[provider] = max(self._most_running.get(provider, 0), n)

    def _renumber_waiting(self) -> set[int]:
        """Places in our own line, per provider (asyncio's semaphores wake waiters first come, first served)."""
        changed: set[int] = set()
        places: dict[str, int] = {}
        for i, status in enumerate(self._status):
            if status.state != "waiting":
                continue
            provider = self.routes[i].provider.name
            place = places.get(provider, 0)
            places[provider] = place + 1
            if status.position != place:
                self._status[i] = replace(status, position=place)
                changed.add(i)
        return changed

    def time_left(self) -> float | None:
        """From the finished cells' mean time per provider and how many cells it really ran at once (the most
        seen running together, within our limit); the plan's estimate until a cell finishes. A cell served from the
        result cache takes no job's time: it is left out of the mean, and one still waiting counts for nothing."""
        elapsed = time.monotonic() - self._started
        finished = [s for s in self._status if s.final and s.state == "done" and s.elapsed is not None
                    and not (s.record is not None and s.record.cached)]
        unfinished = [i for i, s in enumerate(self._status) if not s.final and i not in self.plan.cached]
        if not unfinished:
            return 0.0
        if not finished:
            return max(0.0, self.plan.estimated_seconds - elapsed)
        overall = sum(_job_seconds(s) for s in finished) / len(finished)
        longest = 0.0
        for provider, limit in self.limits.items():
            mine = [s for s in finished if self.routes[s.index].provider.name == provider]
            mean = sum(_job_seconds(s) for s in mine) / len(mine) if mine else overall
            left = [i for i in unfinished if self.routes[i].provider.name == provider]
            if left:
                at_once = max(1, min(limit, self._most_running.get(provider) or limit))
                longest = max(longest, math.ceil(len(left) / at_once) * mean)
        return longest

    def _snapshot(self, changed: set[int] | range, records: tuple[RunRecord, ...] | None = None) -> SweepUpdate:
        return SweepUpdate(
            sweep_id=self.plan.id,
            cells=tuple(self._status),
            changed=tuple(sorted(changed)),
            elapsed=time.monotonic() - self._started,
            time_left=0.0 if records is not None else self.time_left(),
            records=records,
        )

    # ---- the stream

    async def updates(self) -> AsyncGenerator[SweepUpdate, None]:
        if self._iterated:
            raise RuntimeError("a sweep's updates can be iterated once")
        self._iterated = True
        self._started = time.monotonic()
        slots = {name: asyncio.Semaphore(limit) for name, limit in self.limits.items()}
        for i, route in enumerate(self.routes):
            task = asyncio.ensure_future(self._run_cell(i, slots[route.provider.name]))
            task.add_done_callback(lambda _: self._events.put_nowait(None))  # wakes the loop when a cell ends
            self._tasks.append(task)
        try:
            self._renumber_waiting()
            yield self._snapshot(range(len(self._status)))
            while not all(task.done() for task in self._tasks) or not self._events.empty():
                changed: set[int] = set()
                item = await self._events.get()
                while True:  # take everything already there: one update per burst, not per log line
                    if item is not None:
                        self._apply(*item)
                        changed.add(item[0])
                    if self._events.empty():
                        break
                    item = self._events.get_nowait()
                changed |= self._renumber_waiting()
                self._count_running()
                if changed and not all(task.done() for task in self._tasks):
                    yield self._snapshot(changed)
        finally:
            await self._cancel_all()
        records = self.records or ()
        yield self._snapshot(range(len(self._status)), records)

    async def _cancel_all(self) -> None:
        """Stop the cells still going, wait for them, then fix the records. Never raises.

        Runs whether the sweep ended, its consumer stopped iterating, or its task was cancelled.
        """
        if any(not task.done() for task in self._tasks):
            with contextlib.suppress(asyncio.CancelledError):  # a second cancel: the stops go on regardless
                await asyncio.shield(self._stopped())
        records: list[RunRecord] = []
        for i, run in enumerate(self.runs):
            record = run.record if run is not None else self._failed_early.get(i)
            if record is None:
                record = self._not_sent(i) if run is None else self._lost(i, run)
            elif i in self._stopping and record.state == "failed" and record.error and record.error.type == "Cancelled":
                # cancelled upstream because we asked (see _stop_cells): that is this sweep's Stop
                record = replace(record, state="stopped", error=RunError("Stopped", STOPPED_REMOTELY))
            records.append(record)
            if not self._status[i].final or self._status[i].record != record:
                self._status[i] = replace(self._status[i], state=record.state, position=None, record=record)
        self.records = tuple(records)
        self.finished.set()

    def _stopped(self) -> asyncio.Future[None]:
        """The one stop of this sweep (started on first call): cells are cancelled once, however many ask."""
        if self._stop is None:
            self._stop = asyncio.ensure_future(self._stop_cells())
        return self._stop

    async def _stop_cells(self) -> None:
        """Cancel every unfinished cell: its task (the Run then cancels its remote job), and, should a task carry
        on after ``STOP_GRACE`` s, its remote job directly.

        A task's cancellation can be lost on its way down (``asyncio.wait_for`` before Python 3.12 drops one that
        arrives as the awaited call completes); that run would otherwise go on unseen. Its job, cancelled
        upstream, then ends the run as ``Cancelled``, which the records show as stopped.
        """
        pending = {task for task in self._tasks if not task.done()}
        self._stopping |= {i for i, task in enumerate(self._tasks) if task in pending}
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=STOP_GRACE) if pending else (set(), set())
        if pending:
            runs = [run for task, run in zip(self._tasks, self.runs, strict=True) if task in pending and run is not None]
            await asyncio.gather(*(run.stop() for run in runs), return_exceptions=True)
            _, pending = await asyncio.wait(pending, timeout=STOP_TIMEOUT)
        if pending:
            log.warning("%d sweep cell(s) did not stop within %.0f s", len(pending), STOP_GRACE + STOP_TIMEOUT)

    def _lost(self, index: int, run: Run) -> RunRecord:
        """A run whose record did not arrive within the stop timeout (its cancel is still on its way)."""
        return replace(self._not_sent(index), id=run.id, error=RunError("Stopped", "Stopped; the cancel was sent."))

    async def stop(self) -> tuple[RunRecord, ...]:
        """Cancel every waiting, queued and running cell (remotely) and return the records, in plan order.

        The cells that finished keep their records; the sweep's ``updates()`` ends as usual with every record."""
        self.stop_requested = True
        if not self._iterated:
            self._iterated = True
            self.records = tuple(self._not_sent(i) for i in range(len(self.plan.cells)))
            self.finished.set()
            return self.records
        await asyncio.shield(self._stopped())
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.finished.wait(), STOP_TIMEOUT)
        return self.records or ()


def start_sweep(
    plan: SweepPlan,
    runner: Runner,
    route_for: RouteFor,
    *,
    concurrency: Mapping[str, int] | None = None,
    visitor: str = "anonymous",
    media_url: Callable[[str], str] | None = None,
) -> SweepRun:
    """A ``SweepRun`` for ``plan``: ``route_for`` picks each cell's route (provider and key) from its endpoint;
    ``concurrency`` is jobs in flight per provider name (default: each provider's ``sweep_concurrency``)."""
    return SweepRun(plan, runner, route_for, concurrency=concurrency, visitor=visitor, media_url=media_url)


async def run_sweep(
    plan: SweepPlan,
    runner: Runner,
    route_for: RouteFor,
    *,
    concurrency: Mapping[str, int] | None = None,
    visitor: str = "anonymous",
    media_url: Callable[[str], str] | None = None,
) -> AsyncIterator[SweepUpdate]:
    """``start_sweep(...).updates()``: sweep updates, the last with every cell's record. Closing it stops the sweep."""
    sweep = start_sweep(plan, runner, route_for, concurrency=concurrency, visitor=visitor, media_url=media_url)
    async with contextlib.aclosing(sweep.updates()) as updates:
        async for update in updates:
            yield update
