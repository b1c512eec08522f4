"""Who opened each Gradio session, so that a full session store drops the sessions of whoever holds the most.

Gradio keeps at most ``state_session_capacity`` sessions and, past it, drops the least recently used one, whoever's
it is. A session costs one request with a new ``session_hash``: a hostile probe sent 2,100 cheap events with fresh
hashes from one address and pushed every other visitor's session out, with the keys they had pasted and the
sweeps they had going. Now:

- ``CallerAddress`` (a plain ASGI middleware) notes each request's client and ``X-Forwarded-For`` where Gradio
  creates sessions (in the request's own task: the queue's join, a direct call, the component server);
- the app's ``StateHolder`` (``components.gradio_fixes``) records, per new session, the address as
  ``runs.visitors.client_address`` reads it (the one every per-visitor limit uses), and when full drops the least
  recently used session of the address holding the most (``session_to_drop``). One address filling the store
  pushes out its own sessions; a visitor with several tabs loses its oldest only while its address holds the most
  (visitors behind one address, a NAT, count as one).
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections import Counter
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from components import mcp_caller
from components.page_cache import ASGIApp, Scope, header_values
from runs.visitors import client_address

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Caller:
    """A request's client as the socket and the proxies saw it; its address is read only for a new session."""

    host: str | None
    forwarded_for: str | None
    trusted_proxies: int

    def visitor(self) -> str:
        """The address as every per-visitor limit reads it (``runs.visitors.client_address``)."""
        return client_address(self.host, self.forwarded_for, self.trusted_proxies) or UNKNOWN

    def address(self) -> str:
        """The address as every per-visitor limit reads it, an IPv6 one widened to its /48: one party is handed a
        /48 as easily as a /64 (a probe pushed out a visitor's session from 2,100 /64s of one /48)."""
        address = self.visitor()
        if ":" in address and "/" in address:
            with contextlib.suppress(ValueError):
                return str(ipaddress.IPv6Network(address, strict=False).supernet(new_prefix=48))
        return address


CALLER: ContextVar[Caller | None] = ContextVar("playground_caller", default=None)


def caller_of(scope: Scope, trusted_proxies: int) -> Caller:
    """An HTTP request's caller, from its ASGI scope, as ``context.visitor_of`` reads a handler's request: an MCP
    call Gradio's bridge passes on over loopback is its MCP caller's (``mcp_caller``), not 127.0.0.1's."""
    client = scope.get("client")
    host = client[0] if client else None
    if host in mcp_caller.LOOPBACK:
        host = mcp_caller.caller_of(Request(scope)) or host
    forwarded = b", ".join(header_values(scope, b"x-forwarded-for"))
    return Caller(host, forwarded.decode("latin-1") or None, trusted_proxies)


def current_owner() -> str:
    """The address of the request being served (``unknown`` outside one: the app's own calls, tests)."""
    caller = CALLER.get()
    return caller.address() if caller is not None else UNKNOWN


class CallerAddress:
    """Notes each HTTP request's caller for ``current_owner`` (``trusted_proxies``: as ``PLAYGROUND_TRUSTED_PROXIES``)."""

    def __init__(self, app: ASGIApp, trusted_proxies: int = 0) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = CALLER.set(caller_of(scope, self.trusted_proxies))
        try:
            await self.app(scope, receive, send)
        finally:
            CALLER.reset(token)


def session_to_drop(oldest_first: Iterable[str], owners: Mapping[str, str], keep: str | None) -> str | None:
    """The session a full store drops: of the owner holding the most sessions, the least recently used
    (``oldest_first``: the store's order), never ``keep`` (the one being opened or used)."""
    every = list(oldest_first)
    counts = Counter(owners.get(session, UNKNOWN) for session in every)
    order = [session for session in every if session != keep]
    if not order:
        return None
    most = max(counts[owners.get(session, UNKNOWN)] for session in order)
    return next(session for session in order if counts[owners.get(session, UNKNOWN)] == most)
