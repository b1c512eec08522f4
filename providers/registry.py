"""Build the providers an app uses, each with its own pooled ``httpx.AsyncClient``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx

from endpoints.base import EndpointSpec, ProviderName
from providers.base import Provider
from providers.config import ProviderSettings
from providers.fal import FalQueueProvider
from providers.media import MediaStore
from providers.retry import RetryPolicy
from providers.segmind import SegmindProvider


def make_client(settings: ProviderSettings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    t = settings.timeouts
    return httpx.AsyncClient(
        timeout=httpx.Timeout(t.connect, read=t.read, write=t.read, pool=t.connect),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        transport=transport,
        follow_redirects=True,
    )


@dataclass
class ProviderSet:
    fal: FalQueueProvider
    segmind: SegmindProvider
    media: MediaStore

    def get(self, name: ProviderName) -> FalQueueProvider | SegmindProvider:
        return self.fal if name == "fal" else self.segmind

    def for_endpoint(self, spec: EndpointSpec) -> Provider:
        return self.get(spec.provider)

    async def aclose(self) -> None:
        await self.fal.aclose()
        await self.segmind.aclose()


def build_providers(
    settings: ProviderSettings,
    *,
    media: MediaStore | None = None,
    local_file_roots: tuple[Path, ...] = (),
    fal_is_sandbox: bool = False,
    segmind_is_sandbox: bool = False,
    retry: RetryPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ProviderSet:
    media = media or MediaStore()
    fal = FalQueueProvider(
        make_client(settings, transport),
        queue_url=settings.fal_queue_url,
        rest_url=settings.fal_rest_url,
        credentials=settings.fal_key,
        timeouts=settings.timeouts,
        retry=retry,
        local_file_roots=local_file_roots,
        is_sandbox=fal_is_sandbox,
    )
    segmind = SegmindProvider(
        make_client(settings, transport),
        api_url=settings.segmind_api_url,
        media=media,
        credentials=settings.segmind_key,
        timeouts=settings.timeouts,
        retry=retry,
        local_file_roots=local_file_roots,
        is_sandbox=segmind_is_sandbox,
    )
    return ProviderSet(fal=fal, segmind=segmind, media=media)
