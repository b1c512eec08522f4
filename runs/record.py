"""``RunRecord``: everything about one run, serialisable, and never holding a key.

One record per run, whatever view started it (a tab, a sweep cell, an MCP tool). History, compare, image
metadata, copy-as-code and share links all read records. ``to_json()`` / ``from_json()`` round-trip exactly.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from endpoints import get_endpoint
from providers.base import REDACTED, PreparedRequest

RouteKind = Literal["sandbox", "server_key", "session_key", "no_key"]
FinalState = Literal["done", "failed", "stopped"]
ROUTE_KINDS: tuple[RouteKind, ...] = ("sandbox", "server_key", "session_key", "no_key")


@dataclass(frozen=True)
class Cost:
    """A cost in US dollars (None when unknown) and how it was worked out, for people."""

    usd: float | None
    basis: str
    credits: float | None = None  # provider credits used, where the provider reports them (Segmind)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"usd": self.usd, "basis": self.basis}
        if self.credits is not None:
            out["credits"] = self.credits
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Cost:
        data = data or {}
        return cls(usd=data.get("usd"), basis=str(data.get("basis", "")), credits=data.get("credits"))


UNKNOWN_COST = Cost(None, "no price known for this endpoint")


@dataclass(frozen=True)
class RunError:
    type: str  # the error class, e.g. "ValidationFailed", "Cancelled"
    message: str
    fields: tuple[tuple[str, str], ...] = ()  # (field path, problem)
    status: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "message": self.message,
            "fields": [list(f) for f in self.fields],
            "status": self.status,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunError:
        return cls(
            type=str(data["type"]),
            message=str(data["message"]),
            fields=tuple((str(a), str(b)) for a, b in data.get("fields") or ()),
            status=data.get("status"),
        )


@dataclass(frozen=True)
class Timings:
    """Wall-clock times (Unix seconds). ``started`` is when the provider first reported the job running."""

    submitted: float | None = None
    started: float | None = None
    finished: float | None = None

    @property
    def duration(self) -> float | None:
        if self.submitted is None or self.finished is None:
            return None
        return max(0.0, self.finished - self.submitted)

    def to_json(self) -> dict[str, Any]:
        return {"submitted": self.submitted, "started": self.started, "finished": self.finished}


@dataclass(frozen=True)
class RunRecord:
    id: str
    endpoint_id: str
    api_name: str
    provider: str
    route: RouteKind
    input: dict[str, Any]  # the validated input as the visitor set it (model JSON; local files as their URLs)
    state: FinalState
    request: PreparedRequest | None = None  # None when the run ended before a request was prepared
    result: dict[str, Any] | None = None  # the normalised result (``Result.to_json`` with fetchable image URLs)
    request_id: str | None = None
    timings: Timings = field(default_factory=Timings)
    cost: Cost = UNKNOWN_COST  # the estimate before the run; settled from the provider's report where it has one
    error: RunError | None = None
    sweep: dict[str, Any] | None = None  # {"id", "x", "y"} for a sweep cell
    #: Served from the result cache: ``request_id`` and ``request`` are the first run's, and nothing was billed.
    cached: bool = False

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    @property
    def seed(self) -> int | None:
        """The seed the provider reports using, else the input's (the field playing the endpoint's seed role)."""
        if self.result and isinstance(self.result.get("seed"), int):
            return int(self.result["seed"])
        try:
            name = get_endpoint(self.endpoint_id).field_for("seed")
        except KeyError:  # an endpoint no longer registered: nothing says which field is its seed
            return None
        seed = self.input.get(name) if name is not None else None
        return seed if isinstance(seed, int) else None

    def with_result(self, result: dict[str, Any]) -> RunRecord:
        return replace(self, result=result)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "api_name": self.api_name,
            "provider": self.provider,
            "route": self.route,
            "input": self.input,
            "state": self.state,
            "request": self.request.to_json() if self.request else None,
            "result": self.result,
            "request_id": self.request_id,
            "timings": self.timings.to_json(),
            "cost": self.cost.to_json(),
            "error": self.error.to_json() if self.error else None,
            "sweep": self.sweep,
            "cached": self.cached,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        route = data["route"]
        if route not in ROUTE_KINDS:
            raise ValueError(f"route: must be one of {', '.join(ROUTE_KINDS)}")
        state = data["state"]
        if state not in ("done", "failed", "stopped"):
            raise ValueError("state: must be done, failed or stopped")
        return cls(
            id=str(data["id"]),
            endpoint_id=str(data["endpoint_id"]),
            api_name=str(data["api_name"]),
            provider=str(data["provider"]),
            route=route,
            input=dict(data.get("input") or {}),
            state=state,
            request=PreparedRequest.from_json(data["request"]) if data.get("request") else None,
            result=data.get("result"),
            request_id=data.get("request_id"),
            timings=Timings(**(data.get("timings") or {})),
            cost=Cost.from_json(data.get("cost")),
            error=RunError.from_json(data["error"]) if data.get("error") else None,
            sweep=data.get("sweep"),
            cached=data.get("cached") is True,
        )


SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "x-key", "x-fal-key",
                            "cookie"})
_CREDENTIAL = re.compile(r"^\s*(key|bearer|basic|token)\s+(?P<rest>.*)$", re.IGNORECASE)


class SecretInRecordError(ValueError):
    """A record's request carries a header value that looks like a key; nothing derived from it may be written."""


def check_no_secrets(request: PreparedRequest | None) -> None:
    """Raise ``SecretInRecordError`` unless every credential-like header shows only ``<redacted>``.

    ``Authorization: Key <redacted>`` passes; ``Authorization: Key abc``, ``x-api-key: abc`` or any header whose
    value reads ``Bearer abc`` does not. The message names the header, never its value.
    """
    if request is None:
        return
    for name, value in request.headers.items():
        text = str(value).strip()
        match = _CREDENTIAL.match(text)
        rest = match["rest"].strip() if match else text
        if (name.lower() in SECRET_HEADERS or match) and rest not in ("", REDACTED):
            raise SecretInRecordError(
                f"the request's {name!r} header holds what looks like a key; records must show {REDACTED} there"
            )
