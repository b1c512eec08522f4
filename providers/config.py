"""Provider configuration from the environment. Keys are read here and kept in ``Credentials``, never written back."""

from __future__ import annotations

import os
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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProviderSettings:
        from providers.catalog import CATALOG

        env = os.environ if env is None else env
        urls: dict[str, str] = {}
        keys: dict[str, Credentials] = {}
        for spec in CATALOG:
            for setting in spec.urls:
                if env.get(setting.env):
                    urls[setting.env] = env[setting.env].rstrip("/")
            value = env.get(spec.key_env, "").strip()
            if value:
                keys[spec.name] = Credentials(value, "environment")
        return cls(urls=urls, keys=keys)

    def with_urls(self, urls: Mapping[str, str]) -> ProviderSettings:
        return ProviderSettings(urls={**self.urls, **urls}, keys=self.keys, timeouts=self.timeouts)

    def without_keys(self) -> ProviderSettings:
        return ProviderSettings(urls=self.urls, keys={}, timeouts=self.timeouts)
