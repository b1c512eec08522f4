"""fal's queue API: a job store, a pool of ``capacity`` runners, and the submit/status/stream/result/cancel routes.

Jobs beyond capacity wait ``IN_QUEUE``; their ``queue_position`` is the number of requests ahead (0-based).
A running job logs one or two start-up lines, then one line per inference step, one every ``step_seconds``,
and finally renders synthetic images (sandbox/renderer.py) into the in-memory CDN.
Routes are mounted at ``/fal/queue``; status, result and cancel live under ``owner/alias`` only.

A failed job ends ``COMPLETED`` with ``error`` and ``error_type``; fetching its result answers the failure:

    cancelled (PUT .../cancel)                      499  client_cancelled
    fault ``fail``, or a sandbox bug                500  runner_server_error
    unreadable input image (bad data URI, not an
      image, too large, a missing sandbox file)    422  validation_error, body {"detail": [{loc, msg, type}]}
    ``X-Fal-Request-Timeout`` passed while queued   504  request_timeout (+ X-Fal-Request-Timeout-Type: user)
    server shutdown or /_sandbox/reset              503  runner_disconnected
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from endpoints import get_endpoint
from endpoints.base import EndpointSpec, WireModel
from endpoints.validation import to_fal_detail
from sandbox.faults import (
    FaultPlan,
    FaultRule,
    FaultSpecError,
    ScopedPlan,
    bad_fault_header,
    find_rule,
)
from sandbox.generation import GeneratedImage, prepare_generation, render_images
from sandbox.http import bearer_value, json_response, query_flag, server_base
from sandbox.image_inputs import ImageLoadError, ImageResolver
from sandbox.sse import PING, EventStreamResponse, StreamDropped
from sandbox.storage import file_url

if TYPE_CHECKING:
    from sandbox.state import SandboxState

logger = logging.getLogger(__name__)

QUEUE_PREFIX = "/fal/queue"
MAX_INPUT_SIDE = 1024  # input images are scaled down to this long side before use
MAX_KEPT_JOBS = 2000  # oldest finished jobs are forgotten beyond this
JobStatus = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]


def fal_endpoint(endpoint_id: str) -> EndpointSpec | None:
    """The fal endpoint served at ``endpoint_id``: a seed endpoint or one of the catalog (built from its document)."""
    try:
        spec = get_endpoint(endpoint_id)
    except KeyError:
        return None
    return spec if spec.provider == "fal" and spec.id == endpoint_id else None


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
class FalJob:
    request_id: str
    spec: EndpointSpec
    payload: WireModel
    owner_alias: str
    queue_url: str  # {base}/fal/queue, as the client addressed it
    base_url: str
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
    def response_url(self) -> str:
        return f"{self.queue_url}/{self.owner_alias}/requests/{self.request_id}"

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
        if failure:
            self.logs.append(log_entry(failure.error, "ERROR"))
        self.touch()

    def fail(self, error: str, error_type: str, status_code: int, headers: dict[str, str] | None = None) -> None:
        body = {"detail": error, "error_type": error_type}
        self.complete(
            failure=JobFailure(
                error, error_type, status_code, body, {"X-Fal-Error-Type": error_type, **(headers or {})}
            )
        )

    def status_body(self, with_logs: bool, queue_position: int) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "request_id": self.request_id, "response_url": self.response_url}
        if self.status == "IN_QUEUE":
            body["queue_position"] = queue_position
            return body
        body["logs"] = list(self.logs) if with_logs else None
        if self.status == "COMPLETED":
            ran = (self.finished_at or 0) - self.started_at if self.started_at is not None else 0.0
            body["metrics"] = {"inference_time": round(ran, 4)}
            if self.failure:
                body["error"] = self.failure.error
                body["error_type"] = self.failure.error_type
        return body


class FalQueue:
    """Job store and runner pool. Everything runs on the server's event loop."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.jobs: dict[str, FalJob] = {}
        self.waiting: list[FalJob] = []
        self.running: dict[str, asyncio.Task[None]] = {}

    def position(self, job: FalJob) -> int:
        return self.waiting.index(job) if job in self.waiting else 0

    def counts(self) -> dict[str, int]:
        counts = {"IN_QUEUE": 0, "IN_PROGRESS": 0, "COMPLETED": 0}
        for job in self.jobs.values():
            counts[job.status] += 1
        return counts

    def submit(self, job: FalJob, start_timeout: float | None = None) -> int:
        """Queue the job and start runners; returns its queue position at submission."""
        self._forget_old_jobs()
        self.jobs[job.request_id] = job
        self.waiting.append(job)
        position = len(self.waiting) - 1
        if start_timeout is not None:
            asyncio.get_running_loop().call_later(start_timeout, self._expire_unstarted, job)
        self._dispatch()
        return position

    def cancel(self, job: FalJob) -> None:
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

    def _leave_queue(self, job: FalJob) -> None:
        index = self.waiting.index(job)
        self.waiting.remove(job)
        for behind in self.waiting[index:]:
            behind.touch()

    def _expire_unstarted(self, job: FalJob) -> None:
        if job.status == "IN_QUEUE" and job in self.waiting:
            job.fail(
                "Request timed out before processing started",
                "request_timeout",
                504,
                {"X-Fal-Request-Timeout-Type": "user"},
            )
            self._leave_queue(job)

    def _dispatch(self) -> None:
        moved = False
        while self.waiting and len(self.running) < self._state.options.capacity:
            job = self.waiting.pop(0)
            job.start()
            self.running[job.request_id] = asyncio.get_running_loop().create_task(self._run(job))
            moved = True
        if moved:
            for job in self.waiting:
                job.touch()

    async def _run(self, job: FalJob) -> None:
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
        finally:
            self.running.pop(job.request_id, None)
            if not self._state.closing.is_set():
                self._dispatch()

    async def _execute(self, job: FalJob) -> None:
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
        self, job: FalJob, seed: int, prompt: str, inline: bool, images: list[GeneratedImage]
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


def _not_found(request_id: str) -> Response:
    return json_response({"detail": f"Request {request_id!r} not found"}, 404)


def _key_missing() -> Response:
    return json_response({"detail": "Missing or malformed Authorization header: expected 'Key <FAL_KEY>'"}, 401)


def fal_queue_routes(state: SandboxState) -> list[Route]:
    queue = state.fal

    def find_job(request: Request) -> FalJob | None:
        job = queue.jobs.get(request.path_params["request_id"])
        owner_alias = f"{request.path_params['owner']}/{request.path_params['alias']}"
        return job if job is not None and job.owner_alias == owner_alias else None

    async def guard(request: Request, family: str, job: FalJob | None) -> tuple[Response | None, list[ScopedPlan]]:
        """Faults first (they stand for the infrastructure in front), then the key."""
        try:
            plans = state.faults.plans(request, job.fault_scope if job else None)
        except FaultSpecError as exc:
            return bad_fault_header(exc, family), []
        if fault := await state.faults.before(family, plans):
            return fault, plans
        if not bearer_value(request, "Key"):
            return _key_missing(), plans
        return None, plans

    async def guard_job(request: Request, family: str) -> tuple[Response | None, FalJob, list[ScopedPlan]]:
        """``guard`` for the routes of one existing job; an unknown request id is refused with 404."""
        job = find_job(request)
        refused, plans = await guard(request, family, job)
        if refused is None and job is None:
            refused = _not_found(request.path_params["request_id"])
        return refused, job, plans  # type: ignore[return-value]  # job is set whenever refused is None

    async def submit(request: Request) -> Response:
        owner, alias = request.path_params["owner"], request.path_params["alias"]
        sub_path = request.path_params.get("path", "").strip("/")
        endpoint_id = "/".join(part for part in (owner, alias, sub_path) if part)
        refused, plans = await guard(request, "submit", None)
        if refused:
            return refused
        job_faults = plans[-1][1] if len(plans) > 1 else FaultPlan()  # the header's plan goes with the job
        spec = fal_endpoint(endpoint_id)
        if spec is None:
            return json_response({"detail": f"Endpoint {endpoint_id!r} is not served by the sandbox"}, 404)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return json_response(
                {"detail": [{"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]}, 422
            )
        try:
            payload = spec.input_model.model_validate(body)
        except ValidationError as exc:
            return json_response({"detail": to_fal_detail(exc)}, 422)
        try:
            start_timeout = float(request.headers["x-fal-request-timeout"])
        except (KeyError, ValueError):
            start_timeout = None
        base = server_base(request)
        job = FalJob(
            request_id=str(uuid.uuid4()),
            spec=spec,
            payload=payload,
            owner_alias=f"{owner}/{alias}",
            queue_url=f"{base}{QUEUE_PREFIX}",
            base_url=base,
            faults=job_faults,
        )
        state.stats.submits[spec.id] += 1
        position = queue.submit(job, start_timeout)
        return json_response(
            {
                "request_id": job.request_id,
                "response_url": job.response_url,
                "status_url": f"{job.response_url}/status",
                "cancel_url": f"{job.response_url}/cancel",
                "status": "IN_QUEUE",
                "queue_position": position,
            },
            headers={"x-fal-request-id": job.request_id},
        )

    async def status(request: Request) -> Response:
        refused, job, _ = await guard_job(request, "status")
        if refused:
            return refused
        state.stats.status_requests += 1
        body = job.status_body(query_flag(request, "logs"), queue.position(job))
        return json_response(body, 200 if job.done else 202)

    async def stream(request: Request) -> Response:
        refused, job, plans = await guard_job(request, "stream")
        if refused:
            return refused
        state.stats.stream_connections += 1
        events = _status_events(state, job, query_flag(request, "logs"), find_rule(plans, "drop_stream"))
        return EventStreamResponse(events, headers={"x-fal-request-id": job.request_id})

    async def result(request: Request) -> Response:
        refused, job, _ = await guard_job(request, "result")
        if refused:
            return refused
        state.stats.result_requests += 1
        headers = {"x-fal-request-id": job.request_id}
        if not job.done:
            return json_response({"detail": "Request is still in progress"}, 400, headers)
        if job.failure:
            return json_response(job.failure.body, job.failure.status_code, {**headers, **job.failure.headers})
        return json_response(job.output, 200, headers)

    async def cancel(request: Request) -> Response:
        job = find_job(request)
        refused, _ = await guard(request, "cancel", job)
        if refused:
            return refused
        request_id = request.path_params["request_id"]
        if job is None:
            outcome, code, before = "NOT_FOUND", 404, None
        elif job.done:
            outcome, code, before = "ALREADY_COMPLETED", 400, job.status
        else:
            outcome, code, before = "CANCELLATION_REQUESTED", 202, job.status
            queue.cancel(job)
        state.stats.cancels.append({"request_id": request_id, "outcome": outcome, "state": before or "UNKNOWN"})
        return json_response({"status": outcome}, code)

    requests_path = "/{owner}/{alias}/requests/{request_id}"
    return [
        Route(f"{requests_path}/status", status, methods=["GET"]),
        Route(f"{requests_path}/status/stream", stream, methods=["GET"]),
        Route(f"{requests_path}/cancel", cancel, methods=["PUT"]),
        Route(requests_path, result, methods=["GET"]),
        Route("/{owner}/{alias}", submit, methods=["POST"]),
        Route("/{owner}/{alias}/{path:path}", submit, methods=["POST"]),
    ]


async def _status_events(
    state: SandboxState, job: FalJob, with_logs: bool, drop: FaultRule | None
) -> AsyncIterator[Any]:
    """Status bodies as they change (position, new log line, completion); a PING after each quiet interval."""
    state.stats.open_streams += 1
    try:
        sent = 0
        last: dict[str, Any] | None = None
        while True:
            changed = job.change_event()
            body = job.status_body(with_logs, state.fal.position(job))
            if body != last:
                yield body
                last, sent = body, sent + 1
                if job.done:
                    return
                if drop is not None and sent >= drop.count:
                    state.faults.record("stream", drop)
                    raise StreamDropped
            if state.closing.is_set():
                return
            try:
                await asyncio.wait_for(changed.wait(), timeout=state.options.keepalive_seconds)
            except TimeoutError:
                yield PING
    finally:
        state.stats.open_streams -= 1
