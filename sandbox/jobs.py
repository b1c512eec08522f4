"""The sandbox's job lifecycle, whatever the wire protocol: a job store, a pool of ``capacity`` runners, and each
job's states (queued, running with log lines, completed with an output or a failure).

Jobs beyond capacity wait ``IN_QUEUE``; their queue position is the number of jobs ahead (0-based). A running job
logs one or two start-up lines, then one line per inference step, one every ``step_seconds``, and finally renders
synthetic images (sandbox/renderer.py) into the in-memory CDN. The protocols' routes (``fal_queue.py``, ``bfl.py``)
submit jobs here and answer from their state in their own wire format.

A failed job ends ``COMPLETED`` with a ``JobFailure`` (status code, error type, body), which the routes answer:

    cancelled                                       499  client_cancelled
    fault ``fail``, or a sandbox bug                500  runner_server_error
    unreadable input image                          422  validation_error, body {"detail": [{loc, msg, type}]}
    start timeout passed while queued               504  request_timeout
    server shutdown or /_sandbox/reset              503  runner_disconnected
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from endpoints.base import EndpointSpec, WireModel
from sandbox.faults import (
    FaultInjector,
    FaultPlan,
    ScopedPlan,
    find_rule,
)
from sandbox.generation import GeneratedImage, prepare_generation, render_images
from sandbox.image_inputs import ImageLoadError, ImageResolver
from sandbox.options import SandboxOptions
from sandbox.stats import SandboxStats
from sandbox.storage import Storage, file_url

logger = logging.getLogger(__name__)

MAX_KEPT_JOBS = 2000  # oldest finished jobs are forgotten beyond this
MAX_INPUT_SIDE = 1024  # input images are scaled down to this long side before use
JobStatus = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]


def log_entry(message: str, level: str = "INFO") -> dict[str, str]:
    return {"message": message, "level": level, "source": "USER", "timestamp": datetime.now(UTC).isoformat()}


@dataclass(frozen=True)
class JobFailure:
    """How a failed job answers its result fetch."""

    error: str
    error_type: str
    status_code: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class InjectedFailure(Exception):
    pass


@dataclass(eq=False)
class Job:
    request_id: str
    spec: EndpointSpec
    payload: WireModel
    base_url: str  # the sandbox as the client addressed it: where its images are served
    faults: FaultPlan
    raw_base64_images: bool = False  # image fields may hold plain base64 (BFL's wire form), not only URLs
    status: JobStatus = "IN_QUEUE"
    logs: list[dict[str, str]] = field(default_factory=list)
    output: dict[str, Any] | None = None
    failure: JobFailure | None = None
    started_at: float | None = None
    finished_at: float | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def fault_scope(self) -> ScopedPlan:
        return (f"job:{self.request_id}", self.faults)

    @property
    def done(self) -> bool:
        return self.status == "COMPLETED"

    def touch(self) -> None:
        """Wake everything waiting for this job to change."""
        self._changed.set()
        self._changed = asyncio.Event()

    def change_event(self) -> asyncio.Event:
        return self._changed

    def log(self, message: str, level: str = "INFO") -> None:
        self.logs.append(log_entry(message, level))
        self.touch()

    def start(self) -> None:
        self.status = "IN_PROGRESS"
        self.started_at = time.monotonic()
        self.log(f"Runner assigned to {self.spec.id} (sandbox: synthetic images, no model)")

    def complete(self, output: dict[str, Any] | None = None, failure: JobFailure | None = None) -> None:
        if self.done:
            return
        self.status = "COMPLETED"
        self.finished_at = time.monotonic()
        self.output, self.failure = output, failure
        if failure and failure.error_type == "client_cancelled":  # the visitor's own Stop: not an error
            self.logs.append(log_entry("Cancelled at the client's request", "INFO"))
        elif failure:
            self.logs.append(log_entry(failure.error, "ERROR"))
        self.touch()

    def fail(self, error: str, error_type: str, status_code: int, headers: dict[str, str] | None = None) -> None:
        body = {"detail": error, "error_type": error_type}
        self.complete(failure=JobFailure(error, error_type, status_code, body, dict(headers or {})))


class JobHost(Protocol):
    """What the runner reads from the server it runs in (``SandboxState``), each time it needs it: ``stats`` is
    replaced on a reset."""

    options: SandboxOptions
    storage: Storage
    stats: SandboxStats
    faults: FaultInjector
    decode_slots: asyncio.Semaphore
    closing: asyncio.Event


class JobRunner:
    """Job store and runner pool. Everything runs on the server's event loop."""

    def __init__(self, state: JobHost) -> None:
        self._state = state
        self.jobs: dict[str, Job] = {}
        self.waiting: list[Job] = []
        self.running: dict[str, asyncio.Task[None]] = {}

    def position(self, job: Job) -> int:
        return self.waiting.index(job) if job in self.waiting else 0

    def counts(self) -> dict[str, int]:
        counts = {"IN_QUEUE": 0, "IN_PROGRESS": 0, "COMPLETED": 0}
        for job in self.jobs.values():
            counts[job.status] += 1
        return counts

    def submit(self, job: Job, start_timeout: float | None = None) -> int:
        """Queue the job and start runners; returns its queue position at submission."""
        self._forget_old_jobs()
        self.jobs[job.request_id] = job
        self.waiting.append(job)
        position = len(self.waiting) - 1
        if start_timeout is not None:
            asyncio.get_running_loop().call_later(start_timeout, self._expire_unstarted, job)
        self._dispatch()
        return position

    def cancel(self, job: Job) -> None:
        job.fail("cancelled", "client_cancelled", 499)
        if job in self.waiting:
            self._leave_queue(job)
        elif task := self.running.get(job.request_id):
            task.cancel()

    def wake_all(self) -> None:
        for job in self.jobs.values():
            job.touch()

    async def stop(self, reason: str = "The sandbox shut down") -> None:
        """End every unfinished job (server shutdown or reset)."""
        for job in list(self.waiting) + [self.jobs[i] for i in self.running if i in self.jobs]:
            job.fail(reason, "runner_disconnected", 503)
        self.waiting.clear()
        tasks = list(self.running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.running.clear()

    def _forget_old_jobs(self) -> None:
        if len(self.jobs) < MAX_KEPT_JOBS:
            return
        for request_id in [i for i, job in self.jobs.items() if job.done][: MAX_KEPT_JOBS // 4]:
            del self.jobs[request_id]

    def _leave_queue(self, job: Job) -> None:
        index = self.waiting.index(job)
        self.waiting.remove(job)
        for behind in self.waiting[index:]:
            behind.touch()

    def _expire_unstarted(self, job: Job) -> None:
        if job.status == "IN_QUEUE" and job in self.waiting:
            job.fail("Request timed out before processing started", "request_timeout", 504)
            self._leave_queue(job)

    def _dispatch(self) -> None:
        moved = False
        while self.waiting and len(self.running) < self._state.options.capacity:
            job = self.waiting.pop(0)
            job.start()
            task = asyncio.get_running_loop().create_task(self._run(job))
            self.running[job.request_id] = task
            # Freed by a done callback, not by ``_run``'s ``finally``: a task cancelled before its first step (a
            # cancel arriving in the same loop tick as the dispatch) never runs its coroutine at all.
            task.add_done_callback(functools.partial(self._runner_done, job))
            moved = True
        if moved:
            for job in self.waiting:
                job.touch()

    async def _run(self, job: Job) -> None:
        try:
            await self._execute(job)
        except asyncio.CancelledError:
            job.fail("cancelled", "client_cancelled", 499)
        except InjectedFailure:
            job.fail("Runner crashed while generating (sandbox fault injection)", "runner_server_error", 500)
        except ImageLoadError as exc:
            failure = JobFailure(str(exc), "validation_error", 422, {"detail": exc.detail()})
            job.complete(failure=failure)
        except Exception as exc:
            logger.exception("sandbox job %s failed", job.request_id)
            job.fail(f"Sandbox runner error: {type(exc).__name__}: {exc}", "runner_server_error", 500)

    def _runner_done(self, job: Job, task: asyncio.Task[None]) -> None:
        if task.cancelled() and not job.done:  # cancelled before it started: ``_run`` never ran
            job.fail("cancelled", "client_cancelled", 499)
        if self.running.get(job.request_id) is task:
            del self.running[job.request_id]
        if not self._state.closing.is_set():
            self._dispatch()

    async def _execute(self, job: Job) -> None:
        options = self._state.options
        await asyncio.sleep(options.startup_seconds)
        resolver = ImageResolver(
            self._state.storage.files, job.base_url, MAX_INPUT_SIDE, self._state.decode_slots
        )
        prepared = await prepare_generation(job.spec, job.payload, resolver, options.max_render_side,
                                            allow_raw_base64=job.raw_base64_images)
        plan = prepared.plan
        for note in prepared.notes:
            job.log(note, "WARN")
        job.log(f"Model ready (simulated): {plan.steps} steps, {plan.num_images} image(s), seed {plan.seed}")
        job.log(prepared.summary)
        fail_rule = find_rule([("server", self._state.faults.server_plan), job.fault_scope], "fail")
        fail_at = min(fail_rule.count, plan.steps) if fail_rule else None
        if fail_at == 0:
            raise InjectedFailure
        for step in range(1, plan.steps + 1):
            await asyncio.sleep(options.step_seconds)
            job.log(f"Step {step}/{plan.steps}")
            if step == fail_at:
                self._state.stats.record_fault("job", "fail")
                raise InjectedFailure
        images = await render_images(prepared)
        job.complete(output=self._output(job, plan.seed, plan.prompt, plan.sync_mode, images))

    def _output(
        self, job: Job, seed: int, prompt: str, inline: bool, images: list[GeneratedImage]
    ) -> dict[str, Any]:
        described = []
        for index, image in enumerate(images):
            extension = "png" if image.content_type == "image/png" else "jpg"
            if inline:
                url = f"data:{image.content_type};base64,{base64.b64encode(image.data).decode()}"
            else:
                name = f"{job.request_id}_{index}.{extension}"
                self._state.storage.files.put(name, image.data, image.content_type)
                url = file_url(job.base_url, name)
            described.append(
                {"url": url, "width": image.width, "height": image.height, "content_type": image.content_type}
            )
        return {
            "images": described,
            "timings": {"inference": round(time.monotonic() - (job.started_at or time.monotonic()), 4)},
            "seed": seed,
            "has_nsfw_concepts": [image.flagged for image in images],
            "prompt": prompt,
        }


