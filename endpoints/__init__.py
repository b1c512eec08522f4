"""The registry of hosted endpoints. Adding one is a module with its models and a ``SPEC``, listed here.

``ENDPOINTS`` is one shared object, so everything that imported it sees an endpoint added later with ``register``
(before the app is built: the tabs, API endpoints and MCP tools are made at build time). ``unregister`` takes one
out again (tests register throwaway endpoints and remove them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from endpoints import (
    flux_dev_image_to_image,
    flux_general_rf_inversion,
    flux_pro,
    flux_pro_depth_finetuned,
    segmind_flux_depth_pro,
)
from endpoints.base import EndpointSpec


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


def get_endpoint(key: str) -> EndpointSpec:
    """Look an endpoint up by id (``fal-ai/flux-pro``) or API name (``flux_pro``)."""
    return ENDPOINTS.get(key)


__all__ = ["ENDPOINTS", "EndpointRegistry", "EndpointSpec", "get_endpoint", "register", "unregister"]
