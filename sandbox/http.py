"""Small HTTP helpers shared by the sandbox's route modules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

TRUTHY = frozenset({"1", "true", "yes", "on"})


def json_response(body: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """JSON that never fails to serialise (pydantic error contexts may hold exceptions: they become strings)."""
    content = json.dumps(body, default=str, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(content, status_code=status_code, headers=dict(headers or {}), media_type="application/json")


def server_base(request: Request) -> str:
    """``http://host:port`` (plus any root path) as the client addressed the server."""
    return str(request.base_url).rstrip("/")


def query_flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").strip().lower() in TRUTHY


def bearer_value(request: Request, scheme: str) -> str:
    """The credential after ``Authorization: <scheme> ``, or '' when missing or another scheme."""
    kind, _, value = request.headers.get("authorization", "").strip().partition(" ")
    return value.strip() if kind.lower() == scheme.lower() else ""
