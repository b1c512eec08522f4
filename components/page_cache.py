"""The page's weight on the server: the page itself from memory.

- ``PageCache``: Gradio renders ``GET /`` anew for every visit: a deep copy of the whole config (~0.8 MB of JSON
  here), a walk over it to put the root URL into every file URL, the template, then gzip — ~50–100 ms of CPU per
  page load, most of the server's work for one. ``GET /config`` (the same copy and walk, as JSON) and ``GET
  /gradio_api/info`` (the API description, ~0.4 MB serialized again) cost ~45 and ~40 ms each, and every
  ``gradio_client.Client`` asks for both when it connects. Each is the same for every visitor with the same root URL
  (the app has no login; a request carrying a login goes through), so the middleware keeps the finished response
  (compressed as sent) per path, root-URL headers, query and accepted encoding, and sends it again.

- ``AssetCache``: the page then fetches ~120 of Gradio's frontend files (``/assets/…``, ``/static/…``, the theme's
  CSS). Gradio serves them from disk and the gzip middleware compresses each one again on every visit: ~300 ms of
  CPU per page load, most of the server's work for one (the Space a user would write sends them uncompressed). These
  files belong to the installed Gradio and do not change while the process runs, so the middleware keeps each
  finished response (compressed as sent, bounded in bytes) and sends it again with its validators (``ETag``,
  ``Last-Modified``). Conditional and range requests go through.

- ``AssetCache`` also marks the files of Gradio's Vite build (``/assets/<name>-<content hash>.<ext>``) ``immutable``
  for a year: a name never comes back with other bytes, so a returning visitor's browser takes them from its cache
  without asking. Without it, the browser's only freshness is a guess from ``Last-Modified`` (a tenth of the file's
  age: seconds to minutes after an install or a Space's rebuild), and each load then sends ~70 revalidations that
  wait on the server's event loop, against ~45 for a one-function Space. The files the app corrects
  (``components.frontend_fixes``) keep their own bytes under Gradio's names, which an update of the correction
  changes, so they keep only their validators (``revalidated``).

Plain ASGI middlewares; ``app.py`` installs them in front of the gzip middleware.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PAGE_CACHE_ENTRIES = 64  # paths x root URLs x queries x encodings kept; the oldest goes first
PAGE_CACHE_BYTES = 16 * 1024 * 1024  # and in bytes (the config is ~0.8 MB uncompressed): a bound whatever the headers
#: The request headers that make up the page's root URL (``gradio.route_utils.get_request_origin``: the host, or
#: ``X-Forwarded-Host``, or else ``X-Gradio-Server``; ``X-Forwarded-Proto``). Every copy of each is part of the key:
#: Gradio reads the first, and a key made from one copy would let a request that repeats a header store a page
#: drawn for another root under the plain one (the page's and ``/config``'s ``root`` is where the browser and
#: ``gradio_client`` send every later request).
KEY_HEADERS = (b"host", b"x-forwarded-host", b"x-forwarded-proto", b"x-forwarded-prefix", b"x-gradio-server")


def header_values(scope: Scope, name: bytes) -> tuple[bytes, ...]:
    """Every value the request sent under ``name`` (ASGI header names are lower-case), in order."""
    return tuple(value for key, value in scope.get("headers") or [] if key == name)


def accepted_encodings(scope: Scope) -> tuple[bytes, ...]:
    """The compressions (of those the middlewares further in make) that the request accepts, every
    ``Accept-Encoding`` line read: part of a kept response's key, as the body kept is compressed for them."""
    accepts = b",".join(header_values(scope, b"accept-encoding"))
    return tuple(e for e in (b"gzip", b"br") if e in accepts)


def fresh(start: Message) -> Message:
    """A copy of a kept ``http.response.start`` message to send: middlewares further out edit the headers of the
    message they are given in place (Gradio's Brotli middleware sets ``content-encoding`` and ``content-length``),
    which must not change the kept one."""
    return {**start, "headers": list(start["headers"])}


class ResponseCache:
    """Keeps finished responses (status 200, no cookies set) per ``key(scope)`` and sends them again, within
    ``max_entries`` responses and ``max_bytes`` in all (the least recently sent goes first); a response over
    ``max_entry_bytes`` streams on and is not kept. ``key`` returns None for a request that is not to be kept."""

    def __init__(self, app: ASGIApp, max_entries: int | None = None, max_bytes: int | None = None,
                 max_entry_bytes: int | None = None) -> None:
        self.app = app
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.bytes = 0
        self.responses: OrderedDict[tuple[Any, ...], tuple[Message, bytes]] = OrderedDict()

    @staticmethod
    def key(scope: Scope) -> tuple[Any, ...] | None:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        cached = self.responses.get(key)
        if cached is not None:
            self.responses.move_to_end(key)
            start, body = cached
            await send(fresh(start))
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        start_message: Message | None = None
        chunks: list[bytes] = []
        size = 0

        async def keep(message: Message) -> None:
            nonlocal start_message, size
            if message["type"] == "http.response.start":
                start_message = message
            elif message["type"] == "http.response.body" and start_message is not None:
                body = message.get("body", b"")
                size += len(body)
                chunks.append(body)
                if self.max_entry_bytes is not None and size > self.max_entry_bytes:
                    start_message = None  # too large to keep; the rest streams on
                elif not message.get("more_body", False):
                    self._store(key, start_message, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, keep)

    def _store(self, key: tuple[Any, ...], start: Message, body: bytes) -> None:
        headers = [(k.lower(), v) for k, v in start.get("headers") or []]
        if start.get("status") != 200 or any(k == b"set-cookie" for k, _ in headers):
            return
        if not any(k == b"content-length" for k, _ in headers):  # it was streamed (gzip): the length is known now
            headers.append((b"content-length", str(len(body)).encode()))
        old = self.responses.pop(key, None)
        if old is not None:
            self.bytes -= len(old[1])
        self.responses[key] = ({"type": "http.response.start", "status": 200, "headers": headers}, body)
        self.bytes += len(body)
        while self.responses and ((self.max_bytes is not None and self.bytes > self.max_bytes)
                                  or (self.max_entries is not None and len(self.responses) > self.max_entries)):
            _, (_, dropped) = self.responses.popitem(last=False)
            self.bytes -= len(dropped)


#: What ``PageCache`` keeps: the page, and the app's config and API description as Python clients read them.
PAGE_PATHS = frozenset({"/", "/config", "/config/", "/gradio_api/info", "/gradio_api/info/"})
#: Gradio's login cookie (``gradio.route_utils``): a page or config drawn for a signed-in user is not shared.
LOGIN_COOKIE = b"access-token"


class PageCache(ResponseCache):
    """Keeps ``GET`` responses for ``PAGE_PATHS`` per path, root URL, query and accepted encoding."""

    def __init__(self, app: ASGIApp, max_entries: int = PAGE_CACHE_ENTRIES, max_bytes: int = PAGE_CACHE_BYTES) -> None:
        super().__init__(app, max_entries=max_entries, max_bytes=max_bytes)

    @staticmethod
    def key(scope: Scope) -> tuple[Any, ...] | None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in PAGE_PATHS:
            return None
        if header_values(scope, b"authorization") or any(
                LOGIN_COOKIE in cookie for cookie in header_values(scope, b"cookie")):
            return None
        return (scope["path"], scope.get("root_path", ""), scope.get("scheme"), scope.get("query_string", b""),
                accepted_encodings(scope), *(header_values(scope, name) for name in KEY_HEADERS))


ASSET_CACHE_BYTES = 32 * 1024 * 1024  # all kept asset responses together; the least recently sent goes first
ASSET_MAX_BYTES = 4 * 1024 * 1024  # a larger response is not kept
#: Gradio's own frontend files, served from the installed package (``gradio.routes``: ``/assets/{path}`` from the
#: build folder, ``/static/{path}`` from the library's static folder) and the theme's CSS (``?v=`` its hash).
ASSET_PREFIXES = ("/assets/", "/static/")
ASSET_PATHS = ("/theme.css",)
#: A file of Gradio's Vite build: named ``<name>-<hash of its content>.<ext>`` (``Index-reaEz31n.js``).
HASHED_ASSET = re.compile(r"/assets/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+")
IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
#: Request headers that make the answer depend on more than the path and the accepted encoding.
PASS_THROUGH_HEADERS = (b"range", b"if-none-match", b"if-modified-since", b"if-match", b"if-unmodified-since",
                        b"authorization")


class AssetCache(ResponseCache):
    """Keeps ``GET`` responses for Gradio's frontend files per path, query and accepted encoding, and sends the
    content-hashed ones (``HASHED_ASSET``, but for the paths in ``revalidated``) with ``IMMUTABLE``."""

    def __init__(self, app: ASGIApp, max_bytes: int = ASSET_CACHE_BYTES, max_entry_bytes: int = ASSET_MAX_BYTES,
                 revalidated: Collection[str] = ()) -> None:
        super().__init__(app, max_bytes=max_bytes, max_entry_bytes=max_entry_bytes)
        self.revalidated = frozenset(revalidated)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.revalidated or not HASHED_ASSET.fullmatch(scope["path"]):
            await super().__call__(scope, receive, send)
            return

        async def send_immutable(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") in (200, 304):
                # A new message: the one given may be the kept one (ResponseCache stores it before sending it).
                message = {**message, "headers": [*message.get("headers", []), IMMUTABLE]}
            await send(message)

        await super().__call__(scope, receive, send_immutable)

    @staticmethod
    def key(scope: Scope) -> tuple[Any, ...] | None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        path = scope["path"]
        if not (path.startswith(ASSET_PREFIXES) or path in ASSET_PATHS):
            return None
        headers = dict(scope.get("headers") or [])
        if any(name in headers for name in PASS_THROUGH_HEADERS):
            return None
        return scope.get("root_path", ""), path, scope.get("query_string", b""), accepted_encodings(scope)
