"""Page updates are coalesced: a few a second, every log line kept, each state change and the end at once."""

from __future__ import annotations

import asyncio

from components.endpoint_run import SETTLE_SECONDS, coalesced
from providers.base import LogLine
from runs.progress import Step
from runs.record import RunRecord
from runs.runner import RunUpdate


class FakeRun:
    def __init__(self, updates: list[tuple[float, RunUpdate]]) -> None:
        self._updates = updates
        self.job = object()

    def elapsed(self) -> float:
        return 0.0

    async def updates(self):
        for delay, update in self._updates:
            await asyncio.sleep(delay)
            yield update


def record() -> RunRecord:
    return RunRecord(id="r", endpoint_id="fal-ai/flux-pro", api_name="flux_pro", provider="fal", route="sandbox",
                     input={}, state="done")


async def test_many_log_lines_become_a_few_updates_with_every_line_kept():
    stream = [(0.0, RunUpdate("r", "preparing", 0.0)), (0.0, RunUpdate("r", "queued", 0.0))]
    stream += [(0.02, RunUpdate("r", "running", 0.1, new_logs=(LogLine(f"Step {i}/40"),))) for i in range(1, 41)]
    stream += [(0.0, RunUpdate("r", "done", 1.0, record=record()))]
    async with asyncio.timeout(10):
        sent = [u async for u in coalesced(FakeRun(stream))]
    lines = [line.message for u in sent for line in u.new_logs]
    assert lines == [f"Step {i}/40" for i in range(1, 41)]
    # "preparing" and "queued" passed within milliseconds: the first update already says "running"
    assert sent[0].state == "running" and sent[-1].record is not None
    assert len(sent) <= 10, len(sent)  # 40 provider events over ~0.8 s: about 4 a second, not 40


async def test_a_run_waiting_in_the_queue_shows_it_and_one_that_starts_at_once_skips_it():
    waiting = [(0.0, RunUpdate("r", "preparing", 0.0)), (0.0, RunUpdate("r", "queued", 0.0)),
               (0.0, RunUpdate("r", "queued", 0.1, position=3)), (1.2, RunUpdate("r", "running", 1.2)),
               (0.3, RunUpdate("r", "done", 1.5, record=record()))]
    async with asyncio.timeout(10):
        sent = [u async for u in coalesced(FakeRun(waiting))]
    assert [u.state for u in sent] == ["queued", "running", "done"]
    assert sent[0].position == 3, "the queue position is what a waiting visitor wants to see"
    started = [(0.0, RunUpdate("r", "preparing", 0.0)), (0.0, RunUpdate("r", "queued", 0.0)),
               (0.05, RunUpdate("r", "running", 0.05)), (0.3, RunUpdate("r", "done", 0.35, record=record()))]
    async with asyncio.timeout(10):
        sent = [u async for u in coalesced(FakeRun(started))]
    assert [u.state for u in sent] == ["running", "done"]


async def test_the_first_log_lines_go_before_the_end_even_when_the_run_ends_within_the_update_interval():
    stream = [(0.0, RunUpdate("r", "queued", 0.0)), (0.0, RunUpdate("r", "running", 0.0))]
    stream += [(0.0, RunUpdate("r", "running", 0.0, new_logs=(LogLine("Runner assigned"),)))]
    stream += [(0.03, RunUpdate("r", "running", 0.1, new_logs=(LogLine(f"Step {i}/10"),), step=Step(i, 10)))
               for i in range(1, 11)]
    stream += [(0.0, RunUpdate("r", "done", 0.2, record=record()))]
    async with asyncio.timeout(10):
        sent = [u async for u in coalesced(FakeRun(stream))]
    first_log = next(i for i, u in enumerate(sent) if u.new_logs)
    first_step = next(i for i, u in enumerate(sent) if u.step is not None)
    assert sent[first_log].new_logs[0].message == "Runner assigned" and sent[first_log].record is None
    assert sent[first_step].step is not None and sent[first_step].step.index < 10 and sent[first_step].record is None
    assert [line.message for u in sent for line in u.new_logs] == ["Runner assigned"] + [f"Step {i}/10" for i in range(1, 11)]
    assert len(sent) <= 6, len(sent)


async def test_a_state_change_and_what_follows_within_the_settle_window_are_one_update_sent_within_it():
    """"running", the first log lines and the first step come from the provider within milliseconds: one update
    says all three, sent within SETTLE_SECONDS of the change rather than at the next MIN_UPDATE_SECONDS tick."""
    loop = asyncio.get_running_loop()
    produced: dict[str, float] = {}

    class TimedRun(FakeRun):
        async def updates(self):
            async for update in super().updates():
                produced.setdefault(update.state, loop.time())
                yield update

    stream = [(0.0, RunUpdate("r", "preparing", 0.0)), (0.0, RunUpdate("r", "queued", 0.0)),
              (0.05, RunUpdate("r", "running", 0.05)),
              (0.005, RunUpdate("r", "running", 0.05, new_logs=(LogLine("Runner assigned"),))),
              (0.03, RunUpdate("r", "running", 0.1, new_logs=(LogLine("Step 1/10"),), step=Step(1, 10))),
              (0.8, RunUpdate("r", "done", 1.0, record=record()))]
    sent: list[tuple[float, RunUpdate]] = []
    async with asyncio.timeout(10):
        async for update in coalesced(TimedRun(stream)):
            sent.append((loop.time(), update))
    assert [u.state for _, u in sent] == ["running", "done"]
    at, started = sent[0]
    assert [line.message for line in started.new_logs] == ["Runner assigned", "Step 1/10"]
    assert started.step == Step(1, 10)
    # Settled 0.1 s after the change; without the window it would wait for the 0.5 s tick, 0.45 s after it.
    assert at - produced["running"] < SETTLE_SECONDS + 0.2, f"sent {at - produced['running']:.3f} s after the change"


async def test_a_run_that_lingers_while_preparing_shows_it_at_the_first_tick():
    """Uploads of a large input can keep a run preparing for seconds: the page says so after MIN_UPDATE_SECONDS."""
    stream = [(0.0, RunUpdate("r", "preparing", 0.0)), (1.0, RunUpdate("r", "queued", 1.0)),
              (0.0, RunUpdate("r", "running", 1.0)), (0.3, RunUpdate("r", "done", 1.3, record=record()))]
    async with asyncio.timeout(10):
        sent = [u async for u in coalesced(FakeRun(stream))]
    assert [u.state for u in sent] == ["preparing", "running", "done"]


async def test_the_elapsed_time_tick_repeats_what_was_shown_and_never_says_running_too_early():
    """A run waiting in the provider's queue gets a queue event only when its position changes: the ticks that
    move the elapsed time on keep saying "queued" at that position (the run has a job, but is not running)."""
    stream = [(0.0, RunUpdate("r", "preparing", 0.0)), (0.0, RunUpdate("r", "queued", 0.0)),
              (0.05, RunUpdate("r", "queued", 0.05, position=3)), (2.6, RunUpdate("r", "running", 2.6)),
              (0.3, RunUpdate("r", "done", 2.9, record=record()))]
    async with asyncio.timeout(10):
        sent = [u async for u in coalesced(FakeRun(stream))]
    before = sent[:[u.state for u in sent].index("running")]
    assert len(before) >= 3, [u.state for u in sent]  # the first tick-free update and at least two ticks
    assert all(u.state == "queued" and u.position == 3 for u in before), [(u.state, u.position) for u in before]
