"""Prices per endpoint, cost estimates before a run, and the cost after it.

fal bills image models per image or per megapixel of output, the megapixels rounded up per image (1 MP = 1024×1024
px, so 1024×768 counts as 1 MP and 1280×1024 as 2), and only for successful outputs. A shipped table gives a price
for every endpoint; ``PriceBook.refresh`` replaces fal's entries with what fal's pricing API says, cached for a day.
Segmind answers with the run's actual cost (``x-cost``) and the credits left, which ``actual_cost`` prefers to any
estimate.

No Gradio here, and no key is ever kept: ``PriceBook.refresh`` takes the key per call and logs without it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import httpx

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec
from endpoints.price import PriceModel, PriceUnit
from providers.catalog import ProviderSpec, provider_spec
from providers.routing import Route
from runs.record import Cost

log = logging.getLogger(__name__)

#: fal counts megapixels of 1024×1024 pixels.
MEGAPIXEL = 1024 * 1024

DEFAULT_FAL_API_URL = "https://api.fal.ai"

#: How long prices read from fal's pricing API are trusted before the next refresh asks again.
PRICE_CACHE_TTL = dt.timedelta(days=1)
#: After a failed refresh, how long to use the fallback before asking again (so a broken API is not asked per run).
PRICE_RETRY_AFTER_FAILURE = dt.timedelta(minutes=10)

_UNITS: dict[str, PriceUnit] = {
    "megapixel": "megapixel",
    "megapixels": "megapixel",
    "image": "image",
    "images": "image",
}


#: Prices shipped with the app (each endpoint declares its own, ``EndpointSpec.price``), used until (or when) fal's
#: pricing API cannot be read.
SHIPPED_PRICES: dict[str, PriceModel] = {spec.id: spec.price for spec in ENDPOINTS if spec.price is not None}


def format_usd(amount: float) -> str:
    """``$0.05``, ``$0.075``, ``$1.00``: at least cents, at most six decimals, no float noise."""
    text = f"{abs(amount):.6f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{'-' if amount < 0 else ''}${whole}.{fraction.ljust(2, '0')}"


# --------------------------------------------------------------------------------------------------------- estimates


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _num_images(spec: EndpointSpec, wire_input: Mapping[str, Any]) -> tuple[int | None, str]:
    """(images the run makes, the field that says so): 1 when the endpoint has no ``count`` role or leaves it unset."""
    name = spec.field_for("count")
    if name is None:
        return 1, ""
    value = wire_input.get(name, 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None, name
    return value, name


def _size(image_size: Any) -> tuple[int, int] | None:
    if isinstance(image_size, str):
        return IMAGE_SIZE_PRESETS.get(image_size)
    if isinstance(image_size, Mapping):
        width, height = image_size.get("width"), image_size.get("height")
        if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height)):
            return int(width), int(height)  # type: ignore[arg-type]
    return None


def megapixels(width: int, height: int) -> int:
    """Billed megapixels of one image: rounded up, 1 MP = 1024×1024 px."""
    return max(1, math.ceil(width * height / MEGAPIXEL))


def input_image_count(spec: EndpointSpec, wire_input: Mapping[str, Any]) -> int:
    """How many input images the run sends: its ``image`` field (0 or 1) plus the items of its ``images`` field."""
    count = 0
    if (name := spec.field_for("image")) is not None and wire_input.get(name):
        count += 1
    if (name := spec.field_for("images")) is not None and isinstance(value := wire_input.get(name), list):
        count += sum(1 for item in value if item)
    return count


Size = tuple[int, int]


def estimate_cost(
    spec: EndpointSpec,
    wire_input: Mapping[str, Any],
    price: PriceModel | None,
    *,
    output_sizes: Sequence[Size] | None = None,
    input_sizes: Sequence[Size] | None = None,
) -> Cost:
    """What a run of ``spec`` with this input should cost, with the working shown in ``basis``.

    ``wire_input`` is the body as sent (``WireModel.to_wire()``); the image count and size are read from the fields
    that play the ``count`` and ``size`` roles. Megapixel prices use the size (a preset or ``{"width",
    "height"}``); when there is none the output follows the input image, whose size is not known here, so 1 MP per
    image is assumed and the basis says so; ``output_sizes`` (one per image, known after the run) replace that
    guess. A size the input sets is what is billed (the sandbox may render smaller). ``input_sizes`` are the input
    images' sizes where known; a price that ``counts_input_images`` assumes 1 MP for each other one, and says so.

    A megapixel price with ``extra_unit_price_usd`` (FLUX.2 [pro] and [flex]) bills, per output image, the first
    megapixel at ``unit_price_usd`` and every further megapixel, of the output and (``counts_input_images``) of
    every input image, at ``extra_unit_price_usd``: ``first + (out_MP − 1) × extra + in_MP × extra``, each image's
    megapixels rounded up.
    """
    endpoint_id = spec.id
    if price is None:
        return Cost(None, f"no price known for {endpoint_id}")
    if price.currency != "USD":
        return Cost(None, f"price for {endpoint_id} is in {price.currency}, not USD")
    count, count_field = _num_images(spec, wire_input)
    if count is None:
        return Cost(None, f"{count_field} {wire_input.get(count_field)!r} is not a positive whole number")
    unit_price = format_usd(price.unit_price_usd)
    if price.unit == "image":
        usd = round(count * price.unit_price_usd, 6)
        return Cost(usd, f"{_plural(count, 'image')} × {unit_price} ({price.cited()})")
    notes: list[str] = []
    size_field = spec.field_for("size")
    image_size = wire_input.get(size_field) if size_field is not None else None
    width_field, height_field = spec.field_for("width"), spec.field_for("height")
    if image_size is None and width_field is not None and height_field is not None:  # separate fields (BFL)
        width, height = wire_input.get(width_field), wire_input.get(height_field)
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            image_size = {"width": width, "height": height}
    if image_size is None and output_sizes:
        out_mps = [megapixels(*size) for size in output_sizes]
        count = len(out_mps)
    elif image_size is None:
        out_mps = [1] * count
        notes.append("the size follows the input image, estimated at 1 MP")
    else:
        size = _size(image_size)
        if size is None:
            return Cost(None, f"{size_field} {image_size!r} not understood; no estimate")
        out_mps = [megapixels(*size)] * count
    in_mp = 0
    if price.counts_input_images:
        sent = input_image_count(spec, wire_input)
        known = [megapixels(*size) for size in (input_sizes or ())][:sent]
        in_mp = sum(known) + (sent - len(known))
        if sent > len(known):
            notes.append(f"inputs estimated at 1 MP each ({_plural(sent - len(known), 'input image')})")
    note = "".join(f"; {n}" for n in notes)
    uniform = len(set(out_mps)) == 1
    if price.extra_unit_price_usd is None and not price.counts_input_images:
        usd = round(sum(out_mps) * price.unit_price_usd, 6)
        per = f"{_plural(count, 'image')} × {out_mps[0]} MP" if uniform else f"{_plural(count, 'image')}, {sum(out_mps)} MP"
        return Cost(usd, f"{per} × {unit_price} ({price.cited()}){note}")
    extra = price.unit_price_usd if price.extra_unit_price_usd is None else price.extra_unit_price_usd
    further = sum(mp - 1 for mp in out_mps) + count * in_mp
    usd = round(count * price.unit_price_usd + further * extra, 6)
    output = f"{out_mps[0]} MP" if uniform else "+".join(str(mp) for mp in out_mps) + " MP"
    output += " each" if count > 1 and uniform else ""
    inputs = f", inputs {in_mp} MP" if price.counts_input_images else ""
    basis = (
        f"{_plural(count, 'image')}: {count} × {unit_price} first MP + {further} further MP × {format_usd(extra)} "
        f"(output {output}{inputs}) ({price.cited()}){note}"
    )
    return Cost(usd, basis)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def actual_cost(
    estimate: Cost, *, state: str, extras: Mapping[str, Any] | None = None, provider: str | None = None
) -> Cost:
    """The cost once a run has ended (``state``: done, failed or stopped).

    - A cost the provider reported (Segmind's ``x-cost`` header, in ``extras["cost"]``) wins over any estimate; the
      credits left (``extras["remaining_credits"]``) are named in the basis. ``credits`` holds the credits used:
      ``extras["credits_used"]`` where a provider reports them, else for Segmind the reported cost, its credits
      being US dollars (as the sandbox documents them; not confirmed by Segmind's own docs).
    - A run that finished is settled at its estimate, which the runner has already worked out again on the output
      sizes the provider reported (``Run._known_cost``: image-to-image and RF-inversion outputs follow the input).
    - A job the provider completed is billed even when its result could not be fetched, or the run was stopped
      while fetching it (``extras["completed_upstream"]``): it is settled at the estimate, and the basis says so.
    - fal bills only successful outputs: a failed or stopped run costs $0.
    - Segmind (``provider="segmind"``) has no cancel: a run stopped on our side may still run and be billed there,
      so the estimate is kept; a run Segmind answered with an error is taken as not billed (unconfirmed).
    """
    extras = extras or {}
    reported = _finite(extras.get("cost"))
    remaining = _finite(extras.get("remaining_credits"))
    credits_used = _finite(extras.get("credits_used"))
    left = f"; {remaining:g} credits left" if remaining is not None else ""
    spec = _provider(provider)
    if reported is not None:
        if credits_used is None and spec is not None and spec.credits_are_usd:
            credits_used = reported
        return Cost(round(reported, 6), f"reported by the provider (x-cost){left}", credits=credits_used)
    if state == "done":
        settled = estimate
        if left or credits_used is not None:
            return Cost(settled.usd, f"{settled.basis}{left}", credits=credits_used)
        return settled
    if extras.get("completed_upstream"):
        title = spec.title if spec is not None else "the provider"
        amount = format_usd(estimate.usd) if estimate.usd is not None else "unknown"
        return Cost(
            estimate.usd,
            f"{estimate.basis}; {title} completed the job upstream, so it is billed, but its result was not "
            f"fetched: settled at the estimate ({amount})",
        )
    if spec is not None and not spec.can_cancel and state == "stopped":
        return Cost(estimate.usd, f"{estimate.basis}; {spec.title} has no cancel, so a stopped run may still be billed")
    title, billing = (spec.title, spec.billing) if spec is not None else ("fal", "bills only successful outputs")
    return Cost(0.0, f"not billed: the run {state} ({title} {billing})")


def _provider(name: str | None) -> ProviderSpec | None:
    try:
        return provider_spec(name) if name else None
    except KeyError:
        return None


# -------------------------------------------------------------------------------------------------------- price book


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PriceBook:
    """The shipped prices, overlaid by prices read from fal's pricing API (cached for ``ttl``).

    ``price_for`` never blocks: it answers from what is known. ``refresh`` asks fal for the endpoints whose price
    is not fresh, in one request; concurrent refreshes wait for the one under way instead of asking again. When fal
    cannot be read the last known price stays (the shipped one unless an earlier refresh succeeded), and the
    endpoints are asked again after ``retry_after_failure``.
    """

    def __init__(
        self,
        shipped: Mapping[str, PriceModel] | None = None,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
        ttl: dt.timedelta = PRICE_CACHE_TTL,
        retry_after_failure: dt.timedelta = PRICE_RETRY_AFTER_FAILURE,
        timeout: float = 10.0,
    ) -> None:
        # None: each registered endpoint's own price (``EndpointSpec.price``), read when asked, so an endpoint
        # registered later is priced too.
        self._shipped: dict[str, PriceModel] | None = None if shipped is None else dict(shipped)
        self._fetched: dict[str, PriceModel] = {}
        self._next_check: dict[str, dt.datetime] = {}
        self._clock = clock
        self._ttl = ttl
        self._retry_after_failure = retry_after_failure
        self._timeout = timeout
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        shipped = "the endpoints'" if self._shipped is None else len(self._shipped)
        return f"PriceBook(shipped={shipped}, from_api={len(self._fetched)})"

    def price_for(self, endpoint_id: str) -> PriceModel | None:
        """The price read from fal's pricing API when there is one, else the shipped one.

        fal's API gives one unit price. For an endpoint whose shipped price has more structure (FLUX.2: each further
        megapixel at another rate, input images counted), the API's price is the first megapixel's and the rest of
        the structure stays as shipped, the source saying so."""
        fetched, shipped = self._fetched.get(endpoint_id), self._shipped_price(endpoint_id)
        if fetched is None or shipped is None:
            return fetched or shipped
        structured = shipped.extra_unit_price_usd is not None or shipped.counts_input_images
        if structured and fetched.unit == shipped.unit == "megapixel":
            return replace(
                fetched,
                extra_unit_price_usd=shipped.extra_unit_price_usd,
                counts_input_images=shipped.counts_input_images,
                source=f"{fetched.source} for the first MP, further MP as shipped ({shipped.cited()})",
            )
        return fetched

    def _shipped_price(self, endpoint_id: str) -> PriceModel | None:
        if self._shipped is not None:
            return self._shipped.get(endpoint_id)
        try:
            return get_endpoint(endpoint_id).price
        except KeyError:
            return None

    def estimate(
        self,
        spec: EndpointSpec,
        wire_input: Mapping[str, Any],
        *,
        output_sizes: Sequence[Size] | None = None,
        input_sizes: Sequence[Size] | None = None,
    ) -> Cost:
        """``estimate_cost`` at the price known for ``spec`` (see ``estimate_cost`` for the sizes)."""
        return estimate_cost(
            spec, wire_input, self.price_for(spec.id), output_sizes=output_sizes, input_sizes=input_sizes
        )

    def is_fresh(self, endpoint_id: str) -> bool:
        """True while ``refresh`` would not ask fal about this endpoint."""
        due = self._next_check.get(endpoint_id)
        return due is not None and self._now() < due

    def _now(self) -> dt.datetime:
        now = self._clock()
        return now if now.tzinfo else now.replace(tzinfo=dt.UTC)

    def _refresh_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:  # an asyncio.Lock belongs to one event loop
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def refresh(self, client: httpx.AsyncClient, api_url: str, key: str, endpoint_ids: Iterable[str]) -> None:
        """Read current prices from ``GET {api_url}/v1/models/pricing?endpoint_id=...``. Never raises (but for
        cancellation): on any failure the known prices stay and one line is logged, without the key."""
        wanted = list(dict.fromkeys(endpoint_ids))
        if all(self.is_fresh(i) for i in wanted):
            return
        async with self._refresh_lock():
            stale = [i for i in wanted if not self.is_fresh(i)]  # another refresh may have read them meanwhile
            if stale:
                await self._fetch(client, api_url, key, stale)

    async def _fetch(self, client: httpx.AsyncClient, api_url: str, key: str, endpoint_ids: list[str]) -> None:
        url = f"{api_url.rstrip('/')}/v1/models/pricing"
        try:
            response = await client.get(
                url,
                params=[("endpoint_id", i) for i in endpoint_ids],
                headers={"Authorization": f"Key {key}"},
                timeout=self._timeout,
            )
        # Transport errors, a bad URL, a malformed key refused by httpx: the message is never echoed (it may quote
        # the header).
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, TypeError) as exc:
            self._failed(url, f"request failed ({type(exc).__name__})", endpoint_ids)
            return
        if response.status_code != 200:
            self._failed(url, f"HTTP {response.status_code}", endpoint_ids)
            return
        try:
            data = response.json()
        except ValueError:
            self._failed(url, "the answer is not JSON", endpoint_ids)
            return
        entries = data.get("prices") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            self._failed(url, "the answer has no list of prices", endpoint_ids)
            return
        now = self._now()
        read_on = now.date().isoformat()
        wanted = set(endpoint_ids)
        for entry in entries:
            parsed = self._parse(entry, read_on)
            if parsed is not None and parsed[0] in wanted:
                self._fetched[parsed[0]] = parsed[1]
        for endpoint_id in endpoint_ids:  # read, or not listed by fal: either way, not asked again today
            self._next_check[endpoint_id] = now + self._ttl

    def _parse(self, entry: Any, read_on: str) -> tuple[str, PriceModel] | None:
        if not isinstance(entry, dict) or not isinstance(entry.get("endpoint_id"), str):
            log.warning("fal pricing: ignored an entry without an endpoint_id")
            return None
        endpoint_id = entry["endpoint_id"]
        unit = _UNITS.get(str(entry.get("unit", "")).strip().lower())
        price = _finite(entry.get("unit_price"))
        currency = entry.get("currency", "USD")
        if unit is None:
            log.warning("fal pricing: ignored %s, unit %r is not per image or per megapixel", endpoint_id, entry.get("unit"))
            return None
        if price is None or price < 0:
            log.warning("fal pricing: ignored %s, unit_price %r is not a price", endpoint_id, entry.get("unit_price"))
            return None
        if currency != "USD":
            log.warning("fal pricing: ignored %s, currency %r is not USD", endpoint_id, currency)
            return None
        return endpoint_id, PriceModel(unit, price, "USD", source="fal pricing API", read_on=read_on)

    def _failed(self, url: str, why: str, endpoint_ids: list[str]) -> None:
        log.warning("fal pricing: %s from %s; using the last known prices", why, url)
        retry_at = self._now() + self._retry_after_failure
        for endpoint_id in endpoint_ids:
            self._next_check[endpoint_id] = retry_at


__all__ = [
    "DEFAULT_FAL_API_URL",
    "MEGAPIXEL",
    "PRICE_CACHE_TTL",
    "PRICE_RETRY_AFTER_FAILURE",
    "SHIPPED_PRICES",
    "PriceBook",
    "PriceModel",
    "PriceUnit",
    "actual_cost",
    "estimate_cost",
    "format_usd",
    "input_image_count",
    "megapixels",
]


async def refresh_route_prices(book: PriceBook, route: Route, endpoint_ids: Iterable[str]) -> None:
    """Read the provider's current prices where it has a pricing API and a key is at hand (cached a day): the
    server's key or the sandbox only, since a visitor's own key is used for nothing they did not ask for."""
    provider = route.provider
    if provider.pricing_url and route.credentials and route.kind in ("server_key", "sandbox"):
        await book.refresh(provider.client, provider.pricing_url, route.credentials.key, endpoint_ids)
