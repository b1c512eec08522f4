"""A Server-Sent Events response that notices client disconnects and can cut the connection on purpose."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

#: Yield this from the event source to send a keep-alive comment.
PING = object()


class StreamDropped(Exception):
    """Raised by an event source to end the response without its final chunk (an abrupt cut)."""


def encode_event(event: Any) -> bytes:
    if event is PING:
        return b": ping\n\n"
    return b"data: " + json.dumps(event, default=str, separators=(",", ":")).encode() + b"\n\n"


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(self, events: AsyncGenerator[Any, None], headers: Mapping[str, str] | None = None) -> None:
        self.events = events
        self.status_code = 200
        self.background = None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})

        async def pump() -> bool:
            try:
                async for event in self.events:
                    await send({"type": "http.response.body", "body": encode_event(event), "more_body": True})
            except StreamDropped:
                return False
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return True

        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        pumping = asyncio.ensure_future(pump())
        listening = asyncio.ensure_future(until_disconnect())
        try:
            await asyncio.wait({pumping, listening}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pumping, listening):
                task.cancel()
            for task in (pumping, listening):
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
            await self.events.aclose()
