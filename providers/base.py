"""The provider seam: submit an endpoint's input, iterate typed events until the result, cancel at any time.

A provider knows nothing of Gradio. It receives its ``httpx.AsyncClient`` and base URLs from outside, so tests
and the sandbox swap them without patching.

Contract of ``Job.events()``: an async iterator yielding ``Queued`` / ``Running`` events and, last, exactly one
``Completed``; any failure raises a ``ProviderError`` subclass (providers/errors.py). Breaking out of the loop
does not cancel the remote job — call ``Job.cancel()`` (the UI does so in ``finally`` when a run is stopped).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from endpoints.base import EndpointSpec, WireModel


@dataclass(frozen=True)
class Credentials:
    """A provider key. ``repr`` never shows it, so it cannot leak through logs or tracebacks."""

    key: str = field(repr=False)
    source: str = "environment"  # "environment" | "session" | "sandbox"

    def __bool__(self) -> bool:
        return bool(self.key)


@dataclass(frozen=True)
class LogLine:
    message: str
    level: str = "INFO"
    timestamp: str | None = None


@dataclass(frozen=True)
class ResultImage:
    url: str
    width: int | None
    height: int | None
    content_type: str


@dataclass(frozen=True)
class Result:
    """Every provider's output, normalised. ``has_nsfw_concepts`` is None where the provider reports nothing."""

    endpoint_id: str
    request_id: str | None
    images: list[ResultImage]
    seed: int | None
    has_nsfw_concepts: list[bool] | None
    prompt: str | None
    timings: dict[str, float]
    extras: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON for the UI and API (no ``path`` keys: gradio_client would take them for files)."""
        return {
            "endpoint_id": self.endpoint_id,
            "request_id": self.request_id,
            "images": [
                {"url": i.url, "width": i.width, "height": i.height, "content_type": i.content_type}
                for i in self.images
            ],
            "seed": self.seed,
            "has_nsfw_concepts": self.has_nsfw_concepts,
            "prompt": self.prompt,
            "timings": self.timings,
            **({"extras": self.extras} if self.extras else {}),
        }


@dataclass(frozen=True)
class Queued:
    position: int  # requests ahead of this one, 0-based


@dataclass(frozen=True)
class Running:
    logs: tuple[LogLine, ...]  # only the lines not delivered before


@dataclass(frozen=True)
class Completed:
    result: Result


JobEvent = Queued | Running | Completed


class Job(Protocol):
    request_id: str | None

    def events(self) -> AsyncIterator[JobEvent]: ...

    async def cancel(self) -> None:
        """Ask the provider to cancel the remote request; never raises for a job already finished."""


class Provider(Protocol):
    name: str
    is_sandbox: bool
    client: httpx.AsyncClient  # shared, pooled; also fetches this provider's result images

    async def submit(self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None) -> Job:
        """Send the request (uploading local files first where needed) and return the job."""

    async def aclose(self) -> None: ...
