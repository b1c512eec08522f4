"""The registry of hosted endpoints.

``ENDPOINTS``: the five seed endpoints, each a hand-written module with its models and a ``SPEC`` (they are the
contract, and always present; the app gives each a tab). It is one shared object, so everything that imported it
sees an endpoint added later with ``register`` (before the app is built: the tabs, API endpoints and MCP tools are
made at build time); ``unregister`` takes one out again (tests register throwaway endpoints and remove them).
``catalog_endpoints()``: the model catalog, endpoints built from fal's OpenAPI documents (``endpoints.catalog``,
configured by ``PLAYGROUND_ENDPOINTS``); they get no tab of their own. ``get_endpoint`` finds both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from endpoints import (
    bfl,
    flux_dev_image_to_image,
    flux_general_rf_inversion,
    flux_pro,
    flux_pro_depth_finetuned,
    segmind_flux_depth_pro,
)
from endpoints.base import EndpointSpec
from endpoints.catalog import shipped_catalog


class EndpointRegistry(Sequence[EndpointSpec]):
    """The endpoints in tab order; ids and API names are unique."""

    def __init__(self, specs: Iterable[EndpointSpec] = ()) -> None:
        self._specs: list[EndpointSpec] = []
        self._by_id: dict[str, EndpointSpec] = {}
        self._by_api_name: dict[str, EndpointSpec] = {}
        for spec in specs:
            self.register(spec)

    @overload
    def __getitem__(self, index: int) -> EndpointSpec: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[EndpointSpec]: ...
    def __getitem__(self, index: int | slice) -> EndpointSpec | Sequence[EndpointSpec]:
        return self._specs[index] if isinstance(index, int) else tuple(self._specs[index])

    def __len__(self) -> int:
        return len(self._specs)

    def __iter__(self) -> Iterator[EndpointSpec]:
        return iter(tuple(self._specs))

    def __repr__(self) -> str:
        return f"EndpointRegistry({', '.join(spec.api_name for spec in self._specs)})"

    def register(self, spec: EndpointSpec) -> EndpointSpec:
        """Add ``spec`` after the others. Raises ValueError when its id or API name is taken."""
        if spec.id in self._by_id or spec.api_name in self._by_api_name:
            raise ValueError(f"endpoint {spec.id!r} ({spec.api_name}): id or API name already registered")
        self._specs.append(spec)
        self._by_id[spec.id] = spec
        self._by_api_name[spec.api_name] = spec
        return spec

    def unregister(self, spec: EndpointSpec) -> None:
        """Remove ``spec`` (no error when it is not registered)."""
        if self._by_id.get(spec.id) is spec:
            self._specs.remove(spec)
            del self._by_id[spec.id]
            del self._by_api_name[spec.api_name]

    def taken(self, key: str) -> bool:
        """Whether ``key`` is the id or the API name of a registered endpoint."""
        return key in self._by_id or key in self._by_api_name

    def get(self, key: str) -> EndpointSpec:
        """Look an endpoint up by id (``fal-ai/flux-pro``) or API name (``flux_pro``)."""
        try:
            return self._by_id.get(key) or self._by_api_name[key]
        except KeyError:
            raise KeyError(f"unknown endpoint {key!r}; known: {', '.join(self._by_id)}") from None


ENDPOINTS = EndpointRegistry(
    (
        flux_pro.SPEC,
        flux_pro_depth_finetuned.SPEC,
        segmind_flux_depth_pro.SPEC,
        flux_general_rf_inversion.SPEC,
        flux_dev_image_to_image.SPEC,
    )
)
register = ENDPOINTS.register
unregister = ENDPOINTS.unregister

#: Endpoints of providers that sell FLUX models directly (Black Forest Labs); reached through a model's provider
#: choice (``endpoints.models``), not a tab of their own.
DIRECT_ENDPOINTS: tuple[EndpointSpec, ...] = bfl.SPECS
_DIRECT_BY_KEY = {key: spec for spec in DIRECT_ENDPOINTS for key in (spec.id, spec.api_name)}
assert len(_DIRECT_BY_KEY) == 2 * len(DIRECT_ENDPOINTS), "direct endpoint ids must be unique"
assert not any(ENDPOINTS.taken(key) for key in _DIRECT_BY_KEY), "direct endpoint ids must not clash with the seeds"

_catalog: tuple[EndpointSpec, ...] | None = None
_catalog_by_key: dict[str, EndpointSpec] = {}


def install_catalog(specs: Iterable[EndpointSpec]) -> tuple[EndpointSpec, ...]:
    """Make ``specs`` the catalog (at start-up, before the app is built). Seeds keep their ids and API names."""
    global _catalog
    specs = tuple(specs)
    by_key: dict[str, EndpointSpec] = {}
    for spec in specs:
        for key in (spec.id, spec.api_name):
            if ENDPOINTS.taken(key) or key in _DIRECT_BY_KEY or key in by_key:
                raise ValueError(f"catalog endpoint {spec.id}: {key!r} is already taken")
            by_key[key] = spec
    _catalog = specs
    _catalog_by_key.clear()
    _catalog_by_key.update(by_key)
    return specs


def catalog_endpoints() -> tuple[EndpointSpec, ...]:
    """The catalog; until ``install_catalog`` runs, the shipped FLUX set from its snapshots (no network)."""
    if _catalog is None:
        install_catalog(shipped_catalog(ENDPOINTS))
    return _catalog or ()


def all_endpoints() -> tuple[EndpointSpec, ...]:
    """The seed endpoints, the catalog, then the direct providers' endpoints."""
    return (*ENDPOINTS, *catalog_endpoints(), *DIRECT_ENDPOINTS)


def get_endpoint(key: str) -> EndpointSpec:
    """Look an endpoint up by id (``fal-ai/flux-pro``) or API name (``flux_pro``): seeds first, then the catalog,
    then the direct providers' endpoints."""
    if ENDPOINTS.taken(key):
        return ENDPOINTS.get(key)
    found = _catalog_by_key.get(key) if catalog_endpoints() else None
    found = found or _DIRECT_BY_KEY.get(key)
    if found is None:
        known = ", ".join(s.id for s in all_endpoints())
        raise KeyError(f"unknown endpoint {key!r}; known: {known}")
    return found


def find_endpoint(provider: str, endpoint_id: str) -> EndpointSpec | None:
    """The endpoint ``endpoint_id`` of ``provider``, or None (the sandbox serves what this finds)."""
    try:
        spec = get_endpoint(endpoint_id)
    except KeyError:
        return None
    return spec if spec.provider == provider and spec.id == endpoint_id else None


__all__ = [
    "DIRECT_ENDPOINTS",
    "ENDPOINTS",
    "EndpointRegistry",
    "EndpointSpec",
    "all_endpoints",
    "catalog_endpoints",
    "find_endpoint",
    "get_endpoint",
    "install_catalog",
    "register",
    "unregister",
]
