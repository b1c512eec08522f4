"""The registry of hosted endpoints.

``ENDPOINTS``: the five seed endpoints, each a hand-written module with its models and a ``SPEC`` (they are the
contract, and always present; the app gives each a tab). ``catalog_endpoints()``: the model catalog, endpoints built
from fal's OpenAPI documents (``endpoints.catalog``, configured by ``PLAYGROUND_ENDPOINTS``); they get no tab of
their own. ``get_endpoint`` finds both.
"""

from __future__ import annotations

from collections.abc import Iterable

from endpoints import (
    flux_dev_image_to_image,
    flux_general_rf_inversion,
    flux_pro,
    flux_pro_depth_finetuned,
    segmind_flux_depth_pro,
)
from endpoints.base import EndpointSpec

ENDPOINTS: tuple[EndpointSpec, ...] = (
    flux_pro.SPEC,
    flux_pro_depth_finetuned.SPEC,
    segmind_flux_depth_pro.SPEC,
    flux_general_rf_inversion.SPEC,
    flux_dev_image_to_image.SPEC,
)

_BY_ID = {spec.id: spec for spec in ENDPOINTS}
_BY_API_NAME = {spec.api_name: spec for spec in ENDPOINTS}
assert len(_BY_ID) == len(ENDPOINTS) and len(_BY_API_NAME) == len(ENDPOINTS), "endpoint ids must be unique"

_catalog: tuple[EndpointSpec, ...] | None = None
_catalog_by_key: dict[str, EndpointSpec] = {}


def install_catalog(specs: Iterable[EndpointSpec]) -> tuple[EndpointSpec, ...]:
    """Make ``specs`` the catalog (at start-up, before the app is built). Seeds keep their ids and API names."""
    global _catalog
    specs = tuple(specs)
    by_key: dict[str, EndpointSpec] = {}
    for spec in specs:
        for key in (spec.id, spec.api_name):
            if key in _BY_ID or key in _BY_API_NAME or key in by_key:
                raise ValueError(f"catalog endpoint {spec.id}: {key!r} is already taken")
            by_key[key] = spec
    _catalog = specs
    _catalog_by_key.clear()
    _catalog_by_key.update(by_key)
    return specs


def catalog_endpoints() -> tuple[EndpointSpec, ...]:
    """The catalog; until ``install_catalog`` runs, the shipped FLUX set from its snapshots (no network)."""
    if _catalog is None:
        from endpoints.catalog import shipped_catalog

        install_catalog(shipped_catalog(ENDPOINTS))
    return _catalog or ()


def all_endpoints() -> tuple[EndpointSpec, ...]:
    """The seed endpoints, then the catalog."""
    return (*ENDPOINTS, *catalog_endpoints())


def get_endpoint(key: str) -> EndpointSpec:
    """Look an endpoint up by id (``fal-ai/flux-pro``) or API name (``flux_pro``): seeds first, then the catalog."""
    found = _BY_ID.get(key) or _BY_API_NAME.get(key)
    if found is None:
        catalog_endpoints()
        found = _catalog_by_key.get(key)
    if found is None:
        known = ", ".join([*_BY_ID, *(s.id for s in catalog_endpoints())])
        raise KeyError(f"unknown endpoint {key!r}; known: {known}")
    return found


__all__ = ["ENDPOINTS", "EndpointSpec", "all_endpoints", "catalog_endpoints", "get_endpoint", "install_catalog"]
