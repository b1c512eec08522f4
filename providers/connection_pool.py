"""httpcore's connection pool without its quadratic walk (encode/httpcore#1035), for the providers' clients.

httpcore 1.0.9's ``AsyncConnectionPool._assign_requests_to_connections`` runs on every request start and end. Its
first loop, for each idle connection, builds a list of *all* connections to count them, so one call costs
idle × all steps: with 50 status streams open and as many connections idle between runs, ~5,000 ``is_idle()``
calls per request start or end, a sixth of the app's busy CPU in a py-spy profile at 50 visitors
(``benchmarks/README.md``). The count it takes is also the wrong one: the limit is on *idle* connections
(``max_keepalive_connections``), and comparing it with all of them can close an idle connection that was just
handed to a waiting request (encode/httpcore#1110; ``providers.registry.MAX_KEEPALIVE`` is large to stay clear of
it).

``LinearConnectionPool`` does that pass in one walk: it drops closed connections and keeps at most
``max_keepalive_connections`` idle ones that no request holds. Whether a connection has expired (past its
keep-alive, or closed by the server: a readable idle socket) costs two system calls (``getpeername`` in anyio's
attributes, then a ``select``), so the walk asks it of every connection at most once a second
(``EXPIRY_CHECK_SECONDS``), and always of the connection a request is about to be handed, so a connection the
server has closed is not reused (as with httpcore, one it closes after that check is its race). httpcore asks it
of every connection on every request start and end (6% of the app's busy CPU at 50 visitors in a py-spy
profile). Queued requests are assigned by httpcore's rule
(reuse, else open while under ``max_connections``, else replace an idle connection), never onto a connection a
request already holds. It is for HTTP/1.1 (the providers' clients do not enable HTTP/2, whose connections serve
several requests at once). It overrides a private method, so it is used only on the httpcore version it was read
and tested against (``TESTED_HTTPCORE``); on any other, ``pooled_transport`` leaves httpcore's pool as it is.
"""

from __future__ import annotations

import functools
import logging
import ssl
import time
from typing import Any

import httpcore
import httpx

log = logging.getLogger(__name__)

TESTED_HTTPCORE = "1.0.9"
EXPIRY_CHECK_SECONDS = 1.0  # how often the walk asks every connection whether it has expired


class LinearConnectionPool(httpcore.AsyncConnectionPool):
    _expiry_checked = float("-inf")  # when the walk last asked every connection (monotonic seconds)

    def _assign_requests_to_connections(self) -> list[Any]:
        held = {id(request.connection) for request in self._requests if request.connection is not None}
        closing: list[Any] = []
        kept: list[Any] = []
        idle = 0
        now = time.monotonic()
        check_all = now - self._expiry_checked >= EXPIRY_CHECK_SECONDS
        if check_all:
            self._expiry_checked = now
        for existing in self._connections:
            if existing.is_closed():
                continue
            if check_all and existing.has_expired():
                closing.append(existing)
                continue
            if existing.is_idle() and id(existing) not in held:
                if idle >= self._max_keepalive_connections:
                    closing.append(existing)
                    continue
                idle += 1
            kept.append(existing)
        self._connections = kept
        # Queued requests (usually none or one), as httpcore assigns them (reuse, open, or replace an idle one), but
        # never onto a connection a request already holds: an HTTP/1.1 connection handed to one request is still
        # idle until that request starts, and httpcore would hand it to the next too (which then retries), or pick
        # it as the idle one to close for another origin.
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            free = [c for c in self._connections if id(c) not in held]
            connection: Any = None
            for candidate in free:
                if not (candidate.can_handle_request(origin) and candidate.is_available()):
                    continue
                if candidate.has_expired():  # closed by the server or past its keep-alive: never sent on
                    self._connections.remove(candidate)
                    closing.append(candidate)
                    continue
                connection = candidate
                break
            if connection is None:
                if len(self._connections) >= self._max_connections:
                    spare = next((c for c in self._connections if id(c) not in held and c.is_idle()), None)
                    if spare is None:
                        continue  # waits for a connection to come free
                    self._connections.remove(spare)
                    closing.append(spare)
                connection = self.create_connection(origin)
                self._connections.append(connection)
            pool_request.assign_to_connection(connection)
            held.add(id(connection))
        return closing


@functools.cache
def linear_pool_active() -> bool:
    """Whether this httpcore is the tested one (one warning line, once, when not)."""
    if httpcore.__version__ == TESTED_HTTPCORE:
        return True
    log.warning("httpcore %s is not the tested %s: its own connection pool is used (quadratic in connections)",
                httpcore.__version__, TESTED_HTTPCORE)
    return False


def pooled_transport(verify: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport (no proxies from the environment) on a ``LinearConnectionPool`` where it is tested."""
    transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits, trust_env=False)
    if linear_pool_active() and type(transport._pool) is httpcore.AsyncConnectionPool:
        transport._pool.__class__ = LinearConnectionPool  # same state, one method replaced
    return transport
