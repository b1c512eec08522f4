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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from endpoints import ENDPOINTS
from endpoints.base import IMAGE_SIZE_PRESETS
from endpoints.price import PriceModel, PriceUnit
from providers.catalog import ProviderSpec, provider_spec
from runs.record import Cost, PerMegapixel

log = logging.getLogger(__name__)

#: fal counts megapixels of 1024×1024 pixels.
MEGAPIXEL = 1024 * 1024

DEFAULT_FAL_API_URL = "https://api.fal.ai"
FAL_API_URL_ENV = "FAL_API_URL"

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


def fal_api_url(env: Mapping[str, str]) -> str:
    """fal's platform API base URL: ``FAL_API_URL`` when set (the sandbox, a proxy), else ``https://api.fal.ai``."""
    return (env.get(FAL_API_URL_ENV) or DEFAULT_FAL_API_URL).strip().rstrip("/")


# --------------------------------------------------------------------------------------------------------- estimates


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _num_images(wire_input: Mapping[str, Any]) -> int | None:
    value = wire_input.get("num_images", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None
    return value


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


def estimate_cost(endpoint_id: str, wire_input: Mapping[str, Any], price: PriceModel | None) -> Cost:
    """What a run with this input should cost, with the working shown in ``basis``.

    ``wire_input`` is the body as sent (``WireModel.to_wire()``). Megapixel prices use ``image_size`` (a preset or
    ``{"width", "height"}``); when there is none the output follows the input image, whose size is not known
    here, so 1 MP per image is assumed and the basis says so.
    """
    if price is None:
        return Cost(None, f"no price known for {endpoint_id}")
    if price.currency != "USD":
        return Cost(None, f"price for {endpoint_id} is in {price.currency}, not USD")
    count = _num_images(wire_input)
    if count is None:
        return Cost(None, f"num_images {wire_input.get('num_images')!r} is not a positive whole number")
    unit_price = format_usd(price.unit_price_usd)
    if price.unit == "image":
        usd = round(count * price.unit_price_usd, 6)
        return Cost(usd, f"{_plural(count, 'image')} × {unit_price} ({price.cited()})")
    note = ""
    image_size = wire_input.get("image_size")
    if image_size is None:
        mp = 1
        note = "; the size follows the input image, estimated at 1 MP"
    else:
        size = _size(image_size)
        if size is None:
            return Cost(None, f"image_size {image_size!r} not understood; no estimate")
        mp = megapixels(*size)
    usd = round(count * mp * price.unit_price_usd, 6)
    per_mp = PerMegapixel(price.unit_price_usd, price.cited(), size_guessed=image_size is None)
    return Cost(usd, f"{_plural(count, 'image')} × {mp} MP × {unit_price} ({price.cited()}){note}", per_megapixel=per_mp)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _output_sizes(extras: Mapping[str, Any]) -> list[tuple[int, int]] | None:
    """The (width, height) of every output image the provider reported (``extras["output_sizes"]``), or None
    when there is none or any size is missing."""
    sizes = extras.get("output_sizes")
    if not isinstance(sizes, list | tuple) or not sizes:
        return None
    out: list[tuple[int, int]] = []
    for size in sizes:
        if not isinstance(size, list | tuple) or len(size) != 2:
            return None
        width, height = size
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height)):
            return None
        out.append((int(width), int(height)))
    return out


def output_cost(estimate: Cost, extras: Mapping[str, Any]) -> Cost | None:
    """A per-megapixel run's cost on the output the provider reports (``extras["output_sizes"]``): what fal bills,
    where the estimate had to guess (image-to-image, RF-inversion: the output follows the input image). None when
    the estimate is not per megapixel or the sizes are not reported."""
    per_mp, sizes = estimate.per_megapixel, _output_sizes(extras)
    if per_mp is None or sizes is None:
        return None
    mps = [megapixels(w, h) for w, h in sizes]
    usd = round(sum(mps) * per_mp.unit_price_usd, 6)
    if not per_mp.size_guessed and usd == estimate.usd:
        return estimate
    shown = ", ".join(f"{w}×{h}" for w, h in sizes[:4]) + (", …" if len(sizes) > 4 else "")
    return Cost(
        usd,
        f"{_plural(len(sizes), 'image')}, {sum(mps)} MP in all as reported ({shown}) × "
        f"{format_usd(per_mp.unit_price_usd)} ({per_mp.cited})",
        per_megapixel=per_mp,
    )


def actual_cost(
    estimate: Cost, *, state: str, extras: Mapping[str, Any] | None = None, provider: str | None = None
) -> Cost:
    """The cost once a run has ended (``state``: done, failed or stopped).

    - A cost the provider reported (Segmind's ``x-cost`` header, in ``extras["cost"]``) wins over any estimate; the
      credits left (``extras["remaining_credits"]``) are named in the basis. ``credits`` holds the credits used:
      ``extras["credits_used"]`` where a provider reports them, else for Segmind the reported cost, its credits
      being US dollars (as the sandbox documents them; not confirmed by Segmind's own docs).
    - A per-megapixel run that finished is settled on the output sizes the provider reported
      (``extras["output_sizes"]``, ``output_cost``), else at its estimate.
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
        settled = output_cost(estimate, extras) or estimate
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
        self._shipped: dict[str, PriceModel] = dict(SHIPPED_PRICES if shipped is None else shipped)
        self._fetched: dict[str, PriceModel] = {}
        self._next_check: dict[str, dt.datetime] = {}
        self._clock = clock
        self._ttl = ttl
        self._retry_after_failure = retry_after_failure
        self._timeout = timeout
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"PriceBook(shipped={len(self._shipped)}, from_api={len(self._fetched)})"

    def price_for(self, endpoint_id: str) -> PriceModel | None:
        return self._fetched.get(endpoint_id) or self._shipped.get(endpoint_id)

    def estimate(self, endpoint_id: str, wire_input: Mapping[str, Any]) -> Cost:
        return estimate_cost(endpoint_id, wire_input, self.price_for(endpoint_id))

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
    "FAL_API_URL_ENV",
    "MEGAPIXEL",
    "PRICE_CACHE_TTL",
    "PRICE_RETRY_AFTER_FAILURE",
    "SHIPPED_PRICES",
    "PriceBook",
    "PriceModel",
    "PriceUnit",
    "actual_cost",
    "estimate_cost",
    "fal_api_url",
    "format_usd",
    "megapixels",
    "output_cost",
]
