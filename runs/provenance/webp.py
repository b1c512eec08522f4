"""WebP: the A1111 text in an ``EXIF`` chunk and the record JSON in an ``XMP `` chunk (a VP8X header added to a
simple WebP), the bitstream untouched.
"""

from __future__ import annotations

import json
import struct

from runs.provenance.exif_xmp import (
    EXIF_SIGNATURE,
    exif_with_comment,
    record_from_xmp,
    user_comment_from_exif,
    wrap_packet,
    xmp_packet,
)
from runs.provenance.found import Found

_VP8X_ALPHA, _VP8X_EXIF, _VP8X_XMP = 0x10, 0x08, 0x04


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP")
    (size,) = struct.unpack("<I", data[4:8])
    end = min(len(data), 8 + size)
    chunks: list[tuple[bytes, bytes]] = []
    pos = 12
    while pos + 8 <= end:
        fourcc = data[pos:pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4:pos + 8])
        if pos + 8 + length > end:
            raise ValueError("a WebP chunk runs past the end")
        chunks.append((fourcc, data[pos + 8:pos + 8 + length]))
        pos += 8 + length + (length & 1)
    return chunks


def _riff_chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def _vp8x_for(fourcc: bytes, payload: bytes) -> bytes:
    """A VP8X header for a simple (VP8/VP8L) WebP, read from its bitstream header."""
    if fourcc == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width = struct.unpack("<H", payload[6:8])[0] & 0x3FFF
        height = struct.unpack("<H", payload[8:10])[0] & 0x3FFF
        flags = 0
    elif fourcc == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        (bits,) = struct.unpack("<I", payload[1:5])
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        flags = _VP8X_ALPHA if (bits >> 28) & 1 else 0
    else:
        raise ValueError("unrecognised WebP bitstream")
    return bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")


def embed_webp(data: bytes, parameters: str, record_json: str | None) -> bytes:
    chunks = _riff_chunks(data)
    if not chunks:
        raise ValueError("the WebP has no image data")
    old_exif = next((p for f, p in chunks if f == b"EXIF"), None)
    chunks = [(f, p) for f, p in chunks if f not in (b"EXIF", b"XMP ")]
    if chunks[0][0] != b"VP8X":
        chunks.insert(0, (b"VP8X", _vp8x_for(*chunks[0])))
    exif = exif_with_comment(old_exif, parameters)[len(EXIF_SIGNATURE):]  # WebP's EXIF chunk holds bare TIFF
    flags = chunks[0][1][0] | _VP8X_EXIF
    tail = [(b"EXIF", exif)]
    if record_json is not None:
        ascii_json = json.dumps(json.loads(record_json), ensure_ascii=True, separators=(",", ":"))
        tail.append((b"XMP ", wrap_packet(xmp_packet(ascii_json))))
        flags |= _VP8X_XMP
    chunks[0] = (b"VP8X", bytes([flags]) + chunks[0][1][1:])
    body = b"WEBP" + b"".join(_riff_chunk(f, p) for f, p in [*chunks, *tail])
    return b"RIFF" + struct.pack("<I", len(body)) + body


def read_webp(data: bytes, found: Found) -> None:
    try:
        chunks = _riff_chunks(data)
    except ValueError as exc:
        found.notes.append(f"the WebP is damaged ({exc})")
        return
    for fourcc, payload in chunks:
        if fourcc == b"EXIF" and found.parameters is None:
            found.parameters = user_comment_from_exif(payload)
        elif fourcc == b"XMP " and found.record_text is None:
            found.record_text = record_from_xmp(payload)
