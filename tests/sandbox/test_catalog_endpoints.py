"""The sandbox serves every catalog endpoint from its document: the generated model validates, the picture follows."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image, ImageStat

from endpoints import catalog_endpoints
from endpoints.catalog import FLUX_SET
from sandbox import RunningSandbox, start_sandbox
from tests.sandbox.support import FAST, KEY, data_uri, png_bytes, submit, wait_done

SMALL = {"width": 64, "height": 48}


@pytest.fixture(scope="module")
def catalog_sandbox() -> Iterator[RunningSandbox]:
    """Small renders and enough runners to take every catalog endpoint at once."""
    import dataclasses

    with start_sandbox(dataclasses.replace(FAST, capacity=16, max_render_side=96)) as running:
        yield running


def small(body: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The example, rendered small and fast where the endpoint has the fields for it."""
    out = dict(body)
    if "image_size" in fields:
        out["image_size"] = SMALL
    if "num_inference_steps" in fields:
        field = fields["num_inference_steps"]
        low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), 1)
        out["num_inference_steps"] = low
    return out


async def run(client: httpx.AsyncClient, sbx: RunningSandbox, endpoint_id: str, body: dict[str, Any]):
    submitted = await submit(client, sbx, endpoint_id, body)
    done = await wait_done(client, submitted["status_url"], logs=True, timeout=20)
    response = await client.get(submitted["response_url"], headers=KEY)
    return done, response


async def test_every_catalog_endpoint_round_trips_its_example(catalog_sandbox: RunningSandbox):
    specs = catalog_endpoints()
    assert {s.id for s in specs} == set(FLUX_SET)
    async with httpx.AsyncClient(timeout=20) as client:
        bodies = [small(s.example, s.input_model.model_fields) for s in specs]
        results = await asyncio.gather(*(run(client, catalog_sandbox, s.id, b) for s, b in zip(specs, bodies, strict=True)))
        for spec, (done, response) in zip(specs, results, strict=True):
            assert "error" not in done, (spec.id, done)
            assert response.status_code == 200, (spec.id, response.text)
            images = response.json()["images"]
            assert len(images) == 1 and images[0]["url"], spec.id
            picture = await client.get(images[0]["url"])
            assert picture.status_code == 200 and picture.headers["content-type"].startswith("image/"), spec.id


async def test_the_generated_model_validates_the_input(catalog_sandbox: RunningSandbox):
    async with httpx.AsyncClient(timeout=10) as client:
        url = f"{catalog_sandbox.fal_queue_url}/fal-ai/flux-pro/kontext"
        body = {"prompt": "x", "image_url": "https://example.com/a.png", "num_images": 9, "surprise": True}
        response = await client.post(url, json=body, headers=KEY)
        assert response.status_code == 422
        locs = {tuple(item["loc"]) for item in response.json()["detail"]}
        assert locs == {("body", "num_images"), ("body", "surprise")}
        missing = await client.post(f"{catalog_sandbox.fal_queue_url}/fal-ai/flux-2/lora/edit", json={"prompt": "x"},
                                    headers=KEY)  # fmt: skip
        assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["body", "image_urls"]


def _tint(data: bytes) -> float:
    """Mean red minus mean blue of a picture."""
    red, _green, blue = ImageStat.Stat(Image.open(io.BytesIO(data)).convert("RGB")).mean
    return red - blue


async def test_an_editing_endpoint_shows_its_input_images(catalog_sandbox: RunningSandbox):
    """Kontext reads image_url; a FLUX.2 edit reads image_urls: the input's colour shows through."""
    async with httpx.AsyncClient(timeout=20) as client:
        tints = {}
        for name, colour in (("red", (230, 20, 20)), ("blue", (20, 20, 230))):
            body = {"prompt": "make it a painting", "seed": 5, "image_size": SMALL, "num_inference_steps": 4,
                    "image_urls": [data_uri(png_bytes(colour, (64, 48)))]}  # fmt: skip
            done, response = await run(client, catalog_sandbox, "fal-ai/flux-2/lora/edit", body)
            assert response.status_code == 200, response.text
            tints[name] = _tint((await client.get(response.json()["images"][0]["url"])).content)
        assert tints["red"] - tints["blue"] > 40, tints

        body = {"prompt": "Put a donut next to the flour.", "seed": 5, "image_url": "https://example.com/kitchen.png"}
        done, response = await run(client, catalog_sandbox, "fal-ai/flux-pro/kontext", body)
        assert response.status_code == 200
        messages = " ".join(line["message"] for line in done["logs"])
        assert "placeholder image for image_url" in messages  # the input image was read (a placeholder offline)


async def test_every_input_image_of_a_list_shows(catalog_sandbox: RunningSandbox):
    """image_urls with two images: the second one changes the picture too."""
    async with httpx.AsyncClient(timeout=20) as client:
        red = data_uri(png_bytes((230, 20, 20), (64, 48)))
        pictures = []
        for second in ((230, 20, 20), (20, 20, 230)):
            body = {"prompt": "combine them", "seed": 5, "image_size": SMALL, "num_inference_steps": 4,
                    "image_urls": [red, data_uri(png_bytes(second, (64, 48)))]}  # fmt: skip
            _done, response = await run(client, catalog_sandbox, "fal-ai/flux-2/lora/edit", body)
            assert response.status_code == 200, response.text
            pictures.append((await client.get(response.json()["images"][0]["url"])).content)
        assert _tint(pictures[0]) - _tint(pictures[1]) > 10
