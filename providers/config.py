"""Provider configuration: base URLs, the server's keys (kept in ``Credentials``), timeouts. ``settings.Settings``
reads them from the environment (``Settings.provider_settings()``); nothing here reads it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from providers.base import Credentials


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 30.0  # one HTTP read
    stream_read: float = 20.0  # one read on fal's status stream (keep-alives every ~15 s)
    segmind_read: float = 180.0  # Segmind v1 answers only when the image is done (~25 s typical)
    deadline: float = 600.0  # a whole run; past it the remote job is cancelled


@dataclass(frozen=True)
class ProviderSettings:
    """Base URLs (by environment variable name) and server keys (by provider name), for every catalog entry."""

    urls: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Credentials] = field(default_factory=dict, repr=False)
    timeouts: Timeouts = field(default_factory=Timeouts)

    def url(self, env: str, default: str) -> str:
        return (self.urls.get(env) or default).rstrip("/")

    def key(self, provider: str) -> Credentials | None:
        return self.keys.get(provider)

    def with_urls(self, urls: Mapping[str, str]) -> ProviderSettings:
        return ProviderSettings(urls={**self.urls, **urls}, keys=self.keys, timeouts=self.timeouts)

    def without_keys(self) -> ProviderSettings:
        return ProviderSettings(urls=self.urls, keys={}, timeouts=self.timeouts)
