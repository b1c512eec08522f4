"""Build the providers an app uses from the catalog, each with its own pooled ``httpx.AsyncClient``."""

from __future__ import annotations

import functools
import importlib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from providers.base import Provider
from providers.catalog import CATALOG, BuildContext, ProviderSpec
from providers.config import ProviderSettings, Timeouts
from providers.connection_pool import pooled_transport
from providers.retry import RetryPolicy

# Runs only wait on remote I/O: one connection per open status stream plus short calls, for hundreds of visitors.
MAX_CONNECTIONS = 1000
# Idle connections kept for reuse. Not fewer: httpcore 1.0.x compares the count of *all* connections with this
# limit and closes an idle one whenever it is exceeded, which can close a connection already handed to a waiting
# request (encode/httpcore#1110: the request then hangs until its read timeout), and 50 open status streams
# already exceed httpx's default of 20. httpcore's quadratic walk over the pool on every request start and end
# (encode/httpcore#1035) is gone where ``providers.connection_pool`` is active (it also counts only idle ones).
MAX_KEEPALIVE = 200


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificates every provider client verifies against: httpx's own default (certifi's bundle, the
    environment not read, as the clients do not read it), loaded once. httpx loads it for each client made without
    one, which costs about 16 ms of CPU (OpenSSL parsing the bundle) per client; an SSLContext is meant to be shared
    by many connections."""
    return httpx.create_ssl_context(trust_env=False)


def make_client(settings: ProviderSettings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The providers' client; ``transport`` for tests (default: httpx's own with the limits above and the shared TLS
    context, on ``LinearConnectionPool``). The client builds no transport of its own (``trust_env=False``: no
    proxies), so the limits and the TLS context live on the transport alone."""
    t = settings.timeouts
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(t.connect, read=t.read, write=t.read, pool=t.connect),
        transport=transport or pooled_transport(tls_context(), limits),
        follow_redirects=True,
        trust_env=False,
    )


@dataclass
class ProviderSet:
    """One provider per catalog entry, by name."""

    providers: dict[str, Provider]

    def get(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise KeyError(f"no provider {name!r} is configured; known: {', '.join(self.providers)}") from None

    def __iter__(self) -> Iterator[Provider]:
        return iter(self.providers.values())

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()


def build_providers(
    settings: ProviderSettings,
    *,
    local_file_roots: tuple[Path, ...] = (),
    is_sandbox: bool = False,
    retry: RetryPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ProviderSet:
    retry = retry or RetryPolicy()
    providers: dict[str, Provider] = {}
    for spec in CATALOG:
        ctx = BuildContext(
            client=make_client(settings, transport),
            urls={u.env: settings.url(u.env, u.default) for u in spec.urls},
            credentials=settings.key(spec.name),
            timeouts=settings.timeouts,
            retry=retry,
            local_file_roots=local_file_roots,
            is_sandbox=is_sandbox,
            new_client=lambda: make_client(settings, transport),
        )
        providers[spec.name] = builder_of(spec)(ctx)
    return ProviderSet(providers)


def builder_of(spec: ProviderSpec) -> Callable[[BuildContext], Provider]:
    """The function ``spec.builder`` names (``"providers.fal:build"``)."""
    module, _, name = spec.builder.partition(":")
    built: Callable[[BuildContext], Provider] = getattr(importlib.import_module(module), name)
    return built


def sandbox_settings(base_url: str, timeouts: Timeouts | None = None) -> ProviderSettings:
    """Settings that send every catalog provider to a sandbox serving at ``base_url``."""
    urls = {env: url for spec in CATALOG for env, url in spec.sandbox_urls(base_url).items()}
    return ProviderSettings(urls=urls, timeouts=timeouts or Timeouts())
