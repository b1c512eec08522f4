"""Input image bytes -> a small RGB image, without ever holding a huge bitmap.

A 12000x12000 PNG of one colour is 420 KB on the wire but 576 MB once decoded, so the size is checked from the
header first (Pillow's ``Image.open`` is lazy) and anything above ``MAX_INPUT_PIXELS`` or ``MAX_INPUT_SIDE`` is
refused before a pixel is decoded; Pillow's decompression-bomb guard is reported the same way. JPEGs are decoded at
1/2, 1/4 or 1/8 scale when that still covers the size the sandbox needs (``draft``), and the reduction happens
before any copy (EXIF rotation, conversion to RGB), so the peak is one decoded bitmap of an accepted image.
Callers run ``decode_image`` in a worker thread and bound how many run at once (sandbox/image_inputs.py).
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

#: Inputs above either limit are refused from their header, before decoding.
MAX_INPUT_PIXELS = 40_000_000
MAX_INPUT_SIDE = 8192


class ImageTooLarge(ValueError):
    """The image's declared size is over the limits (or trips Pillow's decompression-bomb guard)."""


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_INPUT_PIXELS or max(width, height) > MAX_INPUT_SIDE:
        raise ImageTooLarge(
            f"the image is {width}x{height} ({width * height / 1e6:.0f} MP); the sandbox reads images up to "
            f"{MAX_INPUT_SIDE} px per side and {MAX_INPUT_PIXELS / 1e6:.0f} MP"
        )


def fitted_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``size`` scaled down (aspect kept) so that its long side is at most ``max_side``."""
    width, height = size
    if max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode_image(data: bytes, max_side: int = 1024) -> Image.Image:
    """Bytes -> RGB image, long side capped at ``max_side``.

    Raises ImageTooLarge for images over the limits and ValueError when the bytes are not a readable image.
    """
    try:
        opened = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"the image is too large to decode safely ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - PIL raises a zoo of types for bad input
        raise ValueError(f"not a readable image ({type(exc).__name__})") from None
    with opened:
        _check_size(*opened.size)
        try:
            target = fitted_size(opened.size, max_side)
            opened.draft("RGB", target)  # JPEG: decode at a reduced scale that still covers target; else no-op
            opened.load()
            if max(opened.size) > max_side:
                opened.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            image = ImageOps.exif_transpose(opened).convert("RGB")
        except Exception as exc:  # noqa: BLE001 - as above: truncated data, bad chunks, unsupported modes
            raise ValueError(f"not a readable image ({type(exc).__name__})") from None
    return image
