"""Input images' sizes for prices that bill their megapixels (FLUX.2): read from uploads and data: URIs only."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from pathlib import Path

from PIL import Image

from endpoints import get_endpoint
from endpoints.price import PriceModel
from runs.input_sizes import counts_input_images, image_size, input_images, priced_input_sizes

I2I = get_endpoint("flux_dev_image_to_image")  # one input image, ``image_url``
COUNTED = PriceModel("megapixel", 0.03, source="test", read_on="2026-12", extra_unit_price_usd=0.015,
                     counts_input_images=True)


def encoded(size: tuple[int, int], kind: str = "PNG", exif: bytes | None = None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 90, 160)).save(out, kind, **({"exif": exif} if exif else {}))
    return out.getvalue()


def test_an_upload_is_measured_by_its_header(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "wide.png").write_bytes(encoded((1500, 1000)))
    (uploads / "photo.jpg").write_bytes(encoded((640, 480), "JPEG"))
    assert image_size(str(uploads / "wide.png"), [uploads]) == (1500, 1000)
    assert image_size(str(uploads / "photo.jpg"), [uploads]) == (640, 480)


def test_nothing_outside_the_upload_roots_is_read(tmp_path: Path) -> None:
    uploads, elsewhere = tmp_path / "uploads", tmp_path / "elsewhere"
    uploads.mkdir()
    elsewhere.mkdir()
    (elsewhere / "secret.png").write_bytes(encoded((64, 64)))
    (uploads / "link.png").symlink_to(elsewhere / "secret.png")
    assert image_size(str(elsewhere / "secret.png"), [uploads]) is None
    assert image_size(str(uploads / "link.png"), [uploads]) is None, "a link out of the uploads is not followed"
    assert image_size(str(uploads / ".." / "elsewhere" / "secret.png"), [uploads]) is None
    assert image_size("wide.png", [uploads]) is None  # a relative name


def test_data_uris_are_measured_and_urls_are_not(tmp_path: Path) -> None:
    png = "data:image/png;base64," + base64.b64encode(encoded((300, 200))).decode()
    # a JPEG whose size comes after a 60 KB EXIF block (a marker holds at most 64 KB)
    exif = Image.Exif()
    exif[0x010E] = "x" * 60_000  # ImageDescription
    jpeg = "data:image/jpeg;base64," + base64.b64encode(encoded((320, 240), "JPEG", exif.tobytes())).decode()
    assert image_size(png, [tmp_path]) == (300, 200)
    assert image_size(jpeg, [tmp_path]) == (320, 240)
    assert image_size("https://example.com/a.png", [tmp_path]) is None
    assert image_size("data:image/png;base64,not-base64!", [tmp_path]) is None
    assert image_size("data:text/plain,hello", [tmp_path]) is None
    assert image_size("data:image/png;base64," + base64.b64encode(b"not an image").decode(), [tmp_path]) is None
    assert image_size(None, [tmp_path]) is None
    # BFL's own inline form, plain base64
    assert image_size(base64.b64encode(encoded((640, 480), "JPEG")).decode(), [tmp_path]) == (640, 480)


def test_only_a_price_that_counts_input_images_reads_them(tmp_path: Path) -> None:
    (tmp_path / "in.png").write_bytes(encoded((2048, 2048)))
    wire = {"prompt": "x", "image_url": str(tmp_path / "in.png")}
    assert not counts_input_images(I2I) and priced_input_sizes(I2I, wire, [tmp_path]) is None
    counted = replace(I2I, price=COUNTED)
    assert counts_input_images(counted) and input_images(counted, wire) == [wire["image_url"]]
    assert priced_input_sizes(counted, wire, [tmp_path]) == [(2048, 2048)]
    # a URL stays unknown: the estimate assumes 1 MP for it and says so (runs.pricing)
    assert priced_input_sizes(counted, {**wire, "image_url": "https://example.com/a.png"}, [tmp_path]) == []
    assert priced_input_sizes(counted, {"prompt": "x"}, [tmp_path]) == []


def test_mime_style_base64_and_an_image_too_large_to_open(tmp_path: Path) -> None:
    encoded_png = base64.encodebytes(encoded((300, 200))).decode()  # 76 columns, line breaks
    assert image_size("data:image/png;BASE64," + encoded_png, [tmp_path]) == (300, 200)
    # a PNG of 13500 × 13500 (182 MP, past what Pillow opens): priced at least at Pillow's limit
    huge = tmp_path / "huge.png"
    Image.new("1", (13500, 13500)).save(huge, optimize=True)
    width, height = image_size(str(huge), [tmp_path])
    assert width * height >= 2 * Image.MAX_IMAGE_PIXELS
    # a format no provider takes is not opened at all
    Image.new("RGB", (64, 64)).save(tmp_path / "a.bmp")
    assert image_size(str(tmp_path / "a.bmp"), [tmp_path]) is None
