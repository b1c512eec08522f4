"""EXIF ``UserComment`` (the A1111 text, as A1111 writes it) and XMP (the record JSON): the metadata JPEG and
WebP share.
"""

from __future__ import annotations

from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

from PIL import Image

XMP_NAMESPACE = "urn:flux-playground:xmp:1:"
XMP_PREFIX = "fluxplayground"
EXIF_SIGNATURE = b"Exif\0\0"


EXIF_IFD = 0x8769
USER_COMMENT = 0x9286
_ASCII, _UNICODE, _JIS, _UNDEFINED = b"ASCII\0\0\0", b"UNICODE\0", b"JIS\0\0\0\0\0", b"\0" * 8


def user_comment(text: str) -> bytes:
    """EXIF UserComment bytes as A1111 writes them (piexif ``encoding="unicode"``): ``UNICODE\\0`` + UTF-16BE."""
    return _UNICODE + text.encode("utf-16-be", "surrogatepass")


def decode_user_comment(raw: bytes | str, big_endian: bool = True) -> str | None:
    if isinstance(raw, str):
        return raw.rstrip("\0") or None
    prefix, body = raw[:8], raw[8:]
    if prefix == _ASCII:
        text = body.decode("utf-8", "replace")
    elif prefix == _UNICODE:
        if body[:2] in (b"\xfe\xff", b"\xff\xfe"):
            text = body.decode("utf-16", "replace")
        else:
            # A1111 (piexif) writes UTF-16BE whatever the TIFF byte order; others follow the TIFF byte order.
            even_zeros, odd_zeros = body[0::2].count(0), body[1::2].count(0)
            be = even_zeros > odd_zeros or (even_zeros == odd_zeros and big_endian)
            text = body[: len(body) // 2 * 2].decode("utf-16-be" if be else "utf-16-le", "replace")
    elif prefix == _JIS:
        text = body.decode("shift_jis", "replace")
    elif prefix == _UNDEFINED:
        text = body.decode("utf-8", "replace")
    else:
        text = raw.decode("utf-8", "replace")
    return text.rstrip("\0") or None


def exif_with_comment(existing: bytes | None, text: str) -> bytes:
    """TIFF/EXIF bytes (with the ``Exif\\0\\0`` header) holding ``text`` as UserComment, other tags kept."""
    exif = Image.Exif()
    if existing:
        try:
            exif.load(existing)
            exif.get_ifd(EXIF_IFD)
        except Exception:  # noqa: BLE001 - an unreadable old EXIF block is replaced, not fatal
            exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[USER_COMMENT] = user_comment(text)
    exif.endian = ">"  # big-endian TIFF: what piexif (A1111) writes, and what matches the UTF-16BE comment
    return exif.tobytes()


def user_comment_from_exif(raw: bytes) -> str | None:
    try:
        exif = Image.Exif()
        exif.load(raw)
        comment = exif.get_ifd(EXIF_IFD).get(USER_COMMENT)
        return decode_user_comment(comment, exif.endian != "<") if comment else None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds of errors for malformed TIFF
        return None


def xmp_packet(record_json: str) -> bytes:
    """An XMP packet carrying the record JSON."""
    body = (f'<rdf:Description rdf:about="" xmlns:{XMP_PREFIX}="{XMP_NAMESPACE}">'
            f"<{XMP_PREFIX}:record>{xml_escape(record_json)}</{XMP_PREFIX}:record></rdf:Description>")
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{body}</rdf:RDF></x:xmpmeta>"
    ).encode()


def wrap_packet(xmp: bytes) -> bytes:
    return b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>' + xmp + b'<?xpacket end="r"?>'


def record_from_xmp(xmp: bytes) -> str | None:
    """The record JSON in an XMP packet, or None."""
    try:
        text = xmp.decode("utf-8", "replace").strip("\0")
        start, end = text.find("<x:xmpmeta"), text.rfind("</x:xmpmeta>")
        root = ElementTree.fromstring(text[start:end + len("</x:xmpmeta>")] if start >= 0 and end > start else text)
    except ElementTree.ParseError:
        return None
    for element in root.iter():
        value = element.get(f"{{{XMP_NAMESPACE}}}record")
        if element.tag == f"{{{XMP_NAMESPACE}}}record":
            value = element.text or ""
        if value is not None:
            return value
    return None
