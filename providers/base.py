"""The provider seam: prepare a request, send it, iterate typed events until the result, cancel at any time.

A provider knows nothing of Gradio. It receives its ``httpx.AsyncClient`` and base URLs from outside, so tests
and the sandbox swap them without patching.

``prepare(endpoint, input, credentials) -> PreparedRequest`` does the uploads and fixes the body; ``send(prepared)
-> Job`` puts it on the wire; ``submit`` is both, for every provider.

Contract of ``Job.events()``: an async iterator yielding ``Queued`` / ``Running`` events and, last, exactly one
``Completed``; any failure raises a ``ProviderError`` subclass (providers/errors.py). Breaking out of the loop
does not cancel the remote job — call ``Job.cancel()`` (``runs.runner`` does, whenever a run ends without its
result).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

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
    """A result image: at a URL (fal's CDN, the sandbox) or, for providers that answer with bytes, ``inline``."""

    url: str
    width: int | None
    height: int | None
    content_type: str
    inline: bytes | None = field(default=None, repr=False, compare=False)


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
            "extras": dict(self.extras),
        }


REDACTED = "<redacted>"


@dataclass(frozen=True)
class FilePart:
    """A file sent as a multipart part (Segmind uploads); the record keeps its description, not its bytes."""

    field: str
    file_name: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PreparedRequest:
    """The request exactly as it will be sent: uploads done, body final, secrets kept apart.

    ``headers`` holds what may be shown (secret headers appear as ``<redacted>``); the real secret headers live
    in ``secret_headers``, which is excluded from ``repr``, equality and ``to_json``. ``body`` is the JSON body,
    or for multipart the form fields as sent (strings); ``files`` describes the multipart file parts, whose bytes
    are read from ``file_paths`` at send time (or, for BFL, files sent inline: from ``file_paths``, or the caller's
    own base64 in ``inline_values``, kept out of records like the paths). ``uploads`` maps each local-file field to the URL it was uploaded
    to (fal storage), so the body already holds that URL.
    """

    provider: str
    endpoint_id: str
    method: str
    url: str
    headers: dict[str, str]
    body_kind: str  # "json" | "multipart"
    body: dict[str, Any]
    files: tuple[FilePart, ...] = ()
    uploads: dict[str, str] = field(default_factory=dict)
    secret_headers: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    file_paths: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    inline_values: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def send_headers(self) -> dict[str, str]:
        return {**self.headers, **self.secret_headers}

    def to_json(self) -> dict[str, Any]:
        """For records, API output and code generation: never a secret, never a server path."""
        return {
            "provider": self.provider,
            "endpoint_id": self.endpoint_id,
            "method": self.method,
            "url": self.url,
            "headers": dict(self.headers),
            "body_kind": self.body_kind,
            "body": self.body,
            "files": [
                {"field": f.field, "file_name": f.file_name, "content_type": f.content_type, "size": f.size,
                 "sha256": f.sha256}
                for f in self.files
            ],
            "uploads": dict(self.uploads),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PreparedRequest:
        return cls(
            provider=data["provider"],
            endpoint_id=data["endpoint_id"],
            method=data["method"],
            url=data["url"],
            headers=dict(data.get("headers") or {}),
            body_kind=data.get("body_kind", "json"),
            body=dict(data.get("body") or {}),
            files=tuple(FilePart(**f) for f in data.get("files") or ()),
            uploads=dict(data.get("uploads") or {}),
        )


@dataclass(frozen=True)
class Queued:
    position: int | None = None  # requests ahead of this one, 0-based; None where the provider gives none (BFL)


@dataclass(frozen=True)
class Running:
    logs: tuple[LogLine, ...]  # only the lines not delivered before


@dataclass(frozen=True)
class Completed:
    result: Result


JobEvent = Queued | Running | Completed


class Job(Protocol):
    request_id: str | None

    def events(self) -> AsyncGenerator[JobEvent, None]: ...

    async def cancel(self) -> None:
        """Ask the provider to cancel the remote request; never raises for a job already finished."""


class Provider(Protocol):
    name: str  # the catalog name
    is_sandbox: bool
    client: httpx.AsyncClient  # shared, pooled; also fetches this provider's result images
    credentials: Credentials | None  # the server's key, if any
    pricing_url: str | None  # base URL of a pricing API in fal's shape (``runs.pricing.PriceBook``), if any

    @property
    def request_base(self) -> str:
        """The base URL every run request of this provider starts with (``PreparedRequest.url``)."""
        ...

    async def prepare(
        self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None
    ) -> PreparedRequest:
        """Upload local files where the provider needs URLs and fix the body; nothing is submitted yet."""
        ...

    async def send(self, prepared: PreparedRequest) -> Job:
        """Submit the prepared request and return the job (never retried once it may have left)."""
        ...

    async def submit(self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None) -> Job:
        """``send(await prepare(...))``."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class KeepsBalance(Protocol):
    """A provider with a credits balance (``ProviderSpec.usd_per_credit``), read with the given key or its own."""

    async def credits(self, credentials: Credentials | None = None) -> float: ...
