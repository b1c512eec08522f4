"""Download names: ``<api_name>-<seed>-<n>.<ext>``.
"""

from __future__ import annotations

import mimetypes
import re

_EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/pjpeg": "jpg", "image/png": "png",
               "image/webp": "webp", "image/gif": "gif", "image/avif": "avif", "image/bmp": "bmp",
               "image/tiff": "tif"}


def download_name(api_name: str, seed: int | str | None, index: int, content_type: str) -> str:
    """``flux_pro-1234-1.png``: endpoint, seed (``noseed`` when unknown; a word such as ``sweep`` for an image that
    is not one run's), the image's 1-based position, extension."""
    if index < 1:
        raise ValueError("index counts from 1 (the first image is 1)")
    mime = content_type.split(";", 1)[0].strip().lower()
    ext = _EXTENSIONS.get(mime) or (mimetypes.guess_extension(mime) or ".bin").lstrip(".")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", api_name).strip("._") or "image"
    return f"{stem}-{seed if seed is not None else 'noseed'}-{index}.{ext}"
