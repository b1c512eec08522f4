"""Helpers for the sandbox tests: fast options, fal round trips, raw SSE reading."""

from __future__ import annotations

import asyncio
import base64
import functools
import io
import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from sandbox import RunningSandbox, SandboxOptions

FAST = SandboxOptions(step_seconds=0.01, startup_seconds=0.0, keepalive_seconds=5.0)
KEY = {"Authorization": "Key sandbox-key"}
FLUX_PRO = "fal-ai/flux-pro"
DEPTH = "fal-ai/flux-pro/v1/depth-finetuned"
I2I = "fal-ai/flux/dev/image-to-image"


def t2i(prompt: str = "a lighthouse at dusk", **extra: Any) -> dict[str, Any]:
    return {"prompt": prompt, "image_size": {"width": 64, "height": 48}, "num_inference_steps": 3, **extra}


def png_bytes(colour: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


async def submit(
    client: httpx.AsyncClient, sbx: RunningSandbox, endpoint: str, body: dict[str, Any], **headers: str
) -> dict[str, Any]:
    response = await client.post(f"{sbx.fal_queue_url}/{endpoint}", json=body, headers={**KEY, **headers})
    assert response.status_code == 200, response.text
    return response.json()


async def wait_done(
    client: httpx.AsyncClient, status_url: str, *, logs: bool = False, timeout: float = 5
) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            response = await client.get(status_url, params={"logs": "1" if logs else "0"}, headers=KEY)
            body = response.json()
            if body["status"] == "COMPLETED":
                assert response.status_code == 200
                return body
            assert response.status_code == 202
            await asyncio.sleep(0.01)


async def wait_for(predicate: Any, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.01)


async def stats(client: httpx.AsyncClient, sbx: RunningSandbox) -> dict[str, Any]:
    return (await client.get(f"{sbx.url}/_sandbox/stats")).json()


@dataclass
class SseRead:
    status_code: int
    content_type: str
    events: list[dict[str, Any]]
    comments: list[str]
    ended_cleanly: bool


async def read_sse(
    client: httpx.AsyncClient, url: str, *, logs: bool = True, timeout: float = 5, **headers: str
) -> SseRead:
    """The whole stream, parsed from raw lines; ``ended_cleanly`` is False when the connection was cut."""
    events: list[dict[str, Any]] = []
    comments: list[str] = []
    async with asyncio.timeout(timeout):
        async with client.stream(
            "GET", url, params={"logs": "1" if logs else "0"}, headers={**KEY, **headers}
        ) as response:
            if response.status_code != 200:
                await response.aread()
                return SseRead(response.status_code, response.headers.get("content-type", ""), [], [], True)
            try:
                async for line in response.aiter_lines():
                    if line.startswith(":"):
                        comments.append(line)
                    elif line.startswith("data:"):
                        events.append(json.loads(line[5:]))
            except httpx.RemoteProtocolError:
                return SseRead(200, response.headers["content-type"], events, comments, False)
            return SseRead(200, response.headers["content-type"], events, comments, True)


@functools.lru_cache(maxsize=4)
def solid_png(width: int, height: int, grey: int = 128, *, bit_depth: int = 8) -> bytes:
    """A one-colour greyscale PNG written row by row, so a 12000x12000 image costs the test no big bitmap."""
    row_bytes = (width * bit_depth + 7) // 8
    value = 0xFF if grey else 0x00
    row = b"\x00" + bytes([value if bit_depth == 1 else grey]) * row_bytes
    compressor = zlib.compressobj(9)
    compressed = [compressor.compress(row) for _ in range(height)]
    compressed.append(compressor.flush())

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)  # colour type 0: greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(compressed)) + chunk(b"IEND", b"")
