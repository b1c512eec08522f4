"""The registry of hosted endpoints. Adding one is a module with its models and a ``SPEC``, listed here."""

from __future__ import annotations

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


def get_endpoint(key: str) -> EndpointSpec:
    """Look an endpoint up by id (``fal-ai/flux-pro``) or API name (``flux_pro``)."""
    try:
        return _BY_ID.get(key) or _BY_API_NAME[key]
    except KeyError:
        raise KeyError(f"unknown endpoint {key!r}; known: {', '.join(_BY_ID)}") from None


__all__ = ["ENDPOINTS", "EndpointSpec", "get_endpoint"]
