"""The price table of fal's pricing API in the sandbox (its route is in ``sandbox.pricing_routes``).

The table defaults to the prices the fal endpoints declare (``EndpointSpec.price``; ``DEFAULT_PRICES`` at import);
``SandboxOptions(prices=...)`` replaces it.
"""


from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from endpoints import all_endpoints


@dataclass(frozen=True)
class ModelPrice:
    """One endpoint's price as fal's pricing API reports it."""

    unit_price: float
    unit: str = "megapixels"  # fal also answers "images" for per-image models
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.unit_price) and self.unit_price >= 0):
            raise ValueError(f"unit_price must be a finite, non-negative number, not {self.unit_price!r}")


def spec_prices() -> dict[str, ModelPrice]:
    """The price each fal endpoint (seeds and catalog) declares now (``EndpointSpec.price``), as fal's pricing API reports it."""
    units = {"megapixel": "megapixels", "image": "images"}
    return {
        spec.id: ModelPrice(spec.price.unit_price_usd, units[spec.price.unit], spec.price.currency)
        for spec in all_endpoints()
        if spec.provider == "fal" and spec.price is not None
    }


#: fal's published prices for the endpoints the sandbox serves: the ones the endpoints declare.
DEFAULT_PRICES: Mapping[str, ModelPrice] = MappingProxyType(spec_prices())


def price_table(prices: Mapping[str, float | ModelPrice] | None) -> dict[str, ModelPrice]:
    """The table a sandbox serves: the endpoints' own prices when ``prices`` is None; a bare number is USD per
    megapixel."""
    given = spec_prices() if prices is None else prices
    return {
        endpoint_id: price if isinstance(price, ModelPrice) else ModelPrice(float(price))
        for endpoint_id, price in given.items()
    }
