"""fal's queue API over the sandbox's jobs (``sandbox/jobs.py``): submit, status, stream, result and cancel, mounted
at ``/fal/queue``; status, result and cancel live under ``owner/alias`` only, as on fal.

A failed job's result answers its failure in fal's shape (``detail``, ``X-Fal-Error-Type``); a start timeout from
``X-Fal-Request-Timeout`` answers 504 with ``X-Fal-Request-Timeout-Type: user``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from endpoints.validation import to_fal_detail
from sandbox.faults import (
    FaultPlan,
    FaultRule,
    FaultSpecError,
    ScopedPlan,
    bad_fault_header,
    find_rule,
)
from sandbox.http import bearer_value, json_response, query_flag, server_base
from sandbox.jobs import Job
from sandbox.sse import PING, EventStreamResponse, StreamDropped
from sandbox.state import SandboxState

logger = logging.getLogger(__name__)

QUEUE_PREFIX = "/fal/queue"


def fal_endpoint(endpoint_id: str) -> EndpointSpec | None:
    """The fal endpoint served at ``endpoint_id``: a seed endpoint or one of the catalog (built from its document)."""
    try:
        spec = get_endpoint(endpoint_id)
    except KeyError:
        return None
    return spec if spec.provider == "fal" and spec.id == endpoint_id else None


@dataclass(eq=False, kw_only=True)
class FalJob(Job):
    """A job as fal's queue API shows it: under ``owner/alias``, with its ``response_url`` and status body."""

    owner_alias: str
    queue_url: str  # {base}/fal/queue, as the client addressed it

    @property
    def response_url(self) -> str:
        return f"{self.queue_url}/{self.owner_alias}/requests/{self.request_id}"

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


def _not_found(request_id: str) -> Response:
    return json_response({"detail": f"Request {request_id!r} not found"}, 404)


def _key_missing() -> Response:
    return json_response({"detail": "Missing or malformed Authorization header: expected 'Key <FAL_KEY>'"}, 401)


def find_job(state: SandboxState, request: Request) -> FalJob | None:
    """The fal job the path names, under its own ``owner/alias`` (not another API's job with that id)."""
    job = state.jobs.jobs.get(request.path_params["request_id"])
    owner_alias = f"{request.path_params['owner']}/{request.path_params['alias']}"
    return job if isinstance(job, FalJob) and job.owner_alias == owner_alias else None


async def guard(state: SandboxState, request: Request, family: str,
                job: FalJob | None) -> tuple[Response | None, list[ScopedPlan]]:
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


async def guard_job(state: SandboxState, request: Request, family: str) -> Response | tuple[FalJob, list[ScopedPlan]]:
    """``guard`` for the routes of one existing job: the refusal, or the job and its fault plans. An unknown
    request id is refused with 404 (after the faults and the key, as fal does)."""
    job = find_job(state, request)
    refused, plans = await guard(state, request, family, job)
    if refused is not None:
        return refused
    if job is None:
        return _not_found(request.path_params["request_id"])
    return job, plans


async def submit(state: SandboxState, request: Request) -> Response:
    """``POST /{owner}/{alias}[/{path}]``: the input checked by the endpoint's model (422 in fal's shape), then
    queued as a ``FalJob``."""
    owner, alias = request.path_params["owner"], request.path_params["alias"]
    sub_path = request.path_params.get("path", "").strip("/")
    endpoint_id = "/".join(part for part in (owner, alias, sub_path) if part)
    refused, plans = await guard(state, request, "submit", None)
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
    position = state.jobs.submit(job, start_timeout)
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


async def status(state: SandboxState, request: Request) -> Response:
    guarded = await guard_job(state, request, "status")
    if isinstance(guarded, Response):
        return guarded
    job, _ = guarded
    state.stats.status_requests += 1
    body = job.status_body(query_flag(request, "logs"), state.jobs.position(job))
    return json_response(body, 200 if job.done else 202)


async def stream(state: SandboxState, request: Request) -> Response:
    guarded = await guard_job(state, request, "stream")
    if isinstance(guarded, Response):
        return guarded
    job, plans = guarded
    state.stats.stream_connections += 1
    events = _status_events(state, job, query_flag(request, "logs"), find_rule(plans, "drop_stream"))
    return EventStreamResponse(events, headers={"x-fal-request-id": job.request_id})


async def result(state: SandboxState, request: Request) -> Response:
    guarded = await guard_job(state, request, "result")
    if isinstance(guarded, Response):
        return guarded
    job, _ = guarded
    state.stats.result_requests += 1
    headers = {"x-fal-request-id": job.request_id}
    if not job.done:
        return json_response({"detail": "Request is still in progress"}, 400, headers)
    if job.failure:
        fal_headers = {"X-Fal-Error-Type": job.failure.error_type}
        if job.failure.error_type == "request_timeout":
            fal_headers["X-Fal-Request-Timeout-Type"] = "user"  # the start timeout the caller asked for
        return json_response(job.failure.body, job.failure.status_code,
                             {**headers, **fal_headers, **job.failure.headers})
    return json_response(job.output, 200, headers)


async def cancel(state: SandboxState, request: Request) -> Response:
    job = find_job(state, request)
    refused, _ = await guard(state, request, "cancel", job)
    if refused:
        return refused
    request_id = request.path_params["request_id"]
    if job is None:
        outcome, code, before = "NOT_FOUND", 404, None
    elif job.done:
        outcome, code, before = "ALREADY_COMPLETED", 400, job.status
    else:
        outcome, code, before = "CANCELLATION_REQUESTED", 202, job.status
        state.jobs.cancel(job)
    state.stats.cancels.append({"request_id": request_id, "outcome": outcome, "state": before or "UNKNOWN"})
    return json_response({"status": outcome}, code)


def fal_queue_routes(state: SandboxState) -> list[Route]:
    """The queue's routes over ``state`` (its job store, faults and stats), to mount at ``QUEUE_PREFIX``."""
    requests_path = "/{owner}/{alias}/requests/{request_id}"
    return [
        Route(f"{requests_path}/status", partial(status, state), methods=["GET"]),
        Route(f"{requests_path}/status/stream", partial(stream, state), methods=["GET"]),
        Route(f"{requests_path}/cancel", partial(cancel, state), methods=["PUT"]),
        Route(requests_path, partial(result, state), methods=["GET"]),
        Route("/{owner}/{alias}", partial(submit, state), methods=["POST"]),
        Route("/{owner}/{alias}/{path:path}", partial(submit, state), methods=["POST"]),
    ]


async def _status_events(
    state: SandboxState, job: FalJob, with_logs: bool, drop: FaultRule | None
) -> AsyncGenerator[Any, None]:
    """Status bodies as they change (position, new log line, completion); a PING after each quiet interval."""
    state.stats.open_streams += 1
    try:
        sent = 0
        last: dict[str, Any] | None = None
        while True:
            changed = job.change_event()
            body = job.status_body(with_logs, state.jobs.position(job))
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
