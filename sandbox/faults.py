"""Fault injection: make chosen routes fail, stall or misbehave, per server or per request.

Grammar (the ``X-Sandbox-Fault`` header and ``SandboxOptions.faults`` use the same one)::

    spec   := rule ("," rule)*
    rule   := [family "="] kind [":" arg]
    family := submit | status | stream | result | cancel | upload | file | segmind | pricing | bfl | poll

    status_<code>[:N]  the first N calls (default 1) answer HTTP <code> (400..599) with a fal-shaped body
                       ``{"detail", "error_type"?}`` (Segmind: ``{"error"}``). 429 adds ``Retry-After: 0``;
                       502/503/504 add ``X-Fal-Retryable: true``; 503 is ``runner_scheduling_failure``.
    slow:<seconds>     delay the response
    hang               never answer (until the server shuts down), for client timeout tests
    drop_stream[:N]    status stream only: cut the connection after N events (default 1), before COMPLETED
    no_stream[:code]   status stream only: the stream route answers <code> (404 default), so clients must poll
    fail[:K]           the job fails after K steps (default 1): it ends COMPLETED with ``error`` and
                       ``error_type: runner_server_error``; fetching its result answers 500

A rule without a family applies to every family (``status_*``, ``slow``, ``hang``), to the stream
(``drop_stream``, ``no_stream``) or to the job (``fail``). Families: ``upload`` covers the storage token, both
upload flows and the initiate call; ``file`` is serving stored files; ``segmind`` is the Segmind v1 route;
``pricing`` is fal's pricing API (sandbox/pricing_routes.py); ``bfl`` is BFL's submit and credits calls and ``poll`` its
``get_result`` (sandbox/bfl.py).

A header sent with a submit is stored with the job, so that job's status, stream, result and cancel calls honour
it (a header on those calls is used only when the job has none). "The first N calls" are counted per rule and
family within a scope: the server (options), the job (a stored header), or else the exact header value, so a
client retrying a submit with the same header gets through after N failures.

Examples: ``submit=status_429:2`` · ``status=status_503:3, drop_stream`` · ``fail:5`` · ``stream=hang`` ·
``segmind=status_500`` · ``file=status_404`` · ``pricing=status_500``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus

from starlette.requests import Request
from starlette.responses import Response

from sandbox.http import json_response

FAULT_HEADER = "x-sandbox-fault"
FAMILIES = ("submit", "status", "stream", "result", "cancel", "upload", "file", "segmind", "pricing", "bfl", "poll")
_STREAM_KINDS = ("drop_stream", "no_stream")
_RULE = re.compile(r"^(?:(?P<family>[a-z]+)\s*=\s*)?(?P<kind>[a-z_0-9]+)(?:\s*:\s*(?P<arg>[^\s,]+))?$")

#: fal error types by status code (protocols.md, "Errors").
FAL_ERROR_TYPES = {
    499: "client_cancelled",
    500: "internal_error",
    502: "runner_incomplete_response",
    503: "runner_scheduling_failure",
    504: "request_timeout",
}
RETRYABLE_CODES = frozenset({429, 502, 503, 504})


class FaultSpecError(ValueError):
    """A fault spec that does not follow the grammar in this module's docstring."""


@dataclass(frozen=True)
class FaultRule:
    text: str
    kind: str  # status | slow | hang | drop_stream | no_stream | fail
    family: str | None = None
    code: int = 0
    count: int = 1
    seconds: float = 0.0

    def applies_to(self, family: str) -> bool:
        if self.kind == "fail":
            return False
        if self.kind in _STREAM_KINDS:
            return family == "stream"
        return self.family in (None, family)


def _int_arg(rule: str, arg: str | None, default: int, low: int) -> int:
    if arg is None:
        return default
    try:
        value = int(arg)
    except ValueError:
        raise FaultSpecError(f"{rule!r}: {arg!r} is not a whole number") from None
    if value < low:
        raise FaultSpecError(f"{rule!r}: the number must be at least {low}")
    return value


def parse_rule(text: str) -> FaultRule:
    text = text.strip()
    match = _RULE.match(text)
    if not match:
        raise FaultSpecError(f"{text!r} is not [family=]kind[:arg]")
    family, kind, arg = match["family"], match["kind"], match["arg"]
    if family is not None and family not in FAMILIES:
        raise FaultSpecError(f"{text!r}: unknown family {family!r}; families: {', '.join(FAMILIES)}")
    if kind.startswith("status_"):
        code = _int_arg(text, kind.removeprefix("status_"), 0, 400)
        if code > 599:
            raise FaultSpecError(f"{text!r}: the status code must be between 400 and 599")
        return FaultRule(text, "status", family, code=code, count=_int_arg(text, arg, 1, 1))
    if kind == "slow":
        try:
            seconds = float(arg or "")
        except ValueError:
            raise FaultSpecError(f"{text!r}: slow needs seconds, e.g. slow:0.5") from None
        if not 0 <= seconds <= 3600:
            raise FaultSpecError(f"{text!r}: seconds must be between 0 and 3600")
        return FaultRule(text, "slow", family, seconds=seconds)
    if kind == "hang":
        return FaultRule(text, "hang", family)
    if kind in _STREAM_KINDS:
        if family not in (None, "stream"):
            raise FaultSpecError(f"{text!r}: {kind} applies to the stream only")
        if kind == "drop_stream":
            return FaultRule(text, kind, "stream", count=_int_arg(text, arg, 1, 1))
        code = _int_arg(text, arg, 404, 400)
        if code not in HTTPStatus._value2member_map_ or code > 599:
            raise FaultSpecError(f"{text!r}: the status code must be between 400 and 599")
        return FaultRule(text, kind, "stream", code=code)
    if kind == "fail":
        if family is not None:
            raise FaultSpecError(f"{text!r}: fail applies to the job, not to a route family")
        return FaultRule(text, "fail", None, count=_int_arg(text, arg, 1, 0))
    raise FaultSpecError(
        f"{text!r}: unknown fault {kind!r}; kinds: status_<code>, slow, hang, drop_stream, no_stream, fail"
    )


@dataclass(frozen=True)
class FaultPlan:
    rules: tuple[FaultRule, ...] = ()

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        parts = [part for part in (spec or "").split(",") if part.strip()]
        return cls(tuple(parse_rule(part) for part in parts))

    def __bool__(self) -> bool:
        return bool(self.rules)


ScopedPlan = tuple[str, FaultPlan]  # (counter scope, plan)


def find_rule(plans: Sequence[ScopedPlan], kind: str) -> FaultRule | None:
    """The first rule of ``kind`` across the plans (server first)."""
    return next((rule for _, plan in plans for rule in plan.rules if rule.kind == kind), None)


def fault_status_response(code: int, family: str, note: str = "injected by X-Sandbox-Fault") -> Response:
    message = f"Sandbox fault: HTTP {code} ({note})"
    if family == "segmind":
        return json_response({"error": message}, code)
    headers: dict[str, str] = {}
    body: dict[str, str] = {"detail": message}
    if error_type := FAL_ERROR_TYPES.get(code):
        body["error_type"] = error_type
        headers["X-Fal-Error-Type"] = error_type
    if code == 429:
        headers["Retry-After"] = "0"
    if code in RETRYABLE_CODES:
        headers["X-Fal-Retryable"] = "true"
    return json_response(body, code, headers)


class FaultInjector:
    """Applies server and request fault plans to routes, counting calls and reporting what it injected."""

    def __init__(self, server_spec: str, closing: asyncio.Event, record: Callable[[str, str], None]) -> None:
        self.server_plan = FaultPlan.parse(server_spec)
        self._closing = closing
        self._record = record
        self._calls: dict[tuple[str, str, str], int] = {}

    def clear(self) -> None:
        self._calls.clear()

    def plans(self, request: Request, job_plan: ScopedPlan | None = None) -> list[ScopedPlan]:
        """Server plan, plus the job's stored plan or else this request's header. Raises FaultSpecError."""
        plans: list[ScopedPlan] = [("server", self.server_plan)]
        if job_plan is not None and job_plan[1]:
            plans.append(job_plan)
        elif header := request.headers.get(FAULT_HEADER, "").strip():
            plans.append((f"header:{header}", FaultPlan.parse(header)))
        return plans

    def record(self, family: str, rule: FaultRule) -> None:
        self._record(family, rule.kind if rule.kind != "status" else f"status_{rule.code}")

    async def before(self, family: str, plans: Sequence[ScopedPlan]) -> Response | None:
        """Run the route's faults in order: delay, hang, or answer an error status instead of the route."""
        for scope, plan in plans:
            for rule in plan.rules:
                if not rule.applies_to(family):
                    continue
                if rule.kind == "slow":
                    self.record(family, rule)
                    await self.sleep(rule.seconds)
                elif rule.kind == "hang":
                    self.record(family, rule)
                    await self._closing.wait()
                    return fault_status_response(503, family, "the sandbox is shutting down")
                elif rule.kind == "no_stream":
                    self.record(family, rule)
                    return json_response({"detail": HTTPStatus(rule.code).phrase}, rule.code)
                elif rule.kind == "status":
                    key = (scope, family, rule.text)
                    self._calls[key] = calls = self._calls.get(key, 0) + 1
                    if calls <= rule.count:
                        self.record(family, rule)
                        return fault_status_response(rule.code, family)
        return None

    async def sleep(self, seconds: float) -> None:
        """Sleep, cut short when the server shuts down."""
        try:
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)
        except TimeoutError:
            pass


def bad_fault_header(exc: FaultSpecError, family: str) -> Response:
    message = f"Bad X-Sandbox-Fault header: {exc}"
    return json_response({"error": message} if family == "segmind" else {"detail": message}, 400)
