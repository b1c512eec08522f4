"""Segmind v1: synchronous image bytes, x-api-key, form coercion, credits."""

from __future__ import annotations

import io
import time

import numpy as np
from PIL import Image

from endpoints.segmind_flux_depth_pro import SegmindFluxDepthProInput
from sandbox.segmind import coerce_form_values
from tests.sandbox.support import data_uri, png_bytes, stats

API_KEY = {"x-api-key": "sandbox-segmind"}


def body(**extra):
    return {"prompt": "a desk", "control_image": data_uri(png_bytes(size=(96, 64))), "steps": 15, "seed": 5, **extra}


async def test_json_request_answers_image_bytes_with_headers(sbx, client):
    started = time.monotonic()
    response = await client.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", json=body(), headers=API_KEY)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started >= 15 * 0.01
    assert response.headers["content-type"] == "image/jpeg" and response.content[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(response.content)).size == (96, 64)
    assert response.headers["x-remaining-credits"] == "99.95"  # 0.05 credits (US dollars) an image
    assert response.headers["x-seed-value"] == "5"
    assert response.headers["x-request-id"] and float(response.headers["x-generation-time"]) > 0
    png = await client.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", json=body(output_format="png"), headers=API_KEY)
    assert png.headers["content-type"] == "image/png" and png.headers["x-remaining-credits"] == "99.9"
    assert (await stats(client, sbx))["segmind_calls"] == 2


async def test_multipart_with_file_part_and_string_values(sbx, client):
    form = {
        "prompt": "a desk",
        "steps": "15",
        "seed": "96522",
        "guidance": "7",
        "prompt_upsampling": "False",
        "safety_tolerance": "2",
        "output_format": "png",
    }
    files = {"control_image": ("control.png", png_bytes(size=(50, 40)), "image/png")}
    response = await client.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", data=form, files=files, headers=API_KEY)
    assert response.status_code == 200, response.text
    assert response.headers["x-seed-value"] == "96522"
    assert Image.open(io.BytesIO(response.content)).size == (50, 40)


async def test_same_request_same_bytes(sbx, client):
    first = await client.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", json=body(), headers=API_KEY)
    second = await client.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", json=body(), headers=API_KEY)
    other_seed = await client.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", json=body(seed=6), headers=API_KEY)
    assert first.content == second.content != other_seed.content


async def test_errors(sbx, client):
    url = f"{sbx.segmind_api_url}/v1/flux-depth-pro"
    unauthorised = await client.post(url, json=body())
    assert unauthorised.status_code == 401 and "error" in unauthorised.json()
    invalid = await client.post(url, json={"steps": 5, "control_image": "x"}, headers=API_KEY)
    assert invalid.status_code == 400
    assert invalid.json()["error"] == "steps: must be between 15 and 50; prompt: is required"
    unreadable = await client.post(url, json=body(control_image="not-a-url"), headers=API_KEY)
    assert unreadable.status_code == 400 and unreadable.json()["error"].startswith("control_image:")
    assert (await client.get(url, headers=API_KEY)).status_code == 405
    assert (
        await client.post(f"{sbx.segmind_api_url}/v1/no-such-model", json=body(), headers=API_KEY)
    ).status_code == 404
    assert (await stats(client, sbx))["segmind_credits"] == 100  # failures cost nothing


async def test_credits_run_out_with_406(start, client):
    sbx = start(credits=2.5, credit_cost=1.0)
    url = f"{sbx.segmind_api_url}/v1/flux-depth-pro"
    remaining = [
        (await client.post(url, json=body(), headers=API_KEY)).headers["x-remaining-credits"] for _ in range(2)
    ]
    assert remaining == ["1.5", "0.5"]
    out = await client.post(url, json=body(), headers=API_KEY)
    assert out.status_code == 406 and out.json() == {"error": "Not enough credits"}
    assert out.headers["x-remaining-credits"] == "0.5"


async def test_cost_header_is_the_runs_usd_cost_and_matches_the_credits_drawn(start, client):
    sbx = start(credits=1.0, credit_cost=0.05)
    url = f"{sbx.segmind_api_url}/v1/flux-depth-pro"
    responses = [await client.post(url, json=body(), headers=API_KEY) for _ in range(2)]
    assert [r.headers["x-cost"] for r in responses] == ["0.05", "0.05"]
    assert [r.headers["x-remaining-credits"] for r in responses] == ["0.95", "0.9"]
    failed = await client.post(url, json=body(control_image="not-a-url"), headers=API_KEY)
    assert failed.status_code == 400 and "x-cost" not in failed.headers  # failures cost nothing


async def test_unsafe_prompt_blacked_out_at_strict_tolerance(sbx, client):
    url = f"{sbx.segmind_api_url}/v1/flux-depth-pro"
    strict = await client.post(url, json=body(prompt="nude", output_format="png"), headers=API_KEY)
    lenient = await client.post(url, json=body(prompt="nude", output_format="png", safety_tolerance=5), headers=API_KEY)
    assert _dark_fraction(strict.content) > 0.6 > _dark_fraction(lenient.content)


def _dark_fraction(data: bytes) -> float:
    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"))
    return float((grey < 8).mean())


def test_form_coercion():
    values = coerce_form_values(
        SegmindFluxDepthProInput,
        {
            "steps": "40.0",
            "seed": "12",
            "guidance": "7.5",
            "prompt_upsampling": "0",
            "prompt": "40",
            "safety_tolerance": "",
            "output_format": "jpg",
            "unknown": "x",
        },
    )
    assert values == {
        "steps": 40,
        "seed": 12,
        "guidance": 7.5,
        "prompt_upsampling": False,
        "prompt": "40",
        "output_format": "jpg",
        "unknown": "x",
    }
    assert coerce_form_values(SegmindFluxDepthProInput, {"prompt_upsampling": "True", "steps": "many"}) == {
        "prompt_upsampling": True,
        "steps": "many",
    }
