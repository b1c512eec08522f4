"""``data:`` URIs anywhere in a request body: found with their field path, decoded, replaced by a URL.

fal takes a ``data:<mime>;base64,...`` URI wherever it takes a URL, but large ones fail (reports from ~3–10 MB)
and they make every copy of the request (history, share links, copied code) as large as the image. The fal
provider therefore uploads the ones above ``INLINE_MAX_CHARS`` to fal storage, as the page's own uploads are.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from collections.abc import Iterator, Sequence
from typing import Any

from PIL import Image, UnidentifiedImageError

from providers.errors import ValidationFailed

#: data: URIs up to this many characters stay inline (icons, tiny masks); longer ones are uploaded.
INLINE_MAX_CHARS = 4096
_HEADER = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[^;,]*)*)(?P<b64>;base64)?$", re.IGNORECASE)

Path_ = tuple[str | int, ...]


def field_name(path: Path_) -> str:
    """``("controlnets", 0, "control_image_url")`` → ``controlnets[0].control_image_url``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def large_data_uris(body: Any, min_chars: int = INLINE_MAX_CHARS) -> Iterator[tuple[Path_, str]]:
    """Every base64 ``data:`` URI longer than ``min_chars`` in a URL field (a key ending ``_url``, fal's naming
    for every file input, or a list under one), with its path in ``body``, depth first. Text fields (a prompt
    that happens to start with "data:") and non-base64 data: URIs (inline SVG) are left alone."""
    yield from _walk(body, min_chars, (), url_field=False)


def _walk(body: Any, min_chars: int, path: Path_, *, url_field: bool) -> Iterator[tuple[Path_, str]]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield from _walk(value, min_chars, (*path, key), url_field=str(key).endswith("_url"))
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from _walk(value, min_chars, (*path, index), url_field=url_field)
    elif url_field and isinstance(body, str) and len(body) > min_chars and body[:5].lower() == "data:":
        comma = body.find(",", 0, 1024)
        match = _HEADER.match(body[:comma]) if comma > 0 else None
        if match is not None and match["b64"]:
            yield path, body


def decode_data_uri(uri: str, field: str) -> tuple[bytes, str]:
    """``(bytes, content type)`` of a base64 ``data:`` URI; ValidationFailed naming ``field`` if it is not one."""
    header, comma, payload = uri.partition(",")
    match = _HEADER.match(header)
    if not comma or match is None or not match["b64"]:
        raise ValidationFailed(f"{field}: not a base64 data: URI", fields=[(field, "not a base64 data: URI")])
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(f"{field}: the data: URI's base64 is malformed",
                               fields=[(field, "malformed base64")]) from None
    return data, (match["type"] or "application/octet-stream").lower()


#: What an uploaded data: URI may hold, by its bytes (the page's own rule for uploads): format -> content type.
UPLOADABLE_IMAGES = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg", "WEBP": "image/webp"}
# (MPO: a JPEG with more pictures after the first, as phones write Ultra HDR photos; it is a JPEG to everyone else.)


def is_image_field(key: str) -> bool:
    """Whether a ``_url`` field takes an image (``image_url``, ``control_image_url``, ``mask_image_url``,
    ``image_urls``...) rather than another file (a ControlNet's ``config_url``, a LoRA's ``control_method_url``)."""
    return "image" in key or "mask" in key


def image_content_type(data: bytes, field: str) -> str:
    """The content type of ``data`` read from its bytes, if it is a PNG, JPEG or WebP image Pillow can read;
    ValidationFailed naming ``field`` otherwise. Uploads go to the provider's storage on the caller's or the
    server's key before the job is sent, so nothing else is uploaded (an HTML page declared as an image, say)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        kind = None
    if kind not in UPLOADABLE_IMAGES:
        message = "not a PNG, JPEG or WebP image"
        raise ValidationFailed(f"{field}: {message}", fields=[(field, message)])
    return UPLOADABLE_IMAGES[kind]


def set_at(body: Any, path: Sequence[str | int], value: Any) -> None:
    """Replace the value at ``path`` (keys and list indexes) in ``body``, in place."""
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
