"""Which provider (live or sandbox) and which key serve a run, given a visitor's session keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from providers.base import Credentials, Provider
from providers.registry import ProviderSet

SANDBOX_KEY = Credentials("sandbox", "sandbox")

RouteKind = Literal["sandbox", "server_key", "session_key", "no_key"]
ROUTE_LABELS: dict[RouteKind, str] = {
    "sandbox": "sandbox",
    "session_key": "live (your session key)",
    "server_key": "live (server key)",
    "no_key": "live (no key)",
}


@dataclass(frozen=True)
class Route:
    provider: Provider
    credentials: Credentials | None
    kind: RouteKind

    @property
    def label(self) -> str:
        """For people: "sandbox", "live (your session key)", "live (server key)", "live (no key)"."""
        return ROUTE_LABELS[self.kind]

    @property
    def is_sandbox(self) -> bool:
        return self.kind == "sandbox"

    @property
    def uses_server_key(self) -> bool:
        return self.kind == "server_key"


@dataclass
class Backends:
    """The live providers (real base URLs) and, when running, the embedded sandbox's providers."""

    live: ProviderSet
    sandbox: ProviderSet | None = None
    force_sandbox: bool = False  # PLAYGROUND_SANDBOX=1

    def route(self, provider: str, session_keys: Mapping[str, Credentials] | None = None) -> Route:
        session_key = (session_keys or {}).get(provider)
        live = self.live.get(provider)
        if self.sandbox is not None and self.force_sandbox:
            return Route(self.sandbox.get(provider), SANDBOX_KEY, "sandbox")
        if session_key:
            return Route(live, session_key, "session_key")
        if live.credentials:
            return Route(live, live.credentials, "server_key")
        if self.sandbox is not None:
            return Route(self.sandbox.get(provider), SANDBOX_KEY, "sandbox")
        return Route(live, None, "no_key")

    def any_sandbox(self, session_keys: Mapping[str, Credentials] | None = None) -> bool:
        return any(self.route(p.name, session_keys).is_sandbox for p in self.live)

    async def aclose(self) -> None:
        await self.live.aclose()
        if self.sandbox is not None:
            await self.sandbox.aclose()
