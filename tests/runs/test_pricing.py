"""Prices, estimates and fal's pricing API (over httpx.MockTransport; no network)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from dataclasses import replace
from typing import Any

import httpx
import pytest
from pydantic import Field

from endpoints import ENDPOINTS, get_endpoint, register, unregister
from endpoints.base import EndpointSpec, ImageSizeField, WireModel
from runs.pricing import (
    SHIPPED_PRICES,
    PriceBook,
    PriceModel,
    actual_cost,
    estimate_cost,
    format_usd,
    megapixels,
)
from runs.record import Cost
from sandbox import SandboxOptions, start_sandbox

PRO = SHIPPED_PRICES["fal-ai/flux-pro"]
RF = SHIPPED_PRICES["fal-ai/flux-general/rf-inversion"]
I2I = SHIPPED_PRICES["fal-ai/flux/dev/image-to-image"]
SEGMIND = SHIPPED_PRICES["flux-depth-pro"]
FAL = "(fal price list, 2026-11)"
KEY = "sekrit-id:sekrit-secret"
PRO_SPEC = get_endpoint("fal-ai/flux-pro")


def _spec(endpoint_id: str) -> EndpointSpec:
    """The registered endpoint, or a throwaway copy of FLUX.1 [pro] under another id."""
    try:
        return get_endpoint(endpoint_id)
    except KeyError:
        return replace(PRO_SPEC, id=endpoint_id, api_name=endpoint_id.replace("-", "_").replace("/", "_"))


def test_every_endpoint_has_a_shipped_price() -> None:
    assert {spec.id for spec in ENDPOINTS} == set(SHIPPED_PRICES)
    assert SHIPPED_PRICES["fal-ai/flux-pro/v1/depth-finetuned"] == PriceModel(
        "megapixel", 0.05, source="fal price list", read_on="2026-11"
    )
    assert (PRO.unit, PRO.unit_price_usd, RF.unit_price_usd, I2I.unit_price_usd) == ("megapixel", 0.05, 0.075, 0.03)
    assert (SEGMIND.unit, SEGMIND.unit_price_usd) == ("image", 0.05)
    assert "assumed" in SEGMIND.source


@pytest.mark.parametrize(
    ("width", "height", "mp"),
    [(1024, 1024, 1), (1024, 768, 1), (512, 512, 1), (1, 1, 1), (1024, 1025, 2), (1280, 1024, 2), (2048, 2048, 4)],
)
def test_megapixels_round_up_per_image(width: int, height: int, mp: int) -> None:
    assert megapixels(width, height) == mp


@pytest.mark.parametrize(
    ("endpoint_id", "wire", "price", "usd", "basis"),
    [
        ("fal-ai/flux-pro", {"image_size": "landscape_4_3"}, PRO, 0.05, f"1 image × 1 MP × $0.05 {FAL}"),
        ("fal-ai/flux-pro", {"image_size": "square_hd", "num_images": 1}, PRO, 0.05, f"1 image × 1 MP × $0.05 {FAL}"),
        ("fal-ai/flux-pro", {"image_size": "square", "num_images": 3}, PRO, 0.15, f"3 images × 1 MP × $0.05 {FAL}"),
        (
            "fal-ai/flux-pro",
            {"image_size": {"width": 1280, "height": 1024}, "num_images": 4},
            PRO,
            0.4,
            f"4 images × 2 MP × $0.05 {FAL}",
        ),
        (
            "fal-ai/flux-general/rf-inversion",
            {"image_size": {"width": 1280, "height": 1024}, "num_images": 2},
            RF,
            0.3,
            f"2 images × 2 MP × $0.075 {FAL}",
        ),
        (
            "fal-ai/flux-general/rf-inversion",
            {"prompt": "x", "num_images": 1},
            RF,
            0.075,
            f"1 image × 1 MP × $0.075 {FAL}; the size follows the input image, estimated at 1 MP",
        ),
        (
            "fal-ai/flux/dev/image-to-image",
            {"image_url": "https://x/y.png", "num_images": 2},
            I2I,
            0.06,
            f"2 images × 1 MP × $0.03 {FAL}; the size follows the input image, estimated at 1 MP",
        ),
        ("flux-depth-pro", {"prompt": "x"}, SEGMIND, 0.05, "1 image × $0.05 (Segmind price, assumed, 2026-11)"),
        (
            "custom",
            {"num_images": 3},
            PriceModel("image", 0.1, source="test", read_on="2026-11-05"),
            0.3,
            "3 images × $0.10 (test, 2026-11-05)",
        ),
        ("fal-ai/flux-pro", {"image_size": "huge"}, PRO, None, "image_size 'huge' not understood; no estimate"),
        ("fal-ai/flux-pro", {"num_images": 0}, PRO, None, "num_images 0 is not a positive whole number"),
        ("fal-ai/flux-new", {"image_size": "square"}, None, None, "no price known for fal-ai/flux-new"),
    ],
)
def test_estimates(endpoint_id: str, wire: dict[str, Any], price: PriceModel | None, usd: float | None, basis: str) -> None:
    assert estimate_cost(_spec(endpoint_id), wire, price) == Cost(usd, basis)


@pytest.mark.parametrize("preset", ["square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"])
def test_every_preset_is_one_megapixel(preset: str) -> None:
    assert estimate_cost(PRO_SPEC, {"image_size": preset}, PRO).usd == 0.05


def test_estimates_carry_no_float_noise() -> None:
    assert 3 * 0.05 != 0.15  # the noise this guards against
    assert estimate_cost(PRO_SPEC, {"image_size": "square", "num_images": 3}, PRO).usd == 0.15
    tiny = PriceModel("megapixel", 0.1, source="t")
    assert estimate_cost(PRO_SPEC, {"image_size": "square", "num_images": 3}, tiny) == Cost(0.3, "3 images × 1 MP × $0.10 (t)")
    assert repr(estimate_cost(PRO_SPEC, {"image_size": {"width": 3000, "height": 3000}}, tiny).usd) == "0.9"


def test_the_example_of_each_endpoint_has_an_estimate() -> None:
    for spec in ENDPOINTS:
        wire = spec.build_input(spec.example).to_wire()
        cost = estimate_cost(spec, wire, SHIPPED_PRICES[spec.id])
        assert cost.usd is not None and cost.usd > 0, (spec.id, cost)


class Flux2Input(WireModel):
    """A throwaway FLUX.2-like input: a prompt, a size, a count and a list of input images."""

    prompt: str
    image_size: ImageSizeField | None = None
    num_images: int = Field(1, ge=1, le=4)
    image_urls: list[str] = Field(default_factory=list, max_length=8)


FLUX2_PRICE = PriceModel(
    "megapixel", 0.03, source="test list", read_on="2026-11", extra_unit_price_usd=0.015, counts_input_images=True
)
FLUX2 = EndpointSpec(
    id="test/flux-2-pro", api_name="test_flux_2_pro", title="FLUX.2 (test)", provider="fal", description="",
    input_model=Flux2Input, example={"prompt": "x"}, seed_document="",
    roles={"prompt": "prompt", "size": "image_size", "count": "num_images", "images": "image_urls"},
    price=FLUX2_PRICE,
)
LIST = "(test list, 2026-11)"


@pytest.mark.parametrize(
    ("wire", "usd", "basis"),
    [
        ({"prompt": "x", "image_size": "square_hd"}, 0.03,
         f"1 image: 1 × $0.03 first MP + 0 further MP × $0.015 (output 1 MP, inputs 0 MP) {LIST}"),
        # 1280×1024 is 2 MP: the first at $0.03, the second at $0.015, per image
        ({"prompt": "x", "image_size": {"width": 1280, "height": 1024}, "num_images": 2}, 0.09,
         f"2 images: 2 × $0.03 first MP + 2 further MP × $0.015 (output 2 MP each, inputs 0 MP) {LIST}"),
        # two input images of unknown size: 1 MP each, billed at the further rate, and the basis says so
        ({"prompt": "x", "image_size": "square_hd", "image_urls": ["https://a/1.png", "https://a/2.png"]}, 0.06,
         (f"1 image: 1 × $0.03 first MP + 2 further MP × $0.015 (output 1 MP, inputs 2 MP) {LIST}; "
          "inputs estimated at 1 MP each (2 input images)")),
        # no size: the output follows the inputs, 1 MP assumed; inputs counted for each output image
        ({"prompt": "x", "num_images": 3, "image_urls": ["https://a/1.png"]}, 0.135,
         (f"3 images: 3 × $0.03 first MP + 3 further MP × $0.015 (output 1 MP each, inputs 1 MP) {LIST}; "
          "the size follows the input image, estimated at 1 MP; inputs estimated at 1 MP each (1 input image)")),
    ],
)
def test_flux2_bills_the_first_megapixel_and_each_further_one_inputs_included(
    wire: dict[str, Any], usd: float, basis: str
) -> None:
    assert estimate_cost(FLUX2, FLUX2.build_input(wire).to_wire(), FLUX2_PRICE) == Cost(usd, basis)


def test_flux2_formula_with_known_sizes() -> None:
    """cost per image = first + (out_MP − 1) × extra + in_MP × extra, each image's megapixels rounded up."""
    wire = FLUX2.build_input({"prompt": "x", "image_urls": ["https://a/1.png", "https://a/2.png"]}).to_wire()
    inputs = [(2048, 2048), (1024, 768)]  # 4 MP + 1 MP
    outputs = [(1024, 1536), (2048, 1536)]  # 2 MP and 3 MP
    cost = estimate_cost(FLUX2, wire, FLUX2_PRICE, output_sizes=outputs, input_sizes=inputs)
    expected = sum(0.03 + (out - 1) * 0.015 + 5 * 0.015 for out in (2, 3))
    assert cost.usd == pytest.approx(expected) and cost.usd == 0.255  # 2 × $0.03 + (1 + 2 + 2 × 5) × $0.015
    assert cost.basis == f"2 images: 2 × $0.03 first MP + 13 further MP × $0.015 (output 2+3 MP, inputs 5 MP) {LIST}"
    # one input size known, the other not: only the unknown one is estimated
    partly = estimate_cost(FLUX2, wire, FLUX2_PRICE, input_sizes=[(2048, 2048)])
    assert partly.usd == round(0.03 + 5 * 0.015, 6) and partly.basis.endswith("inputs estimated at 1 MP each (1 input image)")


def test_a_flat_megapixel_price_ignores_input_images() -> None:
    flat = replace(FLUX2_PRICE, extra_unit_price_usd=None, counts_input_images=False)
    wire = {"prompt": "x", "image_size": {"width": 1280, "height": 1024}, "image_urls": ["https://a/1.png"]}
    assert estimate_cost(FLUX2, wire, flat) == Cost(0.06, f"1 image × 2 MP × $0.03 {LIST}")
    # the size the input asks for is billed, whatever size came back; without one, the sizes that came back
    assert estimate_cost(FLUX2, wire, flat, output_sizes=[(1024, 1024)]) == Cost(0.06, f"1 image × 2 MP × $0.03 {LIST}")
    unsized = {"prompt": "x", "num_images": 2}
    assert estimate_cost(FLUX2, unsized, flat).basis.endswith("the size follows the input image, estimated at 1 MP")
    assert estimate_cost(FLUX2, unsized, flat, output_sizes=[(1280, 1024)] * 2) == Cost(
        0.12, f"2 images × 2 MP × $0.03 {LIST}"
    )


def test_count_and_size_are_read_from_the_roles() -> None:
    """An endpoint whose count and size fields have other names is priced from them, not from num_images."""
    renamed = replace(FLUX2, id="test/renamed", roles={"size": "image_size", "count": "num_images"})
    no_roles = replace(FLUX2, id="test/no-roles", roles={})
    wire = {"prompt": "x", "image_size": {"width": 1280, "height": 1024}, "num_images": 2}
    assert estimate_cost(renamed, wire, FLUX2_PRICE).usd == 0.09
    # without the roles nothing says how many images or how large: one image, its size assumed 1 MP
    assert estimate_cost(no_roles, wire, FLUX2_PRICE).usd == 0.03


def test_the_price_book_prices_an_endpoint_registered_later() -> None:
    book = PriceBook()
    assert book.price_for(FLUX2.id) is None
    register(FLUX2)
    try:
        assert book.price_for(FLUX2.id) == FLUX2_PRICE
        assert book.estimate(FLUX2, {"prompt": "x", "image_size": "square_hd"}).usd == 0.03
    finally:
        unregister(FLUX2)


@pytest.mark.parametrize(
    ("amount", "text"), [(0.05, "$0.05"), (0.075, "$0.075"), (1, "$1.00"), (0, "$0.00"), (0.15000000000000002, "$0.15"), (12.5, "$12.50")]
)
def test_format_usd(amount: float, text: str) -> None:
    assert format_usd(amount) == text


# ------------------------------------------------------------------------------------------------------ actual cost

ESTIMATE = Cost(0.1, "2 images × 1 MP × $0.05 (fal price list, 2026-11)")

def test_fal_bills_only_successful_runs() -> None:
    assert actual_cost(ESTIMATE, state="done", extras={}) == ESTIMATE
    for state in ("failed", "stopped"):
        cost = actual_cost(ESTIMATE, state=state, extras={})
        assert cost.usd == 0.0
        assert f"not billed: the run {state}" in cost.basis and "successful" in cost.basis
    assert actual_cost(Cost(None, "no price known for x"), state="failed", extras={}).usd == 0.0


def test_segmind_reported_cost_wins() -> None:
    estimate = Cost(0.05, "1 image × $0.05 (Segmind price, assumed, 2026-11)")
    cost = actual_cost(estimate, state="done", extras={"cost": 0.042, "remaining_credits": 12.5}, provider="segmind")
    assert cost == Cost(0.042, "reported by the provider (x-cost); 12.5 credits left", credits=0.042)
    used = actual_cost(estimate, state="done", extras={"cost": 0.04, "credits_used": 4})
    assert (used.usd, used.credits) == (0.04, 4.0)
    # No x-cost: the estimate stands, and the credits left are still said.
    kept = actual_cost(estimate, state="done", extras={"remaining_credits": 3}, provider="segmind")
    assert kept.usd == 0.05 and kept.basis.endswith("; 3 credits left")
    # Segmind cannot cancel: a run stopped here may be billed there.
    stopped = actual_cost(estimate, state="stopped", extras={}, provider="segmind")
    assert stopped.usd == 0.05 and "may still be billed" in stopped.basis
    assert actual_cost(estimate, state="failed", extras={}, provider="segmind").usd == 0.0
    # A reported cost that is not a number is ignored.
    assert actual_cost(estimate, state="done", extras={"cost": None}) == estimate


# ---------------------------------------------------------------------------------------------------- price book


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 5, 10, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


class FakeFal:
    """fal's pricing route over MockTransport: counts requests and answers with what the test sets."""

    def __init__(self, prices: list[Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.status = 200
        self.body: Any = {"prices": prices if prices is not None else []}
        self.raw: bytes | None = None
        self.delay = 0.0
        self.error: Exception | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        if self.raw is not None:
            return httpx.Response(self.status, content=self.raw)
        return httpx.Response(self.status, json=self.body)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))


IDS = ["fal-ai/flux-pro", "fal-ai/flux-general/rf-inversion"]
API = "https://api.example.test"


def fal_prices() -> list[dict[str, Any]]:
    return [
        {"endpoint_id": "fal-ai/flux-pro", "unit_price": 0.04, "unit": "megapixels", "currency": "USD"},
        {"endpoint_id": "fal-ai/flux-general/rf-inversion", "unit_price": 0.02, "unit": "images", "currency": "USD"},
    ]


async def test_refresh_replaces_prices_and_sends_the_key() -> None:
    fal, clock = FakeFal(fal_prices()), Clock()
    book = PriceBook(clock=clock)
    async with fal.client() as client:
        await book.refresh(client, API, KEY, IDS)
    (request,) = fal.requests
    assert request.method == "GET"
    assert request.url.path == "/v1/models/pricing"
    assert request.url.params.get_list("endpoint_id") == IDS
    assert request.headers["authorization"] == f"Key {KEY}"
    assert book.price_for("fal-ai/flux-pro") == PriceModel("megapixel", 0.04, "USD", "fal pricing API", "2026-11-05")
    assert book.price_for("fal-ai/flux-general/rf-inversion") == PriceModel(
        "image", 0.02, "USD", "fal pricing API", "2026-11-05"
    )
    assert book.price_for("flux-depth-pro") == SEGMIND  # not asked: the shipped price stays
    assert book.estimate(PRO_SPEC, {"image_size": "square_hd", "num_images": 2}) == Cost(
        0.08, "2 images × 1 MP × $0.04 (fal pricing API, 2026-11-05)"
    )


async def test_refresh_is_cached_for_a_day_then_asks_again() -> None:
    fal, clock = FakeFal(fal_prices()), Clock()
    book = PriceBook(clock=clock)
    async with fal.client() as client:
        await book.refresh(client, API, KEY, IDS)
        clock.now += dt.timedelta(hours=23, minutes=59)
        await book.refresh(client, API, KEY, IDS)
        await book.refresh(client, API, KEY, IDS[:1])
        assert len(fal.requests) == 1
        await book.refresh(client, API, KEY, [*IDS, "fal-ai/flux/dev/image-to-image"])  # only the new one is asked
        assert fal.requests[-1].url.params.get_list("endpoint_id") == ["fal-ai/flux/dev/image-to-image"]
        clock.now += dt.timedelta(minutes=2)  # a day after the first read
        fal.body = {"prices": [{"endpoint_id": "fal-ai/flux-pro", "unit_price": 0.06, "unit": "megapixel"}]}
        await book.refresh(client, API, KEY, IDS)
    assert len(fal.requests) == 3
    assert fal.requests[-1].url.params.get_list("endpoint_id") == IDS
    price = book.price_for("fal-ai/flux-pro")
    assert price is not None and price.unit_price_usd == 0.06 and price.read_on == "2026-11-06"


async def test_concurrent_refreshes_make_one_request() -> None:
    fal = FakeFal(fal_prices())
    fal.delay = 0.05
    book = PriceBook(clock=Clock())
    async with fal.client() as client:
        await asyncio.wait_for(asyncio.gather(*(book.refresh(client, API, KEY, IDS) for _ in range(10))), 5)
    assert len(fal.requests) == 1
    assert book.price_for("fal-ai/flux-pro") is not None
    assert book.price_for("fal-ai/flux-pro").unit_price_usd == 0.04  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "failure",
    ["transport", "timeout", "status 500", "status 401", "not json", "not an object", "prices not a list"],
)
async def test_failures_fall_back_to_the_shipped_prices(failure: str, caplog: pytest.LogCaptureFixture) -> None:
    fal, clock = FakeFal(fal_prices()), Clock()
    if failure == "transport":
        fal.error = httpx.ConnectError(f"connection refused (sent {KEY})")
    elif failure == "timeout":
        fal.error = httpx.ReadTimeout("slow")
    elif failure.startswith("status"):
        fal.status = int(failure.split()[1])
        fal.body = {"detail": f"bad key {KEY}"}
    elif failure == "not json":
        fal.raw = b"<html>oops"
    elif failure == "not an object":
        fal.body = [1, 2]
    else:
        fal.body = {"prices": {"fal-ai/flux-pro": 1}}
    book = PriceBook(clock=clock)
    caplog.set_level(logging.DEBUG, logger="runs.pricing")
    async with fal.client() as client:
        await book.refresh(client, API, KEY, IDS)
        assert book.price_for("fal-ai/flux-pro") == PRO
        assert book.price_for("fal-ai/flux-general/rf-inversion") == RF
        await book.refresh(client, API, KEY, IDS)  # a broken API is not asked again per run...
        assert len(fal.requests) == 1
        clock.now += dt.timedelta(minutes=11)  # ...but after a while
        fal.error, fal.status, fal.raw, fal.body = None, 200, None, {"prices": fal_prices()}
        await book.refresh(client, API, KEY, IDS)
    assert len(fal.requests) == 2
    assert book.price_for("fal-ai/flux-pro").unit_price_usd == 0.04  # type: ignore[union-attr]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "fal pricing" in warnings[0].getMessage()
    assert "sekrit" not in caplog.text


async def test_a_failed_refresh_keeps_the_last_price_read() -> None:
    fal, clock = FakeFal(fal_prices()), Clock()
    book = PriceBook(clock=clock)
    async with fal.client() as client:
        await book.refresh(client, API, KEY, IDS)
        clock.now += dt.timedelta(days=2)
        fal.status = 503
        await book.refresh(client, API, KEY, IDS)
    assert len(fal.requests) == 2
    assert book.price_for("fal-ai/flux-pro").source == "fal pricing API"  # type: ignore[union-attr]


async def test_malformed_entries_are_ignored(caplog: pytest.LogCaptureFixture) -> None:
    ids = ["a/1", "a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "a/8"]
    fal = FakeFal(
        [
            {"endpoint_id": "a/1", "unit_price": 0.01, "unit": "Megapixel", "currency": "USD"},
            {"endpoint_id": "a/2", "unit_price": 0.02, "unit": "seconds", "currency": "USD"},
            {"endpoint_id": "a/3", "unit_price": "cheap", "unit": "image", "currency": "USD"},
            {"endpoint_id": "a/4", "unit_price": 0.04, "unit": "image", "currency": "EUR"},
            {"endpoint_id": "a/5", "unit_price": -1, "unit": "image"},
            {"unit_price": 0.06, "unit": "image"},
            "not an entry",
            {"endpoint_id": "a/7", "unit_price": True, "unit": "image"},
            {"endpoint_id": "a/8", "unit_price": 2, "unit": "image"},
            {"endpoint_id": "not/asked", "unit_price": 2, "unit": "image"},
        ]
    )
    book = PriceBook(shipped={}, clock=Clock())
    caplog.set_level(logging.WARNING, logger="runs.pricing")
    async with fal.client() as client:
        await book.refresh(client, API, KEY, ids)
    assert book.price_for("a/1") == PriceModel("megapixel", 0.01, "USD", "fal pricing API", "2026-11-05")
    assert book.price_for("a/8") == PriceModel("image", 2.0, "USD", "fal pricing API", "2026-11-05")
    assert all(book.price_for(i) is None for i in ("a/2", "a/3", "a/4", "a/5", "a/6", "a/7", "not/asked"))
    assert "'seconds'" in caplog.text and "'EUR'" in caplog.text and "'cheap'" in caplog.text
    assert all(book.is_fresh(i) for i in ids)  # listed or not, each was asked once today


async def test_the_key_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    fal = FakeFal(fal_prices())
    book = PriceBook(clock=Clock())
    caplog.set_level(logging.DEBUG)
    async with fal.client() as client:
        await book.refresh(client, API, "clé-sekrit", IDS)  # httpx refuses the header; nothing is raised
    assert fal.requests == []
    assert "sekrit" not in caplog.text and "sekrit" not in repr(book)
    assert book.price_for("fal-ai/flux-pro") == PRO


async def test_refresh_reads_the_sandbox_route() -> None:
    """Loopback: the sandbox's copy of fal's pricing API (same wire shape, under ``{base}/fal/api``)."""
    options = SandboxOptions(prices={"fal-ai/flux-pro": 0.07, "fal-ai/flux-general/rf-inversion": 0.08})
    running = await asyncio.to_thread(start_sandbox, options)
    try:
        book = PriceBook(clock=Clock())
        ids = ["fal-ai/flux-pro", "fal-ai/flux-general/rf-inversion", "fal-ai/flux/dev/image-to-image"]
        async with httpx.AsyncClient(timeout=5) as client:
            await book.refresh(client, running.fal_api_url, "sandbox-key", ids)
            await book.refresh(client, running.fal_api_url, "sandbox-key", ids)  # cached: not asked again
        assert running.state.stats.pricing_requests == 1
        assert book.price_for("fal-ai/flux-pro") == PriceModel("megapixel", 0.07, "USD", "fal pricing API", "2026-11-05")
        assert book.estimate(get_endpoint("fal-ai/flux-general/rf-inversion"), {"image_size": "square_hd"}) == Cost(
            0.08, "1 image × 1 MP × $0.08 (fal pricing API, 2026-11-05)"
        )
        assert book.price_for("fal-ai/flux/dev/image-to-image") == I2I  # not in the sandbox's table: shipped price
    finally:
        await asyncio.to_thread(running.stop)


def test_json_round_trip_of_a_cost() -> None:
    cost = estimate_cost(PRO_SPEC, {"image_size": "square_hd"}, PRO)
    assert Cost.from_json(json.loads(json.dumps(cost.to_json()))) == cost


async def test_fals_unit_price_is_the_first_megapixel_of_a_structured_price() -> None:
    """fal's pricing API gives one unit price: for FLUX.2 it replaces the first megapixel's, the rest stays."""
    fal = FakeFal([{"endpoint_id": FLUX2.id, "unit_price": 0.04, "unit": "megapixels", "currency": "USD"}])
    book = PriceBook(shipped={FLUX2.id: FLUX2_PRICE}, clock=Clock())
    async with fal.client() as client:
        await book.refresh(client, API, KEY, [FLUX2.id])
    price = book.price_for(FLUX2.id)
    assert price is not None
    assert (price.unit_price_usd, price.extra_unit_price_usd, price.counts_input_images) == (0.04, 0.015, True)
    assert price.source == "fal pricing API for the first MP, further MP as shipped (test list, 2026-11)"
    wire = {"prompt": "x", "image_size": {"width": 1280, "height": 1024}, "image_urls": ["https://a/1.png"]}
    assert book.estimate(FLUX2, wire).usd == round(0.04 + 0.015 + 0.015, 6)
    # a per-image answer for it does not fit the structure: fal's answer is taken as it is
    fal.body = {"prices": [{"endpoint_id": FLUX2.id, "unit_price": 0.1, "unit": "images", "currency": "USD"}]}
    book = PriceBook(shipped={FLUX2.id: FLUX2_PRICE}, clock=Clock())
    async with fal.client() as client:
        await book.refresh(client, API, KEY, [FLUX2.id])
    assert book.price_for(FLUX2.id) == PriceModel("image", 0.1, "USD", "fal pricing API", "2026-11-05")


def test_an_endpoint_with_width_and_height_fields_is_estimated_on_them():
    """Black Forest Labs' FLUX.2 [pro] takes ``width``/``height`` (roles), not ``image_size``: 2048×1024 is 2 MP,
    so $0.03 for the first and $0.015 for the second (BFL's price); no "estimated at 1 MP"."""
    from endpoints import get_endpoint

    spec = get_endpoint("bfl_flux_2_pro")
    cost = estimate_cost(spec, {"prompt": "p", "width": 2048, "height": 1024}, spec.price)
    assert cost.usd == 0.045 and "estimated at 1 MP" not in cost.basis, cost.basis
