"""PNG: the A1111 text in a ``parameters`` text chunk, the record JSON in an ``iTXt`` chunk ``flux_playground``,
spliced in before the image data (pixels untouched).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from runs.provenance.exif_xmp import user_comment_from_exif
from runs.provenance.found import Found

PARAMETERS_KEY = "parameters"  # A1111's PNG text keyword
RECORD_KEY = "flux_playground"  # our PNG text keyword for the record JSON
# Pillow refuses compressed PNG text that inflates beyond ImageFile.SAFEBLOCK (1 MiB), so bigger JSON goes
# uncompressed.
PNG_COMPRESSED_TEXT_MAX = 1_000_000
MAX_READ_TEXT = 8 * 1024 * 1024  # inflate limit of one compressed chunk (a run's record is far smaller)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    start: int  # offset of the length field
    end: int  # offset after the CRC
    payload: bytes


def _png_chunks(data: bytes) -> tuple[list[_Chunk], int, bool]:
    """Chunks up to IEND, the offset after them, and whether the stream ended cleanly."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    chunks: list[_Chunk] = []
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if end > len(data) or not ctype.isalpha():
            return chunks, pos, False
        chunks.append(_Chunk(ctype, pos, end, data[pos + 8:pos + 8 + length]))
        pos = end
        if ctype == b"IEND":
            return chunks, pos, True
    return chunks, pos, False


def _png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def _png_text(keyword: str, text: str, *, compress: bool = False) -> bytes:
    key = keyword.encode("latin-1")
    if not compress:
        try:
            return _png_chunk(b"tEXt", key + b"\0" + text.encode("latin-1"))
        except UnicodeEncodeError:
            pass
    body = text.encode("utf-8")
    if compress:
        body = zlib.compress(body, 9)
    return _png_chunk(b"iTXt", key + b"\0" + bytes([1 if compress else 0, 0]) + b"\0\0" + body)


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_READ_TEXT)
    if inflater.unconsumed_tail:
        raise ValueError("compressed text too large")
    return out


def _png_keyword(chunk: _Chunk) -> str:
    return chunk.payload.partition(b"\0")[0].decode("latin-1")


def _png_text_of(chunk: _Chunk) -> str | None:
    """The text of a tEXt/zTXt/iTXt chunk (inflated if compressed: only for a keyword ``read_png`` reads); None
    when it cannot be read."""
    try:
        rest = chunk.payload.partition(b"\0")[2]
        if chunk.type == b"tEXt":
            return rest.decode("latin-1")
        if chunk.type == b"zTXt":
            return _inflate(rest[1:]).decode("latin-1")
        flag, _method = rest[0], rest[1]
        _lang, _, rest = rest[2:].partition(b"\0")
        _translated, _, body = rest.partition(b"\0")
        return (_inflate(body) if flag else body).decode("utf-8")
    except (ValueError, IndexError, zlib.error):
        return None


def embed_png(data: bytes, parameters: str, record_json: str | None) -> bytes:
    chunks, end, complete = _png_chunks(data)
    if not complete or not any(c.type == b"IDAT" for c in chunks):
        raise ValueError("the PNG is truncated or has no image data")
    new = _png_text(PARAMETERS_KEY, parameters)
    if record_json is not None:
        new += _png_text(RECORD_KEY, record_json, compress=len(record_json.encode()) <= PNG_COMPRESSED_TEXT_MAX)
    out = [PNG_SIGNATURE]
    inserted = False
    for chunk in chunks:
        if chunk.type in _TEXT_CHUNKS and _png_keyword(chunk) in (PARAMETERS_KEY, RECORD_KEY):
            continue  # replaced
        if chunk.type == b"IDAT" and not inserted:
            out.append(new)  # before the image data, where readers that stop at IDAT still see it
            inserted = True
        out.append(data[chunk.start:chunk.end])
    out.append(data[end:])
    return b"".join(out)


def read_png(data: bytes, found: Found) -> None:
    chunks, _, complete = _png_chunks(data)
    if not complete:
        found.notes.append("the PNG is truncated")
    # Only these keywords are read, each once (read or not: a bomb past the limit is not tried again); no other
    # chunk is inflated: an uploaded file may carry hundreds of compressed chunks, each a bomb.
    wanted = {PARAMETERS_KEY, RECORD_KEY}
    for chunk in chunks:
        if chunk.type in _TEXT_CHUNKS:
            keyword = _png_keyword(chunk)
            if keyword not in wanted:
                continue
            wanted.discard(keyword)
            text = _png_text_of(chunk)
            if text is not None and keyword == PARAMETERS_KEY and found.parameters is None:
                found.parameters = text
            elif text is not None and keyword == RECORD_KEY:
                found.record_text = text
        elif chunk.type == b"eXIf" and found.parameters is None:
            found.parameters = user_comment_from_exif(chunk.payload)
