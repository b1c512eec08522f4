"""Which provider (live or sandbox) and which key serve a run, given a visitor's session keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from endpoints.base import EndpointSpec, ProviderName
from providers.base import Credentials, Provider
from providers.registry import ProviderSet

SANDBOX_KEY = Credentials("sandbox", "sandbox")


@dataclass(frozen=True)
class Route:
    provider: Provider
    credentials: Credentials | None
    label: str  # for people: "sandbox", "live (your session key)", "live (server key)"

    @property
    def is_sandbox(self) -> bool:
        return self.provider.is_sandbox


@dataclass
class Backends:
    """The live providers (real base URLs) and, when running, the embedded sandbox's providers."""

    live: ProviderSet
    sandbox: ProviderSet | None = None
    force_sandbox: bool = False  # PLAYGROUND_SANDBOX=1

    def route(self, provider: ProviderName, session_keys: Mapping[str, Credentials] | None = None) -> Route:
        session_key = (session_keys or {}).get(provider)
        live = self.live.get(provider)
        if self.sandbox is not None and self.force_sandbox:
            return Route(self.sandbox.get(provider), SANDBOX_KEY, "sandbox")
        if session_key:
            return Route(live, session_key, "live (your session key)")
        if live.credentials:
            return Route(live, live.credentials, "live (server key)")
        if self.sandbox is not None:
            return Route(self.sandbox.get(provider), SANDBOX_KEY, "sandbox")
        return Route(live, None, "live (no key)")

    def route_for(self, spec: EndpointSpec, session_keys: Mapping[str, Credentials] | None = None) -> Route:
        return self.route(spec.provider, session_keys)

    async def aclose(self) -> None:
        await self.live.aclose()
        if self.sandbox is not None:
            await self.sandbox.aclose()
