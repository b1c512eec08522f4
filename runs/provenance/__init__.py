"""Images that carry their parameters: write a run into PNG/JPEG/WebP metadata, read it back from any image.

What an image gets (``embed_metadata``):

- the AUTOMATIC1111 ``parameters`` text (``a1111.py``), which A1111's "PNG Info", Civitai, SwarmUI and most
  image viewers read: a PNG ``tEXt``/``iTXt`` chunk ``parameters`` (``png.py``); an EXIF ``UserComment`` in JPEG
  and WebP, encoded as A1111 does (``exif_xmp.py``);
- the whole ``RunRecord`` as compact JSON (``record_json.py``), for a full restore: a PNG ``iTXt`` chunk
  ``flux_playground``; one XMP segment in JPEG (``jpeg.py``) and an XMP chunk in WebP (``webp.py``).

Pixels are never touched: chunks and segments are spliced into the existing byte stream (no re-encoding, so a
JPEG is not recompressed). Every function works on bytes and does no I/O; callers run them in a thread.
``read_metadata`` never raises, whatever the bytes. Records never hold a key: ``runs.record.check_no_secrets``
refuses one that seems to.
"""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from PIL import Image

from runs.provenance.a1111 import (
    NO_PARAMETERS,
    FormValues,
    ImageMetadata,
    a1111_parameters,
    parse_a1111_parameters,
)
from runs.provenance.exif_xmp import decode_user_comment, user_comment
from runs.provenance.found import Found
from runs.provenance.jpeg import embed_jpeg, read_jpeg
from runs.provenance.names import download_name
from runs.provenance.png import PNG_SIGNATURE, embed_png, read_png
from runs.provenance.record_json import record_from_json, record_json_text
from runs.provenance.webp import embed_webp, read_webp
from runs.record import RunRecord, check_no_secrets

__all__ = [
    "NO_PARAMETERS",
    "FormValues",
    "ImageMetadata",
    "a1111_parameters",
    "decode_user_comment",
    "download_name",
    "embed_metadata",
    "parse_a1111_parameters",
    "read_metadata",
    "sniff_format",
    "user_comment",
]


def sniff_format(data: bytes) -> str | None:
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def embed_metadata(data: bytes, content_type: str, record: RunRecord) -> bytes:
    """The image with the run's A1111 text and record JSON inside; pixels and compressed data unchanged.

    The format is read from the bytes (``content_type`` is only a hint); formats other than PNG, JPEG and WebP
    come back unchanged. Raises ``SecretInRecordError`` for a record whose request shows a key, and
    ``ValueError`` for a PNG/JPEG/WebP too damaged to edit safely.
    """
    check_no_secrets(record.request)
    kind = sniff_format(data)
    if kind is None:
        return data
    parameters = a1111_parameters(record)
    record_json = record_json_text(record)
    if kind == "PNG":
        return embed_png(data, parameters, record_json)
    if kind == "JPEG":
        return embed_jpeg(data, parameters, record_json)
    return embed_webp(data, parameters, record_json)


def read_metadata(data: bytes) -> ImageMetadata:
    """What an image says about how it was made. Never raises: unreadable input gives ``kind="error"``."""
    try:
        return _read_metadata(bytes(data))
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; say what went wrong instead
        return ImageMetadata(kind="error", error=f"could not read the image's metadata ({type(exc).__name__})")


def _read_metadata(data: bytes) -> ImageMetadata:
    kind = sniff_format(data)
    found = Found()
    if kind == "PNG":
        read_png(data, found)
    elif kind == "JPEG":
        read_jpeg(data, found)
    elif kind == "WEBP":
        read_webp(data, found)
    else:
        kind = _pillow_format(data)
        if kind is None:
            return ImageMetadata(kind="error", error="these bytes are not an image Pillow can read")
    record_json: dict[str, Any] | None = None
    record: RunRecord | None = None
    if found.record_text is not None:
        record_json, record = record_from_json(found.record_text, found.notes)
    if record is not None:
        text = found.parameters or a1111_parameters(record)
        parsed = parse_a1111_parameters(text)
        return _with(parsed, kind="record", format=kind, record=record, record_json=record_json,
                     parameters=found.parameters, notes=(*parsed.notes, *found.notes))
    if found.parameters:
        parsed = parse_a1111_parameters(found.parameters)
        return _with(parsed, format=kind, record_json=record_json, notes=(*parsed.notes, *found.notes))
    return ImageMetadata(kind="none", format=kind, record_json=record_json, notes=tuple(found.notes))


def _with(meta: ImageMetadata, **changes: Any) -> ImageMetadata:
    return replace(meta, **changes)


def _pillow_format(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.format or "image"
    except Exception:  # noqa: BLE001 - any failure means "not an image"
        return None
