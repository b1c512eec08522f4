"""Provider configuration from the environment. Keys are read here and kept in ``Credentials``, never written back."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from providers.base import Credentials

DEFAULT_FAL_QUEUE_URL = "https://queue.fal.run"
DEFAULT_FAL_REST_URL = "https://rest.fal.ai"
DEFAULT_SEGMIND_API_URL = "https://api.segmind.com"


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    read: float = 30.0  # one HTTP read; the SSE stream has keep-alives every ~15 s
    segmind_read: float = 180.0  # Segmind v1 answers only when the image is done (~25 s typical)
    deadline: float = 600.0  # a whole run; past it the remote job is cancelled


@dataclass(frozen=True)
class ProviderSettings:
    fal_queue_url: str = DEFAULT_FAL_QUEUE_URL
    fal_rest_url: str = DEFAULT_FAL_REST_URL
    segmind_api_url: str = DEFAULT_SEGMIND_API_URL
    fal_key: Credentials | None = field(default=None, repr=False)
    segmind_key: Credentials | None = field(default=None, repr=False)
    timeouts: Timeouts = field(default_factory=Timeouts)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProviderSettings:
        env = os.environ if env is None else env

        def key(name: str) -> Credentials | None:
            value = env.get(name, "").strip()
            return Credentials(value, "environment") if value else None

        def url(name: str, default: str) -> str:
            return (env.get(name) or default).rstrip("/")

        return cls(
            fal_queue_url=url("FAL_QUEUE_URL", DEFAULT_FAL_QUEUE_URL),
            fal_rest_url=url("FAL_REST_URL", DEFAULT_FAL_REST_URL),
            segmind_api_url=url("SEGMIND_API_URL", DEFAULT_SEGMIND_API_URL),
            fal_key=key("FAL_KEY"),
            segmind_key=key("SEGMIND_API_KEY"),
        )
