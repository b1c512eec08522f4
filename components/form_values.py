"""Submitted form values -> a validated input model, by field name; and the reverse for an endpoint's example.

Pure (no Gradio). Values are keyed by field name, plus helper keys for the widgets that need more than one
component: ``{name}__link`` (an image field's URL box) and ``{name}__preset`` / ``__width`` / ``__height`` (an
image size's UI; used only when ``{name}`` itself is absent).

Conversions: empty text, ``None`` and the "default" choice leave a field out, so the model default applies and
``to_wire`` omits it (an empty required prompt therefore reads ``prompt: is required``; other required text is sent as typed, even empty); whole floats become ints
for integer fields (28.5 stays a float and fails as ``steps: must be a whole number``); an optional checkbox whose
model default is None is tri-state by omission: unchecked leaves the field out (the provider's default), checked
sends true; an uploaded image path wins over the URL box, and the URL box only takes http(s):// or data: URLs, so
a string that is not a URL is always a file the app itself received; JSON editors take JSON text or parsed values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from components.schema_fields import CUSTOM_SIZE, FieldSpec, fields_of, json_text
from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec, WireModel
from endpoints.validation import describe_validation_error

LINK, PRESET, WIDTH, HEIGHT = "__link", "__preset", "__width", "__height"
URL_PREFIXES = ("http://", "https://", "data:")


class FormError(ValueError):
    """Everything wrong with a submission, one ``field: rule`` line per problem."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = list(messages)
        super().__init__("\n".join(self.messages))


class _Omit:
    """Leave the field out of the model input."""


OMIT = _Omit()


class _Problem(ValueError):
    pass


def is_url(value: str) -> bool:
    return value.startswith(URL_PREFIXES)


def helper_keys(field: FieldSpec) -> tuple[str, ...]:
    """The value keys besides ``field.name`` that belong to a field."""
    if field.kind == "image":
        return (field.name + LINK,)
    if field.kind == "image_size":
        return tuple(field.name + suffix for suffix in (PRESET, WIDTH, HEIGHT))
    return ()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_json_text(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise _Problem(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def _image(field: FieldSpec, values: Mapping[str, Any]) -> Any:
    upload = values.get(field.name)
    if isinstance(upload, Mapping):  # a FileData-like dict from a direct call
        upload = upload.get("path") or upload.get("url")
    if isinstance(upload, Path):
        upload = str(upload)
    if not _blank(upload):
        return upload
    link = values.get(field.name + LINK)
    if _blank(link):
        return OMIT
    link = str(link).strip()
    if not is_url(link):
        raise _Problem("must be an http(s):// or data: URL (or upload an image)")
    return link


def _image_size(field: FieldSpec, values: Mapping[str, Any]) -> Any:
    if field.name in values:
        value = values[field.name]
    elif field.name + PRESET in values:
        preset = values[field.name + PRESET]
        value = (
            {"width": values.get(field.name + WIDTH), "height": values.get(field.name + HEIGHT)}
            if preset == CUSTOM_SIZE
            else preset
        )
    else:
        return OMIT
    if isinstance(value, str):
        value = value.strip()
        if value.startswith(("{", '"')):
            value = parse_json_text(value)
    if _blank(value):
        return OMIT
    if value == CUSTOM_SIZE:
        raise _Problem('"custom" needs a width and a height: send {"width": ..., "height": ...}')
    if isinstance(value, Mapping):
        return {key: _whole(v) for key, v in value.items()}
    return value


def _whole(value: Any) -> Any:
    """28.0 -> 28; anything else unchanged (28.5 is left for the model to reject)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def convert(field: FieldSpec, values: Mapping[str, Any]) -> Any:
    """The model input for one field, or OMIT. Raises _Problem for values that cannot be read."""
    if field.kind == "image":
        return _image(field, values)
    if field.kind == "image_size":
        return _image_size(field, values)
    value = values.get(field.name)
    if field.kind == "text" and field.required and value == "":
        return value  # a required identifier may be empty on the wire (the depth-finetuned seed sends "")
    if _blank(value) and not (field.kind in ("dropdown", "radio") and value in field.choices):
        return OMIT
    if field.kind in ("slider", "number") and field.integer:
        return _whole(value)
    if field.kind == "checkbox" and field.nullable and field.default is None and value is False:
        return OMIT
    if field.kind == "json":
        parsed = parse_json_text(value) if isinstance(value, str) else value
        return OMIT if parsed is None else parsed
    return value


def _root(message: str) -> str:
    head = message.split(":", 1)[0]
    for sep in ".[":
        head = head.split(sep, 1)[0]
    return head


def model_from_values(
    spec: EndpointSpec, values: Mapping[str, Any], fields: list[FieldSpec] | None = None
) -> WireModel:
    """Validate submitted values (by field name) into ``spec.input_model``. Raises FormError."""
    fields = fields if fields is not None else fields_of(spec.input_model, spec.api_name)
    known = {key for f in fields for key in (f.name, *helper_keys(f))}
    problems = {key: "is not a field of this endpoint" for key in values if key not in known}
    data: dict[str, Any] = {}
    for field in fields:
        try:
            value = convert(field, values)
        except _Problem as exc:
            problems[field.name] = str(exc)
            continue
        if value is not OMIT:
            data[field.name] = value
    messages = [f"{name}: {rule}" for name, rule in problems.items()]
    try:
        model = spec.input_model.model_validate(data)
    except ValidationError as exc:
        messages += [m for m in describe_validation_error(exc, spec.input_model) if _root(m) not in problems]
    if messages:
        order = {f.name: i for i, f in enumerate(fields)}
        raise FormError(sorted(messages, key=lambda m: order.get(_root(m), len(order))))
    return model


def initial_value(field: FieldSpec, example: Mapping[str, Any]) -> Any:
    """What the form starts with: the endpoint's example, else the model default."""
    return example[field.name] if field.name in example else field.default


def size_of(field: FieldSpec, value: Any) -> tuple[Any, Any]:
    """Width and height to show for an image size value (a preset's pixels, or the custom size's default)."""
    if isinstance(value, Mapping):
        return value.get("width"), value.get("height")
    if isinstance(value, str) and value in IMAGE_SIZE_PRESETS:
        return IMAGE_SIZE_PRESETS[value]
    template = field.template or {}
    return template.get("width"), template.get("height")


def component_values(field: FieldSpec, value: Any) -> dict[str, Any]:
    """The component values (keyed like ``model_from_values`` reads them) that show ``value`` for ``field``."""
    name = field.name
    if field.kind in ("text", "textarea"):
        return {name: "" if value is None else str(value)}
    if field.kind in ("dropdown", "radio"):
        return {name: "" if value is None and field.nullable else value}
    if field.kind == "slider":
        return {name: field.minimum if value is None else value}
    if field.kind == "checkbox":
        return {name: bool(value)}
    if field.kind == "image":
        if isinstance(value, str) and value and not is_url(value):
            return {name: value, name + LINK: ""}
        return {name: None, name + LINK: value or ""}
    if field.kind == "image_size":
        width, height = size_of(field, value)
        preset = CUSTOM_SIZE if isinstance(value, Mapping) else ("" if value is None else value)
        return {name: value, name + PRESET: preset, name + WIDTH: width, name + HEIGHT: height}
    if field.kind == "json":
        return {name: json_text(value)}
    return {name: value}


def form_values_from_example(spec: EndpointSpec) -> dict[str, Any]:
    """Component values, helper keys included, that reproduce ``spec.example`` (for tests and "Load example")."""
    values: dict[str, Any] = {}
    for field in fields_of(spec.input_model, spec.api_name):
        values.update(component_values(field, initial_value(field, spec.example)))
    return values
