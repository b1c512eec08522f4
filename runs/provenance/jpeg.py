"""JPEG: the A1111 text as EXIF ``UserComment`` and the record JSON in one XMP segment, spliced in after JFIF (the
scan is not recompressed).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

from runs.provenance.exif_xmp import (
    EXIF_SIGNATURE,
    exif_with_comment,
    record_from_xmp,
    user_comment_from_exif,
    wrap_packet,
    xmp_packet,
)
from runs.provenance.found import Found

XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\0"
MAX_SEGMENT_DATA = 65533


@dataclass(frozen=True)
class _Segment:
    marker: int
    start: int
    end: int

    def payload(self, data: bytes) -> bytes:
        return data[self.start + 4:self.end]


def _jpeg_segments(data: bytes) -> tuple[list[_Segment], int | None]:
    """Marker segments before the scan, and the offset of SOS (None when the stream ends before it)."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG")
    segments: list[_Segment] = []
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"no marker at byte {pos}")
        start = pos
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos >= len(data):
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return segments, None
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            continue
        if pos + 2 > len(data):
            break
        (length,) = struct.unpack(">H", data[pos:pos + 2])
        if length < 2 or pos + length > len(data):
            raise ValueError(f"segment at byte {start} runs past the end")
        if marker == 0xDA:
            return segments, start
        segments.append(_Segment(marker, start, pos + length))
        pos += length
    return segments, None


def _app1(payload: bytes) -> bytes:
    if len(payload) > MAX_SEGMENT_DATA:
        raise ValueError("segment too large")
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def _xmp_segment(record_json: str) -> bytes:
    """One APP1 XMP segment holding the record, or nothing when even the compact record does not fit one (64 KB):
    the image then carries the A1111 text alone."""
    ascii_json = json.dumps(json.loads(record_json), ensure_ascii=True, separators=(",", ":"))
    main = XMP_SIGNATURE + wrap_packet(xmp_packet(ascii_json))
    return _app1(main) if len(main) <= MAX_SEGMENT_DATA else b""


#: Extended XMP as older versions of this app wrote it: replaced like the rest of ours, never read.
_OLD_EXTENSION_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\0"


def _is_ours_app1(payload: bytes) -> bool:
    return payload.startswith((EXIF_SIGNATURE, XMP_SIGNATURE, _OLD_EXTENSION_SIGNATURE))


def embed_jpeg(data: bytes, parameters: str, record_json: str | None) -> bytes:
    segments, sos = _jpeg_segments(data)
    if sos is None:
        raise ValueError("the JPEG has no image data")
    old_exif = next(
        (s.payload(data) for s in segments if s.marker == 0xE1 and s.payload(data).startswith(EXIF_SIGNATURE)), None
    )
    new = b""
    exif = exif_with_comment(old_exif, parameters)
    if len(exif) <= MAX_SEGMENT_DATA:
        new += _app1(exif)
    elif old_exif is not None:
        new += _app1(old_exif)  # the text does not fit in EXIF (64 KiB); the record JSON below still carries it
    if record_json is not None:
        new += _xmp_segment(record_json)
    kept = [s for s in segments if not (s.marker == 0xE1 and _is_ours_app1(s.payload(data)))]
    at = next((i for i, s in enumerate(kept) if s.marker != 0xE0), len(kept))  # after the JFIF APP0, if any
    parts = [b"\xff\xd8", *(data[s.start:s.end] for s in kept[:at]), new, *(data[s.start:s.end] for s in kept[at:])]
    return b"".join(parts) + data[sos:]


def read_jpeg(data: bytes, found: Found) -> None:
    try:
        segments, _ = _jpeg_segments(data)
    except ValueError as exc:
        found.notes.append(f"the JPEG is damaged ({exc})")
        return
    for segment in segments:
        if segment.marker != 0xE1:
            continue
        payload = segment.payload(data)
        if payload.startswith(EXIF_SIGNATURE) and found.parameters is None:
            found.parameters = user_comment_from_exif(payload)
        elif payload.startswith(XMP_SIGNATURE) and found.record_text is None:
            found.record_text = record_from_xmp(payload[len(XMP_SIGNATURE):])
