"""Segmind v1 provider (synchronous API): one POST answers with the image bytes.

``POST {api}/v1/{model}`` with ``x-api-key``; the control image goes as a multipart file part when it is a local
upload, or as a URL string in a JSON body. ``x-remaining-credits`` and ``x-cost`` are surfaced in
``Result.extras``. The image comes back as bytes (``ResultImage.inline``); ``runs.runner`` saves it like any other.
Segmind v1 has no queue, no logs and no cancel call: stopping a run closes the connection.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, UnidentifiedImageError

from endpoints import get_endpoint
from endpoints.base import EndpointSpec, Role, WireModel
from providers.base import (
    REDACTED,
    Completed,
    Credentials,
    JobEvent,
    LogLine,
    PreparedRequest,
    Result,
    ResultImage,
    Running,
)
from providers.catalog import BuildContext
from providers.errors import ProviderFailure, ProviderTimeout, from_response, missing_key, submit_failed
from providers.local_files import describe_file, resolve_local_images
from providers.retry import send_once
from providers.single_url import SingleUrlProvider

log = logging.getLogger(__name__)

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


def _sent(prepared: PreparedRequest, role: Role) -> Any:
    """What the request sent in the field playing ``role`` on its endpoint (None when no field does)."""
    try:
        name = get_endpoint(prepared.endpoint_id).field_for(role)
    except KeyError:
        return None
    return prepared.body.get(name) if name is not None else None


class SegmindJob:
    def __init__(self, provider: SegmindProvider, prepared: PreparedRequest) -> None:
        self._provider = provider
        self._prepared = prepared
        self.request_id: str | None = None

    async def events(self) -> AsyncGenerator[JobEvent, None]:
        provider = self._provider
        prepared = self._prepared
        yield Running((LogLine("Sent to Segmind; it answers when the image is ready (about 25 s)."),))
        started = time.monotonic()
        response = await self._post()
        if response.status_code != 200:
            raise from_response(response, provider=provider.name, endpoint_id=prepared.endpoint_id)
        content_type = response.headers.get("content-type", "image/jpeg").split(";")[0]
        if not content_type.startswith("image/"):
            raise ProviderFailure(f"Segmind answered with {content_type!r} instead of an image; try again.")
        data = response.content
        width, height = await asyncio.to_thread(_image_size, data)
        self.request_id = response.headers.get("x-request-id")
        seed_header = _number(response.headers.get("x-seed-value"))
        extras: dict[str, Any] = {}
        credits = _number(response.headers.get("x-remaining-credits"))
        if credits is not None:
            extras["remaining_credits"] = credits
        cost = _number(response.headers.get("x-cost"))
        if cost is not None:
            extras["cost"] = cost
        elapsed = time.monotonic() - started
        generation = _number(response.headers.get("x-generation-time"))
        body_seed = _sent(prepared, "seed")
        if isinstance(body_seed, str) and body_seed.isdigit():  # multipart fields are strings
            body_seed = int(body_seed)
        prompt = _sent(prepared, "prompt")
        result = Result(
            endpoint_id=prepared.endpoint_id,
            request_id=self.request_id,
            images=[ResultImage(url="", width=width, height=height, content_type=content_type, inline=data)],
            seed=int(seed_header) if seed_header is not None else body_seed if isinstance(body_seed, int) else None,
            has_nsfw_concepts=None,  # Segmind v1 does not report it
            prompt=prompt if isinstance(prompt, str) else None,
            timings={"total": round(elapsed, 3), **({"inference": generation} if generation is not None else {})},
            extras=extras,
        )
        yield Running((LogLine(f"Image received after {elapsed:.1f} s."),))
        yield Completed(result)

    async def _post(self) -> httpx.Response:
        provider = self._provider
        prepared = self._prepared
        timeout = httpx.Timeout(provider.timeouts.connect, read=provider.timeouts.segmind_read)
        headers = prepared.send_headers()

        async def send() -> httpx.Response:
            if prepared.body_kind == "multipart":
                files = {
                    part.field: (
                        part.file_name,
                        await asyncio.to_thread(Path(prepared.file_paths[part.field]).read_bytes),
                        part.content_type,
                    )
                    for part in prepared.files
                }
                return await provider.client.post(
                    prepared.url, data=prepared.body, files=files, headers=headers, timeout=timeout
                )
            return await provider.client.post(prepared.url, json=prepared.body, headers=headers, timeout=timeout)

        try:
            return await send_once(send, provider.retry)
        except httpx.TimeoutException:
            raise ProviderTimeout(
                f"Segmind did not answer within {provider.timeouts.segmind_read:.0f} s. The image may still be "
                "billed; try again later."
            ) from None
        except httpx.TransportError as exc:
            raise submit_failed(exc, provider=provider.name) from None

    async def cancel(self) -> None:
        """Segmind v1 has no cancel call; the caller's task cancellation closes the connection."""
        log.info("Segmind v1 has no cancel endpoint; the request's connection is closed instead")


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class SegmindProvider(SingleUrlProvider):
    name = "segmind"
    pricing_url: str | None = None  # Segmind reports each run's cost in its response instead

    async def prepare(
        self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None
    ) -> PreparedRequest:
        """JSON when every image is a URL; multipart (the seed's ``files[...]``) when one is a local upload."""
        creds = credentials if credentials else self.credentials
        if not creds:
            raise missing_key(self.name)
        body = payload.to_wire()
        local = resolve_local_images(endpoint, body, self.local_file_roots)
        common = {
            "provider": self.name,
            "endpoint_id": endpoint.id,
            "method": "POST",
            "url": f"{self.api_url}/v1/{endpoint.id}",
            "secret_headers": {"x-api-key": creds.key},
        }
        if not local:
            return PreparedRequest(
                headers={"x-api-key": REDACTED, "Content-Type": "application/json"},
                body_kind="json",
                body=body,
                **common,  # type: ignore[arg-type]
            )
        parts = [await asyncio.to_thread(describe_file, field, path) for field, path in local.items()]
        return PreparedRequest(
            headers={"x-api-key": REDACTED},
            body_kind="multipart",
            body={k: _form_value(v) for k, v in body.items() if k not in local},
            files=tuple(parts),
            file_paths={field: str(path) for field, path in local.items()},
            **common,  # type: ignore[arg-type]
        )

    async def send(self, prepared: PreparedRequest) -> SegmindJob:
        """Segmind v1 is synchronous: the POST itself happens when the job's events are iterated."""
        return SegmindJob(self, prepared)


def build(ctx: BuildContext) -> SegmindProvider:
    """The catalog's builder (``ProviderSpec.builder``)."""
    return SegmindProvider.from_context(ctx, "SEGMIND_API_URL")
