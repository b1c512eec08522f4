"""The AUTOMATIC1111 ``parameters`` text: written from a run (``a1111_parameters``), and read back from any
image's text into form values (``parse_a1111_parameters``, ``ImageMetadata``). A1111's "PNG Info", Civitai,
SwarmUI and the ``sd-parsers`` package read what is written here.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from endpoints import get_endpoint
from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec, Role
from endpoints.roles import counterpart, role_of, role_words
from runs.record import RunRecord

NO_PARAMETERS = "this image carries no parameters"
SAMPLER = "Euler"  # the sampler FLUX pipelines use (flow-matching Euler), written as A1111's "Sampler" entry

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
