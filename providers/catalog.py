"""The provider catalog: one declaration per provider, and the only place provider names are spelled out.

Settings, badges, error messages, configuration, routing and the sandbox wiring all loop over ``CATALOG``.
Adding a provider is one provider module, one sandbox module and one ``ProviderSpec`` here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from providers.base import Credentials
from providers.config import Timeouts
from providers.retry import RetryPolicy


@dataclass(frozen=True)
class UrlSetting:
    """A base URL the provider needs: its environment variable, the real service's URL, and the sandbox's path."""

    env: str
    default: str
    sandbox_path: str  # under the sandbox's base URL


@dataclass(frozen=True)
class BuildContext:
    """Everything a provider is built from; providers never read the environment themselves."""

    client: httpx.AsyncClient
    urls: Mapping[str, str]  # by environment variable name, scheme included, no trailing slash
    credentials: Credentials | None
    timeouts: Timeouts
    retry: RetryPolicy
    local_file_roots: tuple[Path, ...]
    is_sandbox: bool
    #: Another pooled client like ``client``, for traffic kept apart from it (fal's long-lived status streams).
    new_client: Callable[[], httpx.AsyncClient]


#: What a provider's result URLs are: ``stable`` (shown as they are and copied off the critical path), ``expiring``
#: (signed URLs that die within minutes: the image is saved at once, before the run ends), or ``inline`` (bytes).
ResultUrls = Literal["stable", "expiring", "inline"]


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # routing key, ``EndpointSpec.provider``
    title: str  # for people: "fal.ai"
    key_env: str  # the environment variable (and Space secret) holding the server's key
    key_placeholder: str
    urls: tuple[UrlSetting, ...]
    #: ``"module:function"``, the function building the provider from a ``BuildContext`` (``providers.registry``
    #: imports it): the catalog only declares, so the provider modules may read it without an import cycle.
    builder: str
    protocol: str  # the wire protocol (``runs.codegen`` writes code per protocol): "fal-queue", "segmind-v1"
    key_problem: Callable[[str], str | None] = lambda key: None  # a warning for a key of the wrong shape
    can_cancel: bool = True  # False: a stopped run may still run, and be billed, upstream
    credits_are_usd: bool = False  # the cost the provider reports is also the credits it took
    billing: str = "bills only successful outputs"  # for people, in cost bases
    sweep_concurrency: int = 4  # sweep cells in flight at once (``<NAME>_MAX_CONCURRENCY`` overrides)
    result_urls: ResultUrls = "stable"
    usd_per_credit: float | None = None  # a provider with a credits balance (``Provider.credits``): what one is worth
    #: ``"module:function"`` giving the sandbox's routes for this provider's wire protocol (``function(state)`` ->
    #: Starlette mounts, under the ``sandbox_path`` of its URLs); ``sandbox/app.py`` mounts every provider's.
    sandbox: str | None = None

    def url_defaults(self) -> dict[str, str]:
        return {u.env: u.default for u in self.urls}

    def sandbox_urls(self, base: str) -> dict[str, str]:
        return {u.env: f"{base.rstrip('/')}{u.sandbox_path}" for u in self.urls}


def fal_key_problem(key: str) -> str | None:
    """fal keys are ``key-id:key-secret``; anything else is most likely a paste error."""
    key_id, sep, secret = key.partition(":")
    if not sep or not key_id or not secret:
        return "A fal key looks like key-id:key-secret (two parts joined by a colon); this one does not."
    return None


CATALOG: list[ProviderSpec] = [
    ProviderSpec(
        name="fal",
        title="fal.ai",
        key_env="FAL_KEY",
        key_placeholder="key-id:key-secret",
        urls=(
            UrlSetting("FAL_QUEUE_URL", "https://queue.fal.run", "/fal/queue"),
            UrlSetting("FAL_REST_URL", "https://rest.fal.ai", "/fal/rest"),
            UrlSetting("FAL_API_URL", "https://api.fal.ai", "/fal/api"),
        ),
        builder="providers.fal:build",
        sandbox="sandbox.fal_mounts:mounts",
        protocol="fal-queue",
        key_problem=fal_key_problem,
        sweep_concurrency=16,  # fal queues requests beyond an account's own limit itself
    ),
    ProviderSpec(
        name="segmind",
        title="Segmind",
        key_env="SEGMIND_API_KEY",
        key_placeholder="SG_…",
        urls=(UrlSetting("SEGMIND_API_URL", "https://api.segmind.com", "/segmind"),),
        builder="providers.segmind:build",
        sandbox="sandbox.segmind:mounts",
        protocol="segmind-v1",
        can_cancel=False,
        credits_are_usd=True,
        billing="answered with an error; assumed not billed",
        sweep_concurrency=4,
        result_urls="inline",
    ),
    ProviderSpec(
        name="bfl",
        title="Black Forest Labs",
        key_env="BFL_API_KEY",
        key_placeholder="your BFL API key",
        urls=(UrlSetting("BFL_API_URL", "https://api.bfl.ai", "/bfl"),),
        builder="providers.bfl:build",
        sandbox="sandbox.bfl:mounts",
        protocol="bfl-v1",
        can_cancel=False,
        credits_are_usd=False,
        usd_per_credit=0.01,  # GET /v1/credits; 1 credit = $0.01
        billing="bills each image it delivers",
        sweep_concurrency=6,  # BFL allows 24 active tasks per key, 6 on Kontext [max]
        result_urls="expiring",
    ),
]

_BY_NAME = {spec.name: spec for spec in CATALOG}


def register_provider(spec: ProviderSpec) -> None:
    """Add a provider declared outside this module. Call it before ``settings`` and the app are imported: the
    settings object reads the catalog once (each provider's key and URL variables)."""
    if spec.name in _BY_NAME:
        raise ValueError(f"provider {spec.name!r} is already in the catalog")
    CATALOG.append(spec)
    _BY_NAME[spec.name] = spec


def provider_spec(name: str) -> ProviderSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(_BY_NAME)}") from None


def provider_title(name: str) -> str:
    spec = _BY_NAME.get(name)
    return spec.title if spec else name
