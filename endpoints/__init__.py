"""The registry of hosted endpoints. Adding one is a module with its models and a ``SPEC``, listed here."""

from __future__ import annotations

from endpoints import (
    bfl,
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

#: Endpoints of providers that sell FLUX models directly (Black Forest Labs); reached through a model's provider
#: choice, not a tab of their own.
DIRECT_ENDPOINTS: tuple[EndpointSpec, ...] = bfl.SPECS

_ALL = ENDPOINTS + DIRECT_ENDPOINTS
_BY_ID = {spec.id: spec for spec in _ALL}
_BY_API_NAME = {spec.api_name: spec for spec in _ALL}
assert len(_BY_ID) == len(_ALL) and len(_BY_API_NAME) == len(_ALL), "endpoint ids must be unique"


def get_endpoint(key: str) -> EndpointSpec:
    """Look an endpoint up by id (``fal-ai/flux-pro``) or API name (``flux_pro``)."""
    try:
        return _BY_ID.get(key) or _BY_API_NAME[key]
    except KeyError:
        raise KeyError(f"unknown endpoint {key!r}; known: {', '.join(_BY_ID)}") from None


def find_endpoint(provider: str, endpoint_id: str) -> EndpointSpec | None:
    """The endpoint ``endpoint_id`` of ``provider``, or None (the sandbox serves what this finds)."""
    spec = _BY_ID.get(endpoint_id)
    return spec if spec is not None and spec.provider == provider else None


__all__ = ["DIRECT_ENDPOINTS", "ENDPOINTS", "EndpointSpec", "find_endpoint", "get_endpoint"]
