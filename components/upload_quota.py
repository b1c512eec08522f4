"""How much one address, and every address together, may upload in an hour.

Gradio refuses a file over ``max_file_size`` but not how many of them: a hostile probe stored 20 files of 24 MB in
2.6 s (458 MB from one client), and Gradio sweeps its cache only of files over an hour old (``app.DELETE_CACHE``),
so one client could fill a Space's disk in minutes. ``UploadQuota``, a plain ASGI middleware in front of Gradio's
``/gradio_api/upload``, counts the bytes each address sent there over the last hour (the address every
per-visitor limit uses, ``runs.visitors.client_address``), and all of them together: a request that would go past
either is refused (HTTP 429, saying when to try again) before it is read, by its declared length; one sent without
a length is cut off once it goes past. The whole-server limit bounds what the upload folder can hold whatever the
number of addresses. ``PLAYGROUND_UPLOAD_MB_PER_HOUR`` and ``PLAYGROUND_UPLOADS_MB_PER_HOUR`` set them. MCP calls
are charged too (Gradio's MCP bridge stores a ``data:`` image argument before the tool runs), and so are files an
event names by URL (``url_files``, on the same ledger: ``AppContext.upload_ledger``).

``BodyLimit`` bounds every other request body (``MAX_BODY_BYTES``): Gradio reads them whole with no limit, so one
request could take gigabytes of memory; and refuses the Gradio routes the app does not use (``UNUSED_PATHS``).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from components.page_cache import ASGIApp, Scope, header_values
from components.session_owners import caller_of

MB = 1024 * 1024
UPLOAD_PATH = "/gradio_api/upload"
#: Requests whose bodies are files a visitor hands in: Gradio's uploads, and MCP calls (Gradio's MCP bridge writes a
#: ``data:`` image argument into its cache before the tool runs: 340 MB in 10 s from one address, a probe).
MCP_PATH = "/gradio_api/mcp/"
#: Every other request body: an event's JSON (files go by upload, as references), a component call, an MCP message.
#: Gradio reads and parses such bodies whole with no limit: a 100 MB ``queue/join`` body of numbers took 1.25 GB,
#: and ``component_server`` read up to 1,000 files of 25 MB each into memory before looking at the function name.
#: The largest the page sends is a history step: the list and its stored copy, together under the ~5 MB a browser's
#: localStorage holds with room to spare.
MAX_BODY_BYTES = 8 * MB
#: Gradio routes the app never uses, refused outright (``process_recording`` stored 25 MB videos outside the
#: upload allowance and ran ffmpeg on them).
UNUSED_PATHS = ("/gradio_api/process_recording",)
#: Gradio's ``/file=<url>`` fetches any public URL and streams it back, with no size limit: a relay through the
#: Space's address for anyone (60 MB in one request, a probe). The page never asks for one (its images are the
#: app's ``/media/`` files or the provider's own URLs), so it is refused like the routes above.
URL_RELAY = re.compile(r"/file=https?:")
#: The address whose hourly allowance pays for the files an event's inputs name by URL, while Gradio fetches them
#: (set around the inputs' preprocessing only: ``gradio_fixes.PlaygroundBlocks.preprocess_data``). A file a handler
#: returns by URL is the app's own fetch (a provider's image copied for the page), never charged: a paid run must
#: not fail for its caller's spent allowance.
INPUT_FILES_PAID_BY: ContextVar[str | None] = ContextVar("playground_input_files_paid_by", default=None)


@dataclass(frozen=True)
class UploadLimits:
    per_address: int = 200 * MB  # an hour, from one address
    total: int = 4096 * MB  # an hour, from every address together
    window: float = 3600.0


class UploadLedger:
    """Bytes uploaded over the last ``limits.window`` seconds, per address and in all. An upload is charged as it
    starts (``reserve``: its declared length) and as its bytes come (``grow``), so uploads sent at once cannot each
    find the whole allowance free (ten parallel 8 MB uploads all went through a 10 MB allowance when bytes were
    counted once each was stored)."""

    def __init__(self, limits: UploadLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._sent: deque[tuple[str, list[float]]] = deque()  # (address, [when, bytes, in window]), oldest first
        self._by_address: dict[str, int] = {}
        self._all = 0

    def _prune(self, now: float) -> None:
        horizon = now - self.limits.window
        while self._sent and self._sent[0][1][0] <= horizon:
            address, entry = self._sent.popleft()
            entry[2] = 0  # out of the window: a later ``grow`` of it counts nothing
            self._count(address, -int(entry[1]))

    def _count(self, address: str, delta: int) -> None:
        left = self._by_address.get(address, 0) + delta
        if left > 0:
            self._by_address[address] = left
        else:
            self._by_address.pop(address, None)
        self._all += delta

    def room(self, address: str) -> int:
        """How many bytes ``address`` may still send now."""
        self._prune(self.clock())
        return max(0, min(self.limits.per_address - self._by_address.get(address, 0),
                          self.limits.total - self._all))

    def reserve(self, address: str, size: int) -> list[float]:
        """Charge ``size`` bytes to ``address`` now; the entry ``grow`` changes later."""
        entry: list[float] = [self.clock(), 0, 1]
        self._sent.append((address, entry))
        self.grow(address, entry, size)
        return entry

    def grow(self, address: str, entry: list[float], delta: int) -> None:
        """More (or, for a body shorter than declared, fewer) bytes for an upload ``reserve`` charged."""
        delta = max(delta, -int(entry[1]))
        entry[1] += delta
        if entry[2]:
            self._count(address, delta)

    def retry_after(self, address: str, wanted: int) -> float:
        """Seconds until ``wanted`` more bytes from ``address`` fit (the window's length when they never will)."""
        now = self.clock()
        self._prune(now)
        limits = self.limits
        if wanted > min(limits.per_address, limits.total):
            return limits.window
        own_excess = self._by_address.get(address, 0) + wanted - limits.per_address
        all_excess = self._all + wanted - limits.total
        when = now + 1.0
        freed_own = freed_all = 0
        for who, (moment, size, _) in self._sent:  # oldest first: each frees its bytes an hour after it came
            if freed_own >= own_excess and freed_all >= all_excess:
                break
            freed_all += int(size)
            freed_own += int(size) if who == address else 0
            when = moment + limits.window
        return max(when, now + 1.0) - now


class Charge:
    """One transfer's bytes on the ledger, for ``address``: charged up front (a declared length, at least
    ``minimum``), grown as more comes, and settled to what came. An upload (``UploadQuota``) and a file given by URL
    (``url_files``) are charged alike; with no ledger, nothing is (a transfer no one pays for)."""

    def __init__(self, ledger: UploadLedger | None, address: str, minimum: int = 0) -> None:
        self.ledger = ledger
        self.address = address
        self.minimum = minimum
        self.entry: list[float] | None = None
        self.charged = 0
        self.received = 0  # bytes of the body that came so far

    def up_to(self, size: int) -> bool:
        """Charge ``max(size, minimum)`` bytes in all; False, and nothing more charged, past the allowance."""
        size = max(size, self.minimum)
        if self.ledger is None or (self.entry is not None and size <= self.charged):
            return True
        more = size - self.charged
        if more > self.ledger.room(self.address):
            return False
        if self.entry is None:
            self.entry = self.ledger.reserve(self.address, more)
        else:
            self.ledger.grow(self.address, self.entry, more)
        self.charged = size
        return True

    def refused(self, size: int) -> tuple[str, int]:
        """What the visitor is told when ``size`` bytes in all do not fit, and in how many minutes they would."""
        assert self.ledger is not None
        minutes = math.ceil(self.ledger.retry_after(self.address, max(size, self.minimum) - self.charged) / 60)
        limits = self.ledger.limits
        detail = (f"Upload limit reached: at most {limits.per_address / MB:g} MB an hour from one address "
                  f"({limits.total / MB:g} MB from everyone). Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
        return detail, minutes

    def settle(self) -> None:
        """Fewer bytes came than were charged (a body shorter than declared, the client gone): charged what came,
        never under the minimum."""
        received = max(self.received, self.minimum)
        if self.ledger is not None and self.entry is not None and received < self.charged:
            self.ledger.grow(self.address, self.entry, received - self.charged)
            self.charged = received


class UploadQuota:
    """The middleware (``trusted_proxies``: as ``PLAYGROUND_TRUSTED_PROXIES``)."""

    def __init__(self, app: ASGIApp, limits: UploadLimits | None = None, trusted_proxies: int = 0,
                 ledger: UploadLedger | None = None) -> None:
        self.app = app
        self.ledger = ledger or UploadLedger(limits or UploadLimits())  # the app's: URL files share it (url_files)
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not _charged(scope["path"]):
            await self.app(scope, receive, send)
            return
        charge = Charge(self.ledger, caller_of(scope, self.trusted_proxies).visitor())
        length = _declared_length(scope)
        if not charge.up_to(length or 0):  # before the body is read: uploads at once share the allowance
            detail, minutes = charge.refused(length or 0)
            await _answer(send, 429, detail, [(b"retry-after", str(minutes * 60).encode())])
            return

        async def counted() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                charge.received += len(message.get("body", b""))
                # sent without a length: charged as it comes, cut off past the allowance
                if not charge.up_to(charge.received):
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, counted, send)
        finally:
            charge.settle()  # fewer bytes came than declared (the client went): not charged


def _charged(path: str) -> bool:
    return path.endswith(UPLOAD_PATH) or MCP_PATH in path


class BodyLimit:
    """Request bodies other than uploads are at most ``max_bytes`` (HTTP 413, by the declared length before anything
    is read; a body sent without a length is cut off once past it); the routes in ``UNUSED_PATHS`` are 404."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.rstrip("/").endswith(UNUSED_PATHS) or URL_RELAY.search(path):
            await _answer(send, 404, "Not Found")
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS") or path.endswith(UPLOAD_PATH):
            await self.app(scope, receive, send)  # uploads: Gradio's max_file_size, and UploadQuota
            return
        length = _declared_length(scope)
        if length is not None and length > self.max_bytes:
            await _answer(send, 413, f"Request body over {self.max_bytes / MB:g} MB: files go by upload")
            return
        received = 0
        limit = self.max_bytes

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counted, send)


def _declared_length(scope: Scope) -> int | None:
    """The body's length as the request declares it (``Content-Length``), or None (none, or not a number)."""
    declared = next(iter(header_values(scope, b"content-length")), None)
    return int(declared) if declared is not None and declared.isdigit() else None


async def _answer(send: Any, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A JSON ``{"detail": ...}`` answer, sent before the request's body is read."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
