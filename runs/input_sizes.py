"""The pixel size of each input image a run sends, where it can be read here.

A megapixel price that counts input images (FLUX.2: ``PriceModel.counts_input_images``) bills each one's
megapixels; without their sizes the estimate assumes 1 MP each and says so (``runs.pricing.estimate_cost``). An
uploaded file (only under the app's upload roots, as the providers accept them: ``providers.local_files``) and a
``data:`` URI are read here, their header only; an http(s) URL is the provider's to fetch and stays unknown.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from endpoints.base import EndpointSpec
from endpoints.bfl import is_plain_base64
from providers.local_files import upload_file
from runs.pricing import Size

#: How many characters of a data: URI's base64 are decoded to find the image's size (192 KB of bytes): the header
#: with any EXIF block before a JPEG's size (a block holds at most 64 KB).
DATA_URI_HEAD_CHARS = 256 * 1024


#: The formats an input image may be in (the providers send PNG, JPEG and WebP): no other Pillow plugin is tried.
FORMATS = ("PNG", "JPEG", "WEBP")


def _size_of(source: Path | io.BytesIO) -> Size | None:
    try:
        with Image.open(source, formats=FORMATS) as image:  # reads the header; the pixels are never decoded
            width, height = image.size
    except Image.DecompressionBombError:
        # Larger than Pillow opens (twice ``Image.MAX_IMAGE_PIXELS``): priced at that size at least, not at 1 MP,
        # so a budget reserves enough for it (a provider refuses such an image anyway).
        side = math.isqrt(2 * (Image.MAX_IMAGE_PIXELS or 0)) + 1
        return (side, side)
    except (OSError, ValueError, SyntaxError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def base64_image_size(payload: str) -> Size | None:
    """``(width, height)`` of the image whose base64 this is, from its first ``DATA_URI_HEAD_CHARS``; None when it
    does not read as an image."""
    head = "".join(payload[:DATA_URI_HEAD_CHARS].split())  # MIME-style base64 has line breaks
    try:
        data = base64.b64decode(head[:len(head) - len(head) % 4])
    except (binascii.Error, ValueError):
        return None
    return _size_of(io.BytesIO(data))


def image_size(value: Any, roots: Sequence[Path]) -> Size | None:
    """``(width, height)`` of the image ``value`` names: an uploaded file under ``roots``, a ``data:`` URI or plain
    base64; None for anything else (a URL, another path, not an image)."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("data:"):
        header, comma, payload = value.partition(",")
        if not comma or ";base64" not in header.lower():
            return None
        return base64_image_size(payload)
    path = upload_file(value, tuple(roots))
    if path is not None:
        return _size_of(path)
    return base64_image_size(value) if is_plain_base64(value) else None  # BFL's own inline form


def input_images(spec: EndpointSpec, wire: Mapping[str, Any]) -> list[Any]:
    """The input images the run sends, as ``runs.pricing.input_image_count`` counts them."""
    values: list[Any] = []
    if (name := spec.field_for("image")) is not None and wire.get(name):
        values.append(wire[name])
    if (name := spec.field_for("images")) is not None and isinstance(items := wire.get(name), list):
        values.extend(item for item in items if item)
    return values


def counts_input_images(spec: EndpointSpec) -> bool:
    """Whether ``spec``'s price bills the input images' megapixels (the structure is always the shipped price's:
    ``runs.pricing.PriceBook.price_for``)."""
    return spec.price is not None and spec.price.counts_input_images


def priced_input_sizes(spec: EndpointSpec, wire: Mapping[str, Any], roots: Sequence[Path]) -> list[Size] | None:
    """The sizes of the input images that could be read, when ``spec``'s price counts input images (None when it
    does not). Blocking file reads: call it off the event loop."""
    return InputSizes(roots)(spec, wire)


class InputSizes:
    """``priced_input_sizes`` reading each image once: a sweep's cells mostly share their input image. Blocking
    file reads for a value not read yet: call it off the event loop (then again on the loop for the same cells)."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = tuple(roots)
        self._read: dict[str, Size | None] = {}

    def __call__(self, spec: EndpointSpec, wire: Mapping[str, Any]) -> list[Size] | None:
        if not counts_input_images(spec):
            return None
        sizes = []
        for value in input_images(spec, wire):
            if not isinstance(value, str):
                continue
            if value not in self._read:
                self._read[value] = image_size(value, self.roots)
            if (size := self._read[value]) is not None:
                sizes.append(size)
        return sizes
