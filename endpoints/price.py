"""How an endpoint is billed: the price model each ``EndpointSpec`` declares (``runs.pricing`` does the sums).

fal bills image models per image or per megapixel of output, the megapixels rounded up per image (1 MP =
1024×1024 px). FLUX.2 [pro] and [flex] bill the first megapixel at one rate and each further one at another,
counting the input images' megapixels too: ``extra_unit_price_usd`` and ``counts_input_images`` describe that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PriceUnit = Literal["megapixel", "image"]


@dataclass(frozen=True)
class PriceModel:
    """A price for one endpoint: ``unit_price_usd`` per ``unit``, and where and when it was read."""

    unit: PriceUnit
    unit_price_usd: float
    currency: str = "USD"
    source: str = "unknown"
    read_on: str = ""  # "2026-11" for a month read by hand, an ISO date when read from an API
    #: Megapixel prices only: the price of each megapixel after the first (None: every megapixel costs the same).
    extra_unit_price_usd: float | None = None
    #: Megapixel prices only: the input images' megapixels are billed too (FLUX.2 [pro] and [flex]).
    counts_input_images: bool = False

    def cited(self) -> str:
        """``fal price list, 2026-11``: the parenthesis a cost basis ends with."""
        return f"{self.source}, {self.read_on}" if self.read_on else self.source


FAL_PRICE_LIST = "fal price list"
