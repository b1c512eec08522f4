"""The sandbox's runner pool (``sandbox/jobs.py``) on its own: every job gives its runner back, however it ends."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

from endpoints import get_endpoint
from sandbox.faults import FaultPlan
from sandbox.jobs import Job
from sandbox.state import SandboxState
from tests.sandbox.support import FAST, FLUX_PRO, t2i


def new_job(spec_id: str = FLUX_PRO) -> Job:
    spec = get_endpoint(spec_id)
    return Job(request_id=str(uuid.uuid4()), spec=spec, payload=spec.input_model.model_validate(t2i()),
               base_url="http://127.0.0.1:1", faults=FaultPlan())


async def wait_done(job: Job, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not job.done:
            await job.change_event().wait()


async def runners_given_back(state: SandboxState, timeout: float = 2.0) -> None:
    """Until every runner is free (a task's done callbacks run a loop tick after it ends); fails after ``timeout``."""
    async with asyncio.timeout(timeout):
        while state.jobs.running:
            await asyncio.sleep(0.001)


async def test_a_job_cancelled_in_the_tick_it_was_dispatched_gives_its_runner_back():
    """A Stop cancels many jobs at once: one may be cancelled right after a finished job's runner dispatched it,
    before its task ran a step. That task never runs its coroutine; the runner was leaked, and with ``capacity``
    runners leaked every later job waited IN_QUEUE for ever (a sweep stopped half-way stalled the next ones)."""
    state = SandboxState(dataclasses.replace(FAST, capacity=1))
    first = new_job()
    state.jobs.submit(first)  # dispatched: its task is created, not yet started
    state.jobs.cancel(first)
    await runners_given_back(state)
    assert first.done and first.failure is not None and first.failure.error_type == "client_cancelled"
    second = new_job()
    state.jobs.submit(second)
    await wait_done(second)
    assert second.output is not None and second.failure is None
    await state.aclose()


async def test_runners_are_given_back_after_done_failed_and_cancelled_jobs():
    state = SandboxState(dataclasses.replace(FAST, capacity=2))
    jobs = [new_job() for _ in range(5)]
    for job in jobs:
        state.jobs.submit(job)
    await asyncio.sleep(0.02)  # two running, three waiting
    state.jobs.cancel(jobs[0])  # running
    state.jobs.cancel(jobs[3])  # waiting
    for job in jobs:
        await wait_done(job)
    assert [job.failure is None for job in jobs] == [False, True, True, False, True]
    await runners_given_back(state)
    assert state.jobs.waiting == []
    await state.aclose()


async def test_a_cancelled_job_logs_the_cancel_as_information_and_a_failed_one_its_error():
    """The visitor's own Stop shows in the provider logs as what it is, not as an ``ERROR`` line."""
    state = SandboxState(dataclasses.replace(FAST, capacity=1))
    cancelled = new_job()
    state.jobs.submit(cancelled)
    await asyncio.sleep(0.02)  # running
    state.jobs.cancel(cancelled)
    await wait_done(cancelled)
    assert cancelled.logs[-1]["level"] == "INFO" and "Cancelled" in cancelled.logs[-1]["message"]
    failed = new_job()
    failed.fail("Runner crashed", "runner_server_error", 500)
    assert failed.logs[-1]["level"] == "ERROR" and failed.logs[-1]["message"] == "Runner crashed"
    await state.aclose()
