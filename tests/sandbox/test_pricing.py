"""fal's pricing API in the sandbox: GET {FAL_API_URL}/v1/models/pricing?endpoint_id=..."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from endpoints import get_endpoint
from sandbox import DEFAULT_PRICES, ModelPrice, SandboxOptions
from sandbox.bfl import credits_for
from tests.sandbox.support import DEPTH, FLUX_PRO, I2I, KEY, stats

RF = "fal-ai/flux-general/rf-inversion"


def entry(endpoint_id: str, unit_price: float, unit: str = "megapixels") -> dict[str, object]:
    return {"endpoint_id": endpoint_id, "unit_price": unit_price, "unit": unit, "currency": "USD"}


async def test_published_prices_for_repeated_ids_and_unknown_ids_absent(sbx, client):
    params = [("endpoint_id", i) for i in (FLUX_PRO, DEPTH, RF, I2I, "fal-ai/unknown", "flux-depth-pro")]
    response = await client.get(f"{sbx.fal_api_url}/v1/models/pricing", params=params, headers=KEY)
    assert response.status_code == 200
    assert response.json() == {
        "prices": [entry(FLUX_PRO, 0.05), entry(DEPTH, 0.05), entry(RF, 0.075), entry(I2I, 0.03)],
        "next_cursor": None,
        "has_more": False,
    }


async def test_comma_separated_ids_and_duplicates(sbx, client):
    params = {"endpoint_id": f"{I2I}, {FLUX_PRO},{I2I}"}
    response = await client.get(f"{sbx.fal_api_url}/v1/models/pricing", params=params, headers=KEY)
    assert [p["endpoint_id"] for p in response.json()["prices"]] == [I2I, FLUX_PRO]


async def test_key_and_ids_are_required_and_requests_counted(sbx, client):
    url = f"{sbx.fal_api_url}/v1/models/pricing"
    unauthorised = await client.get(url, params={"endpoint_id": FLUX_PRO})
    assert unauthorised.status_code == 401 and isinstance(unauthorised.json()["detail"], str)
    other_scheme = await client.get(url, params={"endpoint_id": FLUX_PRO}, headers={"Authorization": "Bearer x"})
    assert other_scheme.status_code == 401
    missing = await client.get(url, headers=KEY)
    assert missing.status_code == 422
    assert missing.json()["detail"] == [{"loc": ["query", "endpoint_id"], "msg": "Field required", "type": "missing"}]
    assert (await client.post(url, headers=KEY)).status_code == 405
    assert (await stats(client, sbx))["pricing_requests"] == 3


async def test_options_replace_the_table(start, client):
    sbx = start(prices={FLUX_PRO: 0.07, "fal-ai/other": ModelPrice(0.02, "images")})
    params = [("endpoint_id", i) for i in (FLUX_PRO, I2I, "fal-ai/other")]
    response = await client.get(f"{sbx.fal_api_url}/v1/models/pricing", params=params, headers=KEY)
    assert response.json()["prices"] == [entry(FLUX_PRO, 0.07), entry("fal-ai/other", 0.02, "images")]


async def test_merging_with_the_defaults(start, client):
    sbx = start(prices={**DEFAULT_PRICES, I2I: 0.5})
    params = [("endpoint_id", i) for i in (FLUX_PRO, I2I)]
    response = await client.get(f"{sbx.fal_api_url}/v1/models/pricing", params=params, headers=KEY)
    assert response.json()["prices"] == [entry(FLUX_PRO, 0.05), entry(I2I, 0.5)]


@pytest.mark.parametrize("price", [-1, float("nan"), float("inf")])
def test_bad_prices_are_refused(price):
    with pytest.raises(ValueError):
        SandboxOptions(prices={FLUX_PRO: price})


async def test_fault_injection_by_header_and_by_server(sbx, client, start):
    url = f"{sbx.fal_api_url}/v1/models/pricing"
    faulted = await client.get(
        url, params={"endpoint_id": FLUX_PRO}, headers={**KEY, "X-Sandbox-Fault": "pricing=status_500"}
    )
    assert faulted.status_code == 500 and faulted.json()["error_type"] == "internal_error"
    assert (await client.get(url, params={"endpoint_id": FLUX_PRO}, headers=KEY)).status_code == 200
    assert (await stats(client, sbx))["faults"] == {"pricing:status_500": 1}

    failing = start(faults="pricing=status_503:2")
    codes = [
        (
            await client.get(f"{failing.fal_api_url}/v1/models/pricing", params={"endpoint_id": FLUX_PRO}, headers=KEY)
        ).status_code
        for _ in range(3)
    ]
    assert codes == [503, 503, 200]
    # other routes are untouched by a pricing fault
    assert (await client.get(f"{failing.url}/_sandbox/stats")).json()["pricing_requests"] == 3


async def test_index_lists_fal_api_url(sbx, client):
    assert (await client.get(sbx.url)).json()["FAL_API_URL"] == sbx.fal_api_url


def test_bfl_credits_count_an_inline_input_image_at_its_own_size() -> None:
    """The BFL stand-in draws FLUX.2's credits as BFL does: the output's megapixels and each input image's, read from
    the image sent inline (how the app sends an upload); a URL, which it never fetches, counts as 1 MP."""
    png = io.BytesIO()
    Image.new("RGB", (2048, 2048), (5, 5, 5)).save(png, "PNG")
    inline = base64.b64encode(png.getvalue()).decode()
    pro = get_endpoint("bfl_flux_2_pro")  # $0.03 the first MP, $0.015 each further one, inputs counted
    body = {"prompt": "x", "width": 1024, "height": 1024}
    assert credits_for(pro, body) == 3.0
    assert credits_for(pro, {**body, "input_image": inline}) == 9.0  # + 4 MP × 1.5 credits
    assert credits_for(pro, {**body, "input_image": "data:image/png;base64," + inline}) == 9.0
    assert credits_for(pro, {**body, "input_image": "https://example.com/a.png"}) == 4.5
