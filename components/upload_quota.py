"""How much one address, and every address together, may upload in an hour.

Gradio refuses a file over ``max_file_size`` but not how many of them: a hostile probe stored 20 files of 24 MB in
2.6 s (458 MB from one client), and Gradio sweeps its cache only of files over an hour old (``app.DELETE_CACHE``),
so one client could fill a Space's disk in minutes. ``UploadQuota``, a plain ASGI middleware in front of Gradio's
``/gradio_api/upload``, counts the bytes each address sent there over the last hour (the address every
per-visitor limit uses, ``runs.visitors.client_address``), and all of them together: a request that would go past
either is refused (HTTP 429, saying when to try again) before it is read, by its declared length; one sent without
a length is cut off once it goes past. The whole-server limit bounds what the upload folder can hold whatever the
number of addresses. ``PLAYGROUND_UPLOAD_MB_PER_HOUR`` and ``PLAYGROUND_UPLOADS_MB_PER_HOUR`` set them.
"""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from runs.visitors import client_address

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
MB = 1024 * 1024
UPLOAD_PATH = "/gradio_api/upload"


@dataclass(frozen=True)
class UploadLimits:
    per_address: int = 200 * MB  # an hour, from one address
    total: int = 4096 * MB  # an hour, from every address together
    window: float = 3600.0


class UploadLedger:
    """Bytes uploaded over the last ``limits.window`` seconds, per address and in all."""

    def __init__(self, limits: UploadLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._by_address: dict[str, deque[tuple[float, int]]] = {}
        self._all: deque[tuple[float, int]] = deque()
        self._all_bytes = 0

    def _prune(self, now: float) -> None:
        horizon = now - self.limits.window
        while self._all and self._all[0][0] <= horizon:
            self._all_bytes -= self._all.popleft()[1]
        for address in list(self._by_address):
            sent = self._by_address[address]
            while sent and sent[0][0] <= horizon:
                sent.popleft()
            if not sent:
                del self._by_address[address]

    def room(self, address: str) -> int:
        """How many bytes ``address`` may still send now."""
        self._prune(self.clock())
        own = sum(n for _, n in self._by_address.get(address, ()))
        return max(0, min(self.limits.per_address - own, self.limits.total - self._all_bytes))

    def add(self, address: str, sent: int) -> None:
        if sent <= 0:
            return
        now = self.clock()
        self._by_address.setdefault(address, deque()).append((now, sent))
        self._all.append((now, sent))
        self._all_bytes += sent

    def retry_after(self, address: str, wanted: int) -> float:
        """Seconds until ``wanted`` more bytes from ``address`` fit (the window's length when they never will)."""
        now = self.clock()
        self._prune(now)
        limits = self.limits
        if wanted > min(limits.per_address, limits.total):
            return limits.window
        own = self._by_address.get(address, deque())

        def freed_by(sent: deque[tuple[float, int]], excess: int) -> float:
            """When enough of ``sent`` has left the window to free ``excess`` bytes."""
            freed, last = 0, now
            for moment, size in sent:
                if freed >= excess:
                    break
                freed += size
                last = moment
            return last + limits.window if excess > 0 else now

        own_excess = sum(n for _, n in own) + wanted - limits.per_address
        all_excess = self._all_bytes + wanted - limits.total
        return max(freed_by(own, own_excess), freed_by(self._all, all_excess), now + 1.0) - now


class UploadQuota:
    """The middleware (``trusted_proxies``: as ``PLAYGROUND_TRUSTED_PROXIES``)."""

    def __init__(self, app: ASGIApp, limits: UploadLimits | None = None, trusted_proxies: int = 0) -> None:
        self.app = app
        self.ledger = UploadLedger(limits or UploadLimits())
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].endswith(UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or ()
        client = scope.get("client")
        forwarded = b", ".join(value for name, value in headers if name == b"x-forwarded-for").decode("latin-1")
        address = client_address(client[0] if client else None, forwarded or None, self.trusted_proxies) or "unknown"
        room = self.ledger.room(address)
        declared = next((value for name, value in headers if name == b"content-length"), None)
        length = int(declared) if declared is not None and declared.isdigit() else None
        if length is not None and length > room:
            await self._refuse(send, address, length)
            return
        received = 0

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > room:  # sent without a length, and past the limit: cut off
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, counted, send)
        finally:
            self.ledger.add(address, received)

    async def _refuse(self, send: Any, address: str, length: int) -> None:
        minutes = math.ceil(self.ledger.retry_after(address, length) / 60)
        limits = self.ledger.limits
        detail = (f"Upload limit reached: at most {limits.per_address // MB} MB an hour from one address "
                  f"({limits.total // MB} MB from everyone). Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 429,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"retry-after", str(minutes * 60).encode())]})
        await send({"type": "http.response.body", "body": body})
