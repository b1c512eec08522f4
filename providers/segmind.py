"""Segmind v1 provider (synchronous API): one POST answers with the image bytes.

``POST {api}/v1/{model}`` with ``x-api-key``; the control image goes as a multipart file part when it is a local
upload, or as a URL string in a JSON body. ``x-remaining-credits`` is surfaced in ``Result.extras``. Segmind v1
has no queue, no logs and no cancel call: stopping a run closes the connection.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, UnidentifiedImageError

from endpoints.base import EndpointSpec, WireModel
from providers.base import Completed, Credentials, JobEvent, LogLine, Result, ResultImage, Running
from providers.config import Timeouts
from providers.errors import AuthenticationError, ProviderFailure, ProviderTimeout, from_response
from providers.local_files import resolve_local_images
from providers.media import MediaStore
from providers.retry import RetryPolicy, send_once

log = logging.getLogger(__name__)

MISSING_KEY = "No Segmind key: set the SEGMIND_API_KEY secret, or paste your own key under Settings."


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _image_size(data: bytes) -> tuple[int | None, int | None]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.width, image.height
    except (UnidentifiedImageError, OSError):
        return None, None


class SegmindJob:
    def __init__(
        self, provider: SegmindProvider, endpoint: EndpointSpec, credentials: Credentials, body: dict[str, Any], files: dict[str, Path]
    ) -> None:
        self._provider = provider
        self._endpoint = endpoint
        self._credentials = credentials
        self._body = body
        self._files = files
        self.request_id: str | None = None

    async def events(self) -> AsyncIterator[JobEvent]:
        provider = self._provider
        yield Running((LogLine("Sent to Segmind; it answers when the image is ready (about 25 s)."),))
        started = time.monotonic()
        response = await self._post()
        if response.status_code != 200:
            raise from_response(response, provider="Segmind", endpoint_id=self._endpoint.id)
        content_type = response.headers.get("content-type", "image/jpeg").split(";")[0]
        if not content_type.startswith("image/"):
            raise ProviderFailure(f"Segmind answered with {content_type!r} instead of an image; try again.")
        data = response.content
        path = await provider.media.save(data, content_type)
        width, height = await asyncio.to_thread(_image_size, data)
        self.request_id = response.headers.get("x-request-id")
        seed_header = _number(response.headers.get("x-seed-value"))
        extras: dict[str, Any] = {}
        credits = _number(response.headers.get("x-remaining-credits"))
        if credits is not None:
            extras["remaining_credits"] = credits
        if response.headers.get("x-cost"):
            extras["cost"] = _number(response.headers.get("x-cost"))
        elapsed = time.monotonic() - started
        generation = _number(response.headers.get("x-generation-time"))
        result = Result(
            endpoint_id=self._endpoint.id,
            request_id=self.request_id,
            images=[ResultImage(url=str(path), width=width, height=height, content_type=content_type)],
            seed=int(seed_header) if seed_header is not None else self._body.get("seed"),
            has_nsfw_concepts=None,  # Segmind v1 does not report it
            prompt=self._body.get("prompt"),
            timings={"total": round(elapsed, 3), **({"inference": generation} if generation is not None else {})},
            extras=extras,
        )
        yield Running((LogLine(f"Image received after {elapsed:.1f} s."),))
        yield Completed(result)

    async def _post(self) -> httpx.Response:
        provider = self._provider
        url = f"{provider.api_url}/v1/{self._endpoint.id}"
        headers = {"x-api-key": self._credentials.key}
        timeout = httpx.Timeout(provider.timeouts.connect, read=provider.timeouts.segmind_read)

        async def send() -> httpx.Response:
            if self._files:
                files = {
                    field: (path.name, await asyncio.to_thread(path.read_bytes), _mime(path))
                    for field, path in self._files.items()
                }
                data = {k: _form_value(v) for k, v in self._body.items() if k not in self._files}
                return await provider.client.post(url, data=data, files=files, headers=headers, timeout=timeout)
            return await provider.client.post(url, json=self._body, headers=headers, timeout=timeout)

        try:
            return await send_once(send, provider.retry)
        except httpx.TimeoutException:
            raise ProviderTimeout(
                f"Segmind did not answer within {provider.timeouts.segmind_read:.0f} s. The image may still be "
                "billed; try again later."
            ) from None
        except httpx.TransportError as exc:
            raise ProviderFailure(f"Could not reach Segmind ({type(exc).__name__}); try again.") from None

    async def cancel(self) -> None:
        """Segmind v1 has no cancel call; the caller's task cancellation closes the connection."""
        log.info("Segmind v1 has no cancel endpoint; the request's connection is closed instead")


def _mime(path: Path) -> str:
    return {".png": "image/png", ".webp": "image/webp"}.get(path.suffix.lower(), "image/jpeg")


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class SegmindProvider:
    name = "segmind"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_url: str,
        media: MediaStore,
        credentials: Credentials | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        local_file_roots: tuple[Path, ...] = (),
        is_sandbox: bool = False,
    ) -> None:
        self.client = client
        self.api_url = api_url.rstrip("/")
        self.media = media
        self.credentials = credentials
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.local_file_roots = local_file_roots
        self.is_sandbox = is_sandbox

    async def submit(self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None) -> SegmindJob:
        creds = credentials if credentials else self.credentials
        if not creds:
            raise AuthenticationError(MISSING_KEY)
        body = payload.to_wire()
        files = resolve_local_images(endpoint, body, self.local_file_roots)
        return SegmindJob(self, endpoint, creds, body, files)

    async def aclose(self) -> None:
        await self.client.aclose()
