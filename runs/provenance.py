"""Images that carry their parameters: write a run into PNG/JPEG/WebP metadata, read it back from any image.

What an image gets (``embed_metadata``):

- the AUTOMATIC1111 ``parameters`` text (``a1111_parameters``), which A1111's "PNG Info", Civitai, SwarmUI and
  most image viewers read: a PNG ``tEXt``/``iTXt`` chunk ``parameters``; an EXIF ``UserComment`` in JPEG and WebP,
  encoded as A1111 does (``UNICODE\\0`` + UTF-16BE in a big-endian TIFF);
- the whole ``RunRecord`` as JSON, for a full restore: a PNG ``iTXt`` chunk ``flux_playground``; an XMP packet in
  JPEG (Extended XMP when it outgrows one segment) and WebP.

Pixels are never touched: chunks and segments are spliced into the existing byte stream (no re-encoding, so a
JPEG is not recompressed). Every function works on bytes and does no I/O; callers run them in a thread.
``read_metadata`` never raises, whatever the bytes.

Records never hold a key; ``check_no_secrets`` refuses (raises) when a request's header looks like one anyway.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import mimetypes
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal
from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

from PIL import Image
from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from endpoints import get_endpoint
from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec, Role
from endpoints.roles import counterpart, role_of, role_words
from providers.base import REDACTED, PreparedRequest
from runs.record import RunRecord

PARAMETERS_KEY = "parameters"  # A1111's PNG text keyword
RECORD_KEY = "flux_playground"  # our PNG text keyword for the record JSON
XMP_NAMESPACE = "urn:flux-playground:xmp:1:"
XMP_PREFIX = "fluxplayground"
NO_PARAMETERS = "this image carries no parameters"
SAMPLER = "Euler"  # the sampler FLUX pipelines use (flow-matching Euler), written as A1111's "Sampler" entry

# Pillow refuses compressed PNG text that inflates beyond ImageFile.SAFEBLOCK (1 MiB) and any image whose text
# chunks add up to 64 MiB, so bigger JSON goes uncompressed and huge data: URIs are elided.
PNG_COMPRESSED_TEXT_MAX = 1_000_000
MAX_EMBEDDED_JSON = 16 * 1024 * 1024
ELIDE_DATA_URI_OVER = 1024
MAX_READ_TEXT = 64 * 1024 * 1024  # inflate limit when reading compressed chunks

#: The roles (``EndpointSpec.roles``) the A1111 text has its own words for, whatever the endpoint calls the field.
A1111_ROLES: dict[str, Role] = {
    "Prompt": "prompt",
    "Negative prompt": "negative_prompt",
    "Seed": "seed",
    "Steps": "steps",
    "CFG scale": "guidance",
    "Size": "size",
    "Denoising strength": "strength",
}

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "api-key", "x-key", "x-fal-key",
                            "cookie"})
_CREDENTIAL = re.compile(r"^\s*(key|bearer|basic|token)\s+(?P<rest>.*)$", re.IGNORECASE)


class SecretInRecordError(ValueError):
    """A record's request carries a header value that looks like a key; nothing derived from it may be written."""


def check_no_secrets(request: PreparedRequest | None) -> None:
    """Raise ``SecretInRecordError`` unless every credential-like header shows only ``<redacted>``.

    ``Authorization: Key <redacted>`` passes; ``Authorization: Key abc``, ``x-api-key: abc`` or any header whose
    value reads ``Bearer abc`` does not. The message names the header, never its value.
    """
    if request is None:
        return
    for name, value in request.headers.items():
        text = str(value).strip()
        match = _CREDENTIAL.match(text)
        rest = match["rest"].strip() if match else text
        if (name.lower() in SECRET_HEADERS or match) and rest not in ("", REDACTED):
            raise SecretInRecordError(
                f"the request's {name!r} header holds what looks like a key; records must show {REDACTED} there"
            )


# --------------------------------------------------------------------------------------------------------------
# The A1111 ``parameters`` text
# --------------------------------------------------------------------------------------------------------------

_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')  # A1111's re_param
_SIZE = re.compile(r"^\s*(\d+)\s*x\s*(\d+)\s*$")


def quote_value(text: str) -> str:
    """A1111 quoting: values with a comma, colon, quote or newline (or edge spaces) become a JSON string."""
    if any(c in text for c in ',:"\n\r') or text != text.strip():
        return json.dumps(text, ensure_ascii=False)
    return text


def unquote_value(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
        except ValueError:
            return text
        return value if isinstance(value, str) else text
    return text


def humanise(name: str) -> str:
    """``safety_tolerance`` -> ``Safety tolerance`` (``field_name`` reverses it)."""
    return name.replace("_", " ").strip().capitalize()


def field_name(label: str) -> str:
    return label.strip().lower().replace(" ", "_")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def _spec_or_none(key: str) -> EndpointSpec | None:
    try:
        return get_endpoint(key)
    except KeyError:
        return None


def _role_value(spec: EndpointSpec | None, data: Mapping[str, Any], role: Role) -> Any:
    """The value of the field playing ``role`` on ``spec`` (None without an endpoint, a field, or a value)."""
    name = spec.field_for(role) if spec is not None else None
    return data.get(name) if name is not None else None


def _size(record: RunRecord, spec: EndpointSpec | None) -> tuple[int, int] | None:
    value = _role_value(spec, record.input, "size")
    if isinstance(value, str) and value in IMAGE_SIZE_PRESETS:
        return IMAGE_SIZE_PRESETS[value]
    if isinstance(value, Mapping) and isinstance(value.get("width"), int) and isinstance(value.get("height"), int):
        return int(value["width"]), int(value["height"])
    images = (record.result or {}).get("images") or []
    if images and isinstance(images[0], Mapping):
        width, height = images[0].get("width"), images[0].get("height")
        if isinstance(width, int) and isinstance(height, int):
            return width, height
    return None


def _default_of(spec: EndpointSpec | None, name: str) -> Any:
    if spec is None or name not in spec.input_model.model_fields:
        return _NO_DEFAULT
    info = spec.input_model.model_fields[name]
    if info.is_required():
        return _NO_DEFAULT
    return info.get_default(call_default_factory=True)


_NO_DEFAULT = object()


def a1111_pairs(record: RunRecord) -> list[tuple[str, str]]:
    """The ``Key: value`` pairs of the last line, unquoted, in order.

    Steps, CFG scale, seed, size, strength (and the prompts, written above) are read from the fields that play
    those roles on the record's endpoint (``EndpointSpec.roles``); every other field is a pair of its own."""
    data = record.input
    spec = _spec_or_none(record.endpoint_id)
    mapped = {name for role in A1111_ROLES.values() if spec is not None and (name := spec.field_for(role))}
    pairs: list[tuple[str, str]] = []
    steps = _role_value(spec, data, "steps")
    if steps is not None:
        pairs.append(("Steps", _text(steps)))
    # A1111 readers (sd-parsers, Civitai) take a parameters line as A1111's only when it names a sampler. FLUX
    # pipelines sample with flow-matching Euler; providers do not report it, so it is stated, not read.
    pairs.append(("Sampler", SAMPLER))
    guidance = _role_value(spec, data, "guidance")
    if guidance is not None:
        pairs.append(("CFG scale", _text(guidance)))
    if record.seed is not None:
        pairs.append(("Seed", str(record.seed)))
    size = _size(record, spec)
    if size:
        pairs.append(("Size", f"{size[0]}x{size[1]}"))
    pairs.append(("Model", record.endpoint_id))
    if (strength := _role_value(spec, data, "strength")) is not None:
        pairs.append(("Denoising strength", _text(strength)))
    for name, value in data.items():
        if name in mapped or value is None or isinstance(value, list | dict):
            continue
        if isinstance(value, str) and (not value.strip() or value.startswith("data:")):
            continue  # an inline image belongs in the record JSON, not in a one-line summary
        default = _default_of(spec, name)
        if default is not _NO_DEFAULT and default == value and type(default) is type(value):
            continue
        pairs.append((humanise(name), _text(value)))
    pairs.append(("Provider", record.provider))
    request_id = record.request_id or (record.result or {}).get("request_id")
    if request_id:
        pairs.append(("Request ID", str(request_id)))
    return pairs


def a1111_parameters(record: RunRecord) -> str:
    """The AUTOMATIC1111 ``parameters`` text of a run (prompt, optional negative prompt, one line of pairs)."""
    spec = _spec_or_none(record.endpoint_id)
    prompt = _role_value(spec, record.input, "prompt")
    if not isinstance(prompt, str):
        prompt = str((record.result or {}).get("prompt") or "")  # the prompt the provider reports using
    lines = [prompt]
    negative = _role_value(spec, record.input, "negative_prompt")
    if isinstance(negative, str) and negative.strip():
        lines.append(f"Negative prompt: {negative}")
    pairs = a1111_pairs(record)
    lines.append(", ".join(f"{key}: {quote_value(value)}" for key, value in pairs))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# What an image says
# --------------------------------------------------------------------------------------------------------------

MetadataKind = Literal["record", "parameters", "none", "error"]


@dataclass(frozen=True)
class FormValues:
    """Values by field name for one endpoint's form, and what could not be carried over (label -> why)."""

    values: dict[str, Any]
    dropped: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageMetadata:
    """What ``read_metadata`` found.

    ``kind``: ``"record"`` (one of ours: ``record`` restores everything), ``"parameters"`` (A1111-style text
    only), ``"none"`` (an image without parameters) or ``"error"`` (not an image we can read; see ``error``).
    The A1111 fields are filled for both of the first two kinds.
    """

    kind: MetadataKind
    format: str | None = None  # "PNG", "JPEG", "WEBP", or another Pillow format name
    record: RunRecord | None = None
    record_json: dict[str, Any] | None = None
    parameters: str | None = None  # the A1111 text as found
    prompt: str | None = None
    negative_prompt: str | None = None
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    width: int | None = None
    height: int | None = None
    strength: float | None = None
    model: str | None = None  # the "Model" value as written
    endpoint_id: str | None = None  # set when the model names one of our endpoints
    extras: dict[str, str] = field(default_factory=dict)  # the other pairs (Provider, Sampler, ...), unquoted
    notes: tuple[str, ...] = ()
    error: str | None = None

    @property
    def found(self) -> bool:
        return self.kind in ("record", "parameters")

    @property
    def summary(self) -> str:
        if self.kind == "error":
            return self.error or "unreadable image"
        if self.kind == "none":
            return NO_PARAMETERS
        where = self.endpoint_id or self.model or "an unknown model"
        seed = f", seed {self.seed}" if self.seed is not None else ""
        if self.kind == "record":
            return f"A FLUX Playground run of {where}{seed}: every parameter can be restored."
        return f"A1111-style parameters for {where}{seed}."

    def to_form_values(self, spec: EndpointSpec) -> FormValues:
        """Map what the image says onto ``spec``'s fields (validated by them), listing what was left out.

        A record of the same endpoint comes back verbatim. Otherwise values go by role (``EndpointSpec.roles``):
        a record's field to the field playing the same role on ``spec`` (``num_inference_steps`` -> ``steps``),
        the A1111 Steps, CFG scale, Seed, Size (as ``{"width", "height"}``), Denoising strength and prompts to the
        fields playing those roles; any other field or pair goes to the field of its name (``Safety tolerance``
        -> ``safety_tolerance``).
        """
        if self.record is not None and self.record.endpoint_id == spec.id:
            return FormValues(dict(self.record.input))
        fields = spec.input_model.model_fields
        values: dict[str, Any] = {}
        dropped: dict[str, str] = {}
        for label, role, target, value in self._candidates(spec):
            if role == "size" and target is None and {"width", "height"} <= set(fields):
                for side in ("width", "height"):
                    _put(values, dropped, fields, f"Size ({side})", side, value[side])
                continue
            if target is None:
                dropped[label] = f"{spec.label} has no {role_words(role) if role else field_name(label)} field"
                continue
            _put(values, dropped, fields, label, target, value)
        return FormValues(values, dropped)

    def _candidates(self, spec: EndpointSpec) -> Iterator[tuple[str, Role | None, str | None, Any]]:
        """(label, role, the field of ``spec`` that takes it or None, value) for everything the image says."""
        if self.record is not None:
            source = _spec_or_none(self.record.endpoint_id)
            for name, value in self.record.input.items():
                yield name, role_of(source, name), counterpart(source, spec, name), value
            return
        core: list[tuple[str, Any]] = [
            ("Prompt", self.prompt),
            ("Negative prompt", self.negative_prompt),
            ("Seed", self.seed),
            ("Steps", self.steps),
            ("CFG scale", self.guidance),
            ("Size", {"width": self.width, "height": self.height} if self.width else None),
            ("Denoising strength", self.strength),
        ]
        for label, value in core:
            if value is not None:
                role = A1111_ROLES[label]
                yield label, role, spec.field_for(role), value
        fields = spec.input_model.model_fields
        for label, value in self.extras.items():
            if label not in INFORMATIONAL:
                name = field_name(label)
                target = name if name in fields and role_of(spec, name) is None else None
                yield label, None, target, value


INFORMATIONAL = frozenset({"Model", "Provider", "Request ID", "Version"})


def _put(values: dict[str, Any], dropped: dict[str, str], fields: Mapping[str, FieldInfo], label: str, name: str,
         value: Any) -> None:
    try:
        values[name] = _validated(fields[name], value)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"] if exc.errors() else str(exc)
        dropped[label] = f"{_text(value)!r} does not fit {name}: {problem}"


def _validated(info: FieldInfo, value: Any) -> Any:
    annotation: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    return adapter.dump_python(adapter.validate_python(value), mode="json")


def parse_a1111_parameters(text: str) -> ImageMetadata:
    """Read an A1111 ``parameters`` text (A1111's own rules: the last line holds the pairs if it has 3 or more)."""
    lines = text.replace("\r\n", "\n").strip().split("\n")
    last = lines[-1] if lines else ""
    pairs: list[tuple[str, str]] = []
    if len(_PARAM.findall(last)) >= 3:
        pairs = [(k.strip(), unquote_value(v)) for k, v in _PARAM.findall(last)]
        lines = lines[:-1]
    prompt: list[str] = []
    negative: list[str] = []
    for line in lines:
        if line.startswith("Negative prompt:") and not negative:
            negative.append(line[len("Negative prompt:"):].strip())
        elif negative:
            negative.append(line)
        else:
            prompt.append(line)
    values: dict[str, Any] = {}
    extras: dict[str, str] = {}
    notes: list[str] = []
    readers: dict[str, tuple[str, Any]] = {
        "Steps": ("steps", _int), "Seed": ("seed", _int), "CFG scale": ("guidance", float),
        "Denoising strength": ("strength", float),
    }
    for key, value in pairs:
        if key in readers:
            name, read = readers[key]
            try:
                values[name] = read(value)
            except (ValueError, OverflowError):
                extras[key] = value
                notes.append(f"{key}: {value!r} is not a number")
        elif key == "Size" and (size := _SIZE.match(value)):
            values["width"], values["height"] = int(size[1]), int(size[2])
        elif key == "Model":
            values["model"] = value
            spec = _spec_or_none(value)
            values["endpoint_id"] = spec.id if spec else None
        else:
            extras[key] = value
    return ImageMetadata(
        kind="parameters",
        parameters=text,
        prompt="\n".join(prompt),
        negative_prompt="\n".join(negative) if negative else None,
        extras=extras,
        notes=tuple(notes),
        **values,
    )


def _int(text: str) -> int:
    number = float(text)
    if not number.is_integer():
        raise ValueError(text)
    return int(number)


# --------------------------------------------------------------------------------------------------------------
# The record JSON as embedded
# --------------------------------------------------------------------------------------------------------------


def _elide_data_uris(value: Any, elided: list[int]) -> Any:
    if isinstance(value, str) and value.startswith("data:") and len(value) > ELIDE_DATA_URI_OVER:
        elided.append(len(value))
        head = value.split(",", 1)[0]
        return f"{head},<{len(value)} characters omitted: too large to embed>"
    if isinstance(value, list):
        return [_elide_data_uris(v, elided) for v in value]
    if isinstance(value, dict):
        return {k: _elide_data_uris(v, elided) for k, v in value.items()}
    return value


def record_json_text(record: RunRecord) -> str | None:
    """The record as compact JSON for embedding; inline images are elided beyond 16 MiB, None if still too big."""
    data = record.to_json()
    text = _json(data)
    if len(text.encode()) <= MAX_EMBEDDED_JSON:
        return text
    elided: list[int] = []
    data = _elide_data_uris(data, elided)
    data["_elided_data_uris"] = len(elided)
    text = _json(data)
    return text if len(text.encode()) <= MAX_EMBEDDED_JSON else None


def _json(data: Any) -> str:
    """Compact JSON; a stray NaN/Infinity (say, in provider timings) is written as Python's json reads it back."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _record_from_json(text: str | bytes, notes: list[str]) -> tuple[dict[str, Any] | None, RunRecord | None]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        notes.append(f"the embedded run record is not valid JSON ({exc})")
        return None, None
    if not isinstance(data, dict):
        notes.append("the embedded run record is not a JSON object")
        return None, None
    if data.get("_elided_data_uris"):
        notes.append(f"{data['_elided_data_uris']} inline image(s) were too large to embed and are left out")
    try:
        return data, RunRecord.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        notes.append(f"the embedded run record could not be read ({type(exc).__name__}: {exc})")
        return data, None


# --------------------------------------------------------------------------------------------------------------
# PNG
# --------------------------------------------------------------------------------------------------------------

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


def _png_text_value(chunk: _Chunk) -> tuple[str, str] | None:
    """(keyword, text) of a tEXt/zTXt/iTXt chunk; None when it cannot be read."""
    try:
        key, _, rest = chunk.payload.partition(b"\0")
        keyword = key.decode("latin-1")
        if chunk.type == b"tEXt":
            return keyword, rest.decode("latin-1")
        if chunk.type == b"zTXt":
            return keyword, _inflate(rest[1:]).decode("latin-1")
        flag, _method = rest[0], rest[1]
        _lang, _, rest = rest[2:].partition(b"\0")
        _translated, _, body = rest.partition(b"\0")
        return keyword, (_inflate(body) if flag else body).decode("utf-8")
    except (ValueError, IndexError, zlib.error):
        return None


def _embed_png(data: bytes, parameters: str, record_json: str | None) -> bytes:
    chunks, end, complete = _png_chunks(data)
    if not complete or not any(c.type == b"IDAT" for c in chunks):
        raise ValueError("the PNG is truncated or has no image data")
    new = _png_text(PARAMETERS_KEY, parameters)
    if record_json is not None:
        new += _png_text(RECORD_KEY, record_json, compress=len(record_json.encode()) <= PNG_COMPRESSED_TEXT_MAX)
    out = [PNG_SIGNATURE]
    inserted = False
    for chunk in chunks:
        if chunk.type in _TEXT_CHUNKS:
            found = _png_text_value(chunk)
            if found and found[0] in (PARAMETERS_KEY, RECORD_KEY):
                continue  # replaced
        if chunk.type == b"IDAT" and not inserted:
            out.append(new)  # before the image data, where readers that stop at IDAT still see it
            inserted = True
        out.append(data[chunk.start:chunk.end])
    out.append(data[end:])
    return b"".join(out)


def _read_png(data: bytes, found: _Found) -> None:
    chunks, _, complete = _png_chunks(data)
    if not complete:
        found.notes.append("the PNG is truncated")
    for chunk in chunks:
        if chunk.type in _TEXT_CHUNKS:
            value = _png_text_value(chunk)
            if value and value[0] == PARAMETERS_KEY and found.parameters is None:
                found.parameters = value[1]
            elif value and value[0] == RECORD_KEY and found.record_text is None:
                found.record_text = value[1]
        elif chunk.type == b"eXIf" and found.parameters is None:
            found.parameters = _user_comment_from_exif(chunk.payload)


# --------------------------------------------------------------------------------------------------------------
# EXIF UserComment and XMP (JPEG, WebP)
# --------------------------------------------------------------------------------------------------------------

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


def _exif_with_comment(existing: bytes | None, text: str) -> bytes:
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


def _user_comment_from_exif(raw: bytes) -> str | None:
    try:
        exif = Image.Exif()
        exif.load(raw)
        comment = exif.get_ifd(EXIF_IFD).get(USER_COMMENT)
        return decode_user_comment(comment, exif.endian != "<") if comment else None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds of errors for malformed TIFF
        return None


def _xmp_packet(record_json: str, *, extended_guid: str | None = None) -> bytes:
    """An XMP packet carrying the record JSON (or, in the main packet, the pointer to Extended XMP)."""
    if extended_guid is not None:
        body = (f'<rdf:Description rdf:about="" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
                f'xmpNote:HasExtendedXMP="{extended_guid}"/>')
    else:
        body = (f'<rdf:Description rdf:about="" xmlns:{XMP_PREFIX}="{XMP_NAMESPACE}">'
                f"<{XMP_PREFIX}:record>{xml_escape(record_json)}</{XMP_PREFIX}:record></rdf:Description>")
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{body}</rdf:RDF></x:xmpmeta>"
    ).encode()


def _wrap_packet(xmp: bytes) -> bytes:
    return b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>' + xmp + b'<?xpacket end="r"?>'


def _record_from_xmp(xmp: bytes) -> tuple[str | None, str | None]:
    """(record JSON, Extended XMP GUID) from an XMP packet."""
    try:
        text = xmp.decode("utf-8", "replace").strip("\0")
        start, end = text.find("<x:xmpmeta"), text.rfind("</x:xmpmeta>")
        root = ElementTree.fromstring(text[start:end + len("</x:xmpmeta>")] if start >= 0 and end > start else text)
    except ElementTree.ParseError:
        return None, None
    guid = None
    for element in root.iter():
        value = element.get(f"{{{XMP_NAMESPACE}}}record")
        if element.tag == f"{{{XMP_NAMESPACE}}}record":
            value = element.text or ""
        if value is not None:
            return value, None
        guid = guid or element.get("{http://ns.adobe.com/xmp/note/}HasExtendedXMP")
    return None, guid


# --------------------------------------------------------------------------------------------------------------
# JPEG
# --------------------------------------------------------------------------------------------------------------

XMP_SIGNATURE = b"http://ns.adobe.com/xap/1.0/\0"
XMP_EXTENSION_SIGNATURE = b"http://ns.adobe.com/xmp/extension/\0"
EXIF_SIGNATURE = b"Exif\0\0"
MAX_SEGMENT_DATA = 65533
EXTENDED_CHUNK = 65400


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


def _xmp_segments(record_json: str) -> bytes:
    """APP1 XMP for the record: one packet when it fits, else a pointer plus Extended XMP chunks."""
    ascii_json = json.dumps(json.loads(record_json), ensure_ascii=True, separators=(",", ":"))
    main = XMP_SIGNATURE + _wrap_packet(_xmp_packet(ascii_json))
    if len(main) <= MAX_SEGMENT_DATA:
        return _app1(main)
    extended = _xmp_packet(ascii_json)
    guid = hashlib.md5(extended, usedforsecurity=False).hexdigest().upper()  # the GUID XMP part 3 prescribes
    out = [_app1(XMP_SIGNATURE + _wrap_packet(_xmp_packet("", extended_guid=guid)))]
    for offset in range(0, len(extended), EXTENDED_CHUNK):
        chunk = extended[offset:offset + EXTENDED_CHUNK]
        out.append(_app1(XMP_EXTENSION_SIGNATURE + guid.encode() + struct.pack(">II", len(extended), offset) + chunk))
    return b"".join(out)


def _is_ours_app1(payload: bytes) -> bool:
    return payload.startswith((EXIF_SIGNATURE, XMP_SIGNATURE, XMP_EXTENSION_SIGNATURE))


def _embed_jpeg(data: bytes, parameters: str, record_json: str | None) -> bytes:
    segments, sos = _jpeg_segments(data)
    if sos is None:
        raise ValueError("the JPEG has no image data")
    old_exif = next(
        (s.payload(data) for s in segments if s.marker == 0xE1 and s.payload(data).startswith(EXIF_SIGNATURE)), None
    )
    new = b""
    exif = _exif_with_comment(old_exif, parameters)
    if len(exif) <= MAX_SEGMENT_DATA:
        new += _app1(exif)
    elif old_exif is not None:
        new += _app1(old_exif)  # the text does not fit in EXIF (64 KiB); the record JSON below still carries it
    if record_json is not None:
        new += _xmp_segments(record_json)
    kept = [s for s in segments if not (s.marker == 0xE1 and _is_ours_app1(s.payload(data)))]
    at = next((i for i, s in enumerate(kept) if s.marker != 0xE0), len(kept))  # after the JFIF APP0, if any
    parts = [b"\xff\xd8", *(data[s.start:s.end] for s in kept[:at]), new, *(data[s.start:s.end] for s in kept[at:])]
    return b"".join(parts) + data[sos:]


def _read_jpeg(data: bytes, found: _Found) -> None:
    try:
        segments, _ = _jpeg_segments(data)
    except ValueError as exc:
        found.notes.append(f"the JPEG is damaged ({exc})")
        return
    extended: dict[str, dict[int, bytes]] = {}
    main_guid = None
    for segment in segments:
        if segment.marker != 0xE1:
            continue
        payload = segment.payload(data)
        if payload.startswith(EXIF_SIGNATURE) and found.parameters is None:
            found.parameters = _user_comment_from_exif(payload)
        elif payload.startswith(XMP_SIGNATURE) and found.record_text is None:
            found.record_text, main_guid = _record_from_xmp(payload[len(XMP_SIGNATURE):])
        elif payload.startswith(XMP_EXTENSION_SIGNATURE) and len(payload) >= 75:
            head = len(XMP_EXTENSION_SIGNATURE)
            guid = payload[head:head + 32].decode("ascii", "replace")
            (_, offset) = struct.unpack(">II", payload[head + 32:head + 40])
            extended.setdefault(guid, {})[offset] = payload[head + 40:]
    if found.record_text is None and main_guid and main_guid in extended:
        parts = extended[main_guid]
        joined = b"".join(parts[offset] for offset in sorted(parts))
        found.record_text, _ = _record_from_xmp(joined)


# --------------------------------------------------------------------------------------------------------------
# WebP
# --------------------------------------------------------------------------------------------------------------

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


def _embed_webp(data: bytes, parameters: str, record_json: str | None) -> bytes:
    chunks = _riff_chunks(data)
    if not chunks:
        raise ValueError("the WebP has no image data")
    old_exif = next((p for f, p in chunks if f == b"EXIF"), None)
    chunks = [(f, p) for f, p in chunks if f not in (b"EXIF", b"XMP ")]
    if chunks[0][0] != b"VP8X":
        chunks.insert(0, (b"VP8X", _vp8x_for(*chunks[0])))
    exif = _exif_with_comment(old_exif, parameters)[len(EXIF_SIGNATURE):]  # WebP's EXIF chunk holds bare TIFF
    flags = chunks[0][1][0] | _VP8X_EXIF
    tail = [(b"EXIF", exif)]
    if record_json is not None:
        ascii_json = json.dumps(json.loads(record_json), ensure_ascii=True, separators=(",", ":"))
        tail.append((b"XMP ", _wrap_packet(_xmp_packet(ascii_json))))
        flags |= _VP8X_XMP
    chunks[0] = (b"VP8X", bytes([flags]) + chunks[0][1][1:])
    body = b"WEBP" + b"".join(_riff_chunk(f, p) for f, p in [*chunks, *tail])
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _read_webp(data: bytes, found: _Found) -> None:
    try:
        chunks = _riff_chunks(data)
    except ValueError as exc:
        found.notes.append(f"the WebP is damaged ({exc})")
        return
    for fourcc, payload in chunks:
        if fourcc == b"EXIF" and found.parameters is None:
            found.parameters = _user_comment_from_exif(payload)
        elif fourcc == b"XMP " and found.record_text is None:
            found.record_text, _ = _record_from_xmp(payload)


# --------------------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------------------


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
        return _embed_png(data, parameters, record_json)
    if kind == "JPEG":
        return _embed_jpeg(data, parameters, record_json)
    return _embed_webp(data, parameters, record_json)


@dataclass
class _Found:
    parameters: str | None = None
    record_text: str | None = None
    notes: list[str] = field(default_factory=list)


def read_metadata(data: bytes) -> ImageMetadata:
    """What an image says about how it was made. Never raises: unreadable input gives ``kind="error"``."""
    try:
        return _read_metadata(bytes(data))
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises"; say what went wrong instead
        return ImageMetadata(kind="error", error=f"could not read the image's metadata ({type(exc).__name__})")


def _read_metadata(data: bytes) -> ImageMetadata:
    kind = sniff_format(data)
    found = _Found()
    if kind == "PNG":
        _read_png(data, found)
    elif kind == "JPEG":
        _read_jpeg(data, found)
    elif kind == "WEBP":
        _read_webp(data, found)
    else:
        kind = _pillow_format(data)
        if kind is None:
            return ImageMetadata(kind="error", error="these bytes are not an image Pillow can read")
    record_json: dict[str, Any] | None = None
    record: RunRecord | None = None
    if found.record_text is not None:
        record_json, record = _record_from_json(found.record_text, found.notes)
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


_EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/pjpeg": "jpg", "image/png": "png",
               "image/webp": "webp", "image/gif": "gif", "image/avif": "avif", "image/bmp": "bmp",
               "image/tiff": "tif"}


def download_name(api_name: str, seed: int | None, index: int, content_type: str) -> str:
    """``flux_pro-1234-1.png``: endpoint, seed (``noseed`` when unknown), the image's 1-based position, extension."""
    if index < 1:
        raise ValueError("index counts from 1 (the first image is 1)")
    mime = content_type.split(";", 1)[0].strip().lower()
    ext = _EXTENSIONS.get(mime) or (mimetypes.guess_extension(mime) or ".bin").lstrip(".")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", api_name).strip("._") or "image"
    return f"{stem}-{seed if seed is not None else 'noseed'}-{index}.{ext}"

