"""An input model's JSON schema as a list of field descriptors: which widget edits each field, with what bounds.

Pure (no Gradio), so the choice of widget is testable as a table. The rules, read from ``model_json_schema()``:

- enum / const -> ``radio`` (at most 3 short choices) or ``dropdown``; an optional enum gets a leading "default"
  choice whose value ``""`` means "leave it out";
- integer / number with both minimum and maximum -> ``slider``, otherwise ``number``;
- boolean -> ``checkbox``;
- string -> ``image`` (``x-ui: image``), ``textarea`` (``x-ui: textarea`` or a ``*prompt`` name), else ``text``;
- ``preset enum | {width, height}`` -> ``image_size``;
- array / object -> ``json`` (a JSON editor, validated by the model);
- anything else (``int | str``, ``Any``, a string with a ``format`` like date-time) -> ``UnsupportedFieldError``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

Kind = Literal["text", "textarea", "dropdown", "radio", "slider", "number", "checkbox", "image", "image_size", "json"]

RADIO_MAX_CHOICES = 3
RADIO_MAX_CHOICE_LENGTH = 12
#: Label of the choice that leaves an optional enum (or image size) unset, so the provider's default applies.
DEFAULT_CHOICE_LABEL = "default"
CUSTOM_SIZE = "custom"

_ACRONYMS = {"url": "URL", "cfg": "CFG", "id": "ID", "nsfw": "NSFW"}
_TEXT_FORMATS = {None, "uri"}


class UnsupportedFieldError(TypeError):
    """A field the form builder has no widget for. Raised when the app is built, never silently skipped."""


@dataclass(frozen=True)
class FieldSpec:
    """One top-level field of an input model and how the form edits it."""

    name: str
    kind: Kind
    label: str
    info: str
    required: bool
    default: Any  # the schema's default (``[]`` for a list built by default_factory; None when there is none)
    nullable: bool  # None is a valid value: leaving the widget empty omits the field
    basic: bool  # shown outside the "Advanced" section
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()  # enum values; image size presets (without "custom")
    template: Any = None  # json: one list item (arrays) or the object; image_size: the custom size's default
    is_array: bool = False


def humanise(name: str) -> str:
    """``num_inference_steps`` -> ``Num inference steps``; ``image_url`` -> ``Image URL``."""
    words = [_ACRONYMS.get(word, word) for word in name.split("_") if word]
    if not words:
        return name
    first = words[0]
    return " ".join([first if first.isupper() else first.capitalize(), *words[1:]])


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _type_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type_name(branch) for branch in schema["anyOf"])
    if "format" in schema:
        return f"{schema.get('type', 'any')} ({schema['format']})"
    return str(schema.get("type", "any"))


def template_for(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A ready-to-edit value for a schema: defaults where given, required fields filled with blanks."""
    schema = _resolve(schema, defs)
    if schema.get("default") is not None:
        return schema["default"]
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        return template_for(branches[0], defs) if branches else None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        required = set(schema.get("required", ()))
        return {
            key: template_for(prop, defs)
            for key, prop in schema.get("properties", {}).items()
            if key in required or prop.get("default") is not None
        }
    if kind == "array":
        return [template_for(schema["items"], defs)] if "items" in schema else []
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        return int(low) if kind == "integer" else float(low)
    return {"string": "", "boolean": False}.get(kind)


def slider_step(minimum: float, maximum: float, integer: bool, value: Any = None) -> float:
    """1 for integers; for floats 0.01 over ranges up to 1, 0.05 up to 5, else 0.1 (finer if ``value`` needs it)."""
    if integer:
        return 1
    span = maximum - minimum
    candidates = [0.1, 0.05, 0.01, 0.001] if span > 5 else [0.05, 0.01, 0.001] if span > 1 else [0.01, 0.001]
    for step in candidates:
        points = [p for p in (minimum, value) if isinstance(p, (int, float))]
        if all(abs(p / step - round(p / step)) < 1e-6 for p in points):
            return step
    return candidates[-1]


def _is_image_size(branches: list[dict[str, Any]], defs: dict[str, Any]) -> bool:
    if len(branches) != 2:
        return False
    enums = [b for b in branches if "enum" in b and b.get("type") == "string"]
    objects = [_resolve(b, defs) for b in branches if "$ref" in b or b.get("type") == "object"]
    return bool(enums and objects and {"width", "height"} <= set(objects[0].get("properties", {})))


def field_spec(name: str, prop: dict[str, Any], required: bool, defs: dict[str, Any], owner: str = "") -> FieldSpec:
    """The descriptor of one property (``owner`` names the endpoint in errors)."""
    hints = set(prop.get("x-ui", ()))
    branches = prop["anyOf"] if "anyOf" in prop else [prop]
    nullable = any(b.get("type") == "null" for b in branches) or (not required and prop.get("default", 0) is None)
    non_null = [b for b in branches if b.get("type") != "null"]
    has_default = "default" in prop
    default = prop.get("default")
    common = dict(
        name=name,
        label=humanise(name),
        info=prop.get("description", ""),
        required=required,
        nullable=nullable,
        basic="basic" in hints,
    )

    def unsupported() -> UnsupportedFieldError:
        where = f"{owner}.{name}" if owner else name
        return UnsupportedFieldError(f"{where}: type {_type_name(prop)} is not supported by the form builder")

    if _is_image_size(non_null, defs):
        presets = next(b["enum"] for b in non_null if "enum" in b)
        size_schema = _resolve(next(b for b in non_null if "enum" not in b), defs)
        template = template_for(size_schema, defs)
        return FieldSpec(kind="image_size", default=default, choices=tuple(presets), template=template, **common)
    if len(non_null) != 1:
        raise unsupported()
    core = _resolve(non_null[0], defs)
    kind = core.get("type")

    if "enum" in core or "const" in core:
        choices = tuple(core["enum"]) if "enum" in core else (core["const"],)
        short = len(choices) <= RADIO_MAX_CHOICES and all(len(str(c)) <= RADIO_MAX_CHOICE_LENGTH for c in choices)
        return FieldSpec(kind="radio" if short else "dropdown", default=default, choices=choices, **common)
    if kind in ("integer", "number"):
        integer = kind == "integer"
        low, high = core.get("minimum"), core.get("maximum")
        if low is not None and high is not None:
            step = slider_step(low, high, integer, default)
            return FieldSpec(
                kind="slider", default=default, integer=integer, minimum=low, maximum=high, step=step, **common
            )
        return FieldSpec(
            kind="number", default=default, integer=integer, minimum=low, maximum=high, step=1 if integer else 0.01,
            **common,
        )
    if kind == "boolean":
        return FieldSpec(kind="checkbox", default=default, **common)
    if kind == "string" and core.get("format") in _TEXT_FORMATS:
        if "image" in hints:
            text_kind: Kind = "image"
        elif "textarea" in hints or name.endswith("prompt"):
            text_kind = "textarea"
        else:
            text_kind = "text"
        return FieldSpec(kind=text_kind, default=default, **common)
    if kind in ("array", "object"):
        is_array = kind == "array"
        if is_array and not has_default and not required:
            default = []  # a list built by default_factory: the schema carries no default
        item = core.get("items", {}) if is_array else core
        return FieldSpec(kind="json", default=default, template=template_for(item, defs), is_array=is_array, **common)
    raise unsupported()


def fields_of(model: type[BaseModel], owner: str = "") -> list[FieldSpec]:
    """Descriptors for every field of ``model``, in schema order. Raises UnsupportedFieldError."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    return [
        field_spec(name, prop, name in required, defs, owner or model.__name__)
        for name, prop in schema.get("properties", {}).items()
    ]


def layout_order(fields: list[FieldSpec]) -> tuple[list[FieldSpec], list[FieldSpec], list[FieldSpec]]:
    """(required, basic optional, advanced) — each in schema order."""
    required = [f for f in fields if f.required]
    basic = [f for f in fields if not f.required and f.basic]
    advanced = [f for f in fields if not f.required and not f.basic]
    return required, basic, advanced


def json_text(value: Any) -> str:
    """How a JSON editor shows a value: ``[]`` stays compact, anything else is indented."""
    if value is None:
        return ""
    if value == [] or value == {}:
        return json.dumps(value)
    return json.dumps(value, indent=2)
