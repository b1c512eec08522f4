"""What every provider with one base URL shares (Segmind, Black Forest Labs): how it is built, submits and closes."""

from __future__ import annotations

from pathlib import Path
from typing import Self

import httpx

from endpoints.base import EndpointSpec, WireModel
from providers.base import Credentials, Job, PreparedRequest
from providers.catalog import BuildContext
from providers.config import Timeouts
from providers.retry import RetryPolicy


class SingleUrlProvider:
    """An injected client and the provider's one API URL, the server's key, timeouts, retries and upload roots."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_url: str,
        credentials: Credentials | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        local_file_roots: tuple[Path, ...] = (),
        is_sandbox: bool = False,
    ) -> None:
        self.client = client
        self.api_url = api_url.rstrip("/")
        self.credentials = credentials
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.local_file_roots = local_file_roots
        self.is_sandbox = is_sandbox

    @property
    def request_base(self) -> str:
        return self.api_url

    @classmethod
    def from_context(cls, ctx: BuildContext, url_env: str) -> Self:
        """Built from the catalog's ``BuildContext``, its API URL read from ``url_env``."""
        return cls(
            ctx.client,
            api_url=ctx.urls[url_env],
            credentials=ctx.credentials,
            timeouts=ctx.timeouts,
            retry=ctx.retry,
            local_file_roots=ctx.local_file_roots,
            is_sandbox=ctx.is_sandbox,
        )

    async def prepare(
        self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None
    ) -> PreparedRequest:
        raise NotImplementedError

    async def send(self, prepared: PreparedRequest) -> Job:
        raise NotImplementedError

    async def submit(self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None) -> Job:
        """Prepare, then send: the request exactly as it leaves, then the job following it."""
        return await self.send(await self.prepare(endpoint, payload, credentials))

    async def aclose(self) -> None:
        await self.client.aclose()
