"""A provider for tests of the run engine: its job completes at once with one 8×8 PNG at ``url``, which the runner
fetches through ``client`` (an ``httpx.AsyncClient`` on a ``MockTransport`` the test controls)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from providers.base import Completed, Credentials, PreparedRequest, Result, ResultImage


class OneImageJob:
    request_id = "r1"
    completed_upstream = True

    def __init__(self, endpoint_id: str, url: str, seed: int) -> None:
        self.endpoint_id, self.url, self.seed = endpoint_id, url, seed

    async def events(self) -> AsyncIterator[Completed]:
        yield Completed(Result(self.endpoint_id, self.request_id, [ResultImage(self.url, 8, 8, "image/png")],
                               self.seed, None, "p", {}))

    async def cancel(self) -> None:
        return None


class OneImageProvider:
    """A live provider (``name``: "fal", "bfl", …) as the runner sees it; each job returns ``url`` with ``seed``."""

    is_sandbox = False
    pricing_url = None

    def __init__(self, name: str, client: httpx.AsyncClient, url: str, credentials: Credentials,
                 seed: int = 7) -> None:
        self.name, self.client, self.url, self.credentials, self.seed = name, client, url, credentials, seed

    async def prepare(self, endpoint: Any, payload: Any, credentials: Credentials) -> PreparedRequest:
        return PreparedRequest(self.name, endpoint.id, "POST", f"https://{self.name}.example/{endpoint.id}", {},
                               "json", payload.to_wire())

    async def send(self, prepared: PreparedRequest) -> OneImageJob:
        return OneImageJob(prepared.endpoint_id, self.url, self.seed)
