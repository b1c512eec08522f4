"""Oversized input images are refused from their header (a field-named 422), big JPEGs decode at reduced scale,
and memory stays bounded even with six huge images at once (measured in a fresh process)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image, JpegImagePlugin

from sandbox.decoding import (
    MAX_INPUT_PIXELS,
    MAX_INPUT_SIDE,
    ImageTooLarge,
    decode_image,
)
from tests.sandbox.support import I2I, KEY, data_uri, solid_png, submit, wait_done

REPO = Path(__file__).resolve().parents[2]
HUGE = (12000, 12000)  # 144 MP: 165 KB as a one-colour PNG, 144-576 MB decoded
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")


def jpeg_bytes(size: tuple[int, int], mode: str = "L") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 90).save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "size, bit_depth",
    [
        (HUGE, 8),
        ((MAX_INPUT_SIDE + 1, 16), 8),
        ((7000, 6000), 8),
        ((14000, 14000), 1),
    ],  # the last trips Pillow's bomb guard
)
def test_oversized_images_are_refused_before_decoding(size, bit_depth):
    with pytest.raises(ImageTooLarge):
        decode_image(solid_png(*size, bit_depth=bit_depth))


def test_images_within_the_limits_are_read_and_scaled():
    assert decode_image(solid_png(4000, 1000), max_side=1024).size == (1024, 256)
    assert MAX_INPUT_PIXELS >= 4000 * 1000


def test_large_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    drafts = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        result = original(self, mode, size)
        drafts.append((size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    image = decode_image(jpeg_bytes((4000, 3000)), max_side=512)
    assert image.size == (512, 384) and image.mode == "RGB"
    assert drafts[0] == ((512, 384), (1000, 750))  # decoded at 1/4 scale, never at 4000x3000


async def test_fal_refuses_with_a_field_named_422(sbx, client):
    body = {"prompt": "p", "image_url": data_uri(solid_png(*HUGE)), "num_inference_steps": 10}
    submitted = await submit(client, sbx, I2I, body)
    done = await wait_done(client, submitted["status_url"])
    assert done["error_type"] == "validation_error"
    result = await client.get(submitted["response_url"], headers=KEY)
    assert result.status_code == 422
    (detail,) = result.json()["detail"]
    assert detail["loc"] == ["body", "image_url"] and detail["type"] == "image_too_large"
    assert "12000x12000" in detail["msg"]


async def test_segmind_refuses_naming_the_field(sbx, client):
    body = {"prompt": "p", "control_image": data_uri(solid_png(*HUGE)), "steps": 15}
    response = await client.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", json=body, headers={"x-api-key": "k"})
    assert response.status_code == 400 and response.json()["error"].startswith("control_image: Image too large")


_MEASURE = textwrap.dedent(
    """
    import asyncio, json, resource, sys, warnings
    sys.path.insert(0, sys.argv[1])
    warnings.simplefilter("ignore")
    from sandbox.image_inputs import ImageLoadError, ImageResolver
    from sandbox.storage import FileStore
    from tests.sandbox.support import data_uri, solid_png

    png, jpeg = data_uri(solid_png(12000, 12000)), data_uri(open(sys.argv[2], "rb").read())

    async def main():
        resolver = ImageResolver(FileStore(1 << 20), "http://sandbox", 1024, asyncio.Semaphore(6))
        async def one(ref):
            try:
                return (await resolver.load("image_url", ref)).image.size
            except ImageLoadError as exc:
                return exc.error_type
        return await asyncio.gather(*(one(png) for _ in range(6)), one(jpeg))

    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    before = peak()
    results = asyncio.run(main())
    print(json.dumps({"results": results, "grew": peak() - before}))
    """
)


@pytest.mark.timeout(120)
def test_memory_stays_bounded_with_six_huge_images_at_once(tmp_path):
    jpeg = tmp_path / "big.jpg"
    jpeg.write_bytes(jpeg_bytes((8000, 5000), "RGB"))  # exactly the pixel limit: accepted, decoded at 1/4 scale
    command = [sys.executable, "-c", _MEASURE, str(REPO), str(jpeg)]
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=100)
    assert run.returncode == 0, run.stderr
    measured = json.loads(run.stdout)
    assert measured["results"] == ["image_too_large"] * 6 + [[1024, 640]]
    assert measured["grew"] < 100 * 1024 * 1024, f"peak RSS grew by {measured['grew'] / 2**20:.0f} MB"
