"""A whole submission -> a validated input model, by field name; and a model input -> component values.

Each field's kind (``components.form_kinds``) reads its own value(s): values are keyed by field name, plus the
kinds' helper keys (``{name}__link`` for an image's URL box; ``{name}__preset`` / ``__width`` / ``__height`` for an
image size's UI). This module collects what the kinds could not read and what the model rejects into one
``FormError``, one ``field: rule`` line per problem, in field order. The conversions themselves (empty text leaves
a field out, whole floats become ints, an upload beats the URL box, ...) are documented with each kind.

``write_values`` is the inverse: a provider input (wire JSON, e.g. a past run's) -> the component values that
show it, keyed like ``read`` takes them; fields it leaves out get their model defaults.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from components.form_kinds import OMIT, FieldProblem, kind_of
from components.form_kinds.base import is_url, parse_json_text
from components.form_kinds.image import LINK
from components.form_kinds.image_size import HEIGHT, PRESET, WIDTH, size_of
from components.schema_fields import FieldSpec, fields_of
from endpoints.base import EndpointSpec, WireModel
from endpoints.validation import describe_validation_error, people_path

__all__ = [
    "HEIGHT",
    "LINK",
    "OMIT",
    "PRESET",
    "WIDTH",
    "FormError",
    "component_values",
    "form_values_from_example",
    "helper_keys",
    "is_url",
    "model_from_values",
    "parse_json_text",
    "size_of",
    "write_values",
]


class FormError(ValueError):
    """Everything wrong with a submission, one ``field: rule`` line per problem."""

    def __init__(self, messages: list[str], fields: list[str] | None = None) -> None:
        self.messages = list(messages)
        self.fields = list(fields) if fields is not None else [""] * len(self.messages)  # the top-level field of each
        super().__init__("\n".join(self.messages))


def helper_keys(field: FieldSpec) -> tuple[str, ...]:
    """The value keys besides ``field.name`` that belong to a field."""
    return kind_of(field).helper_keys(field)


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
    problems: dict[str, list[str]] = {key: [f"{key}: is not a field of this endpoint"] for key in values if key not in known}
    data: dict[str, Any] = {}
    partial: set[str] = set()  # fields read despite problems: the model's messages about them count too
    for field in fields:
        try:
            value = kind_of(field).read(field, values)
        except FieldProblem as exc:
            problems[field.name] = exc.messages(field.name)
            if exc.value is OMIT:
                continue
            value = exc.value
            partial.add(field.name)
        if value is not OMIT:
            data[field.name] = value
    messages = [m for found in problems.values() for m in found]
    try:
        model = spec.input_model.model_validate(data)
    except ValidationError as exc:
        for message in describe_validation_error(exc, spec.input_model):
            root = _root(message)
            if root not in problems or (root in partial and message not in problems[root]):
                messages.append(message)
    if messages:
        order = {f.name: i for i, f in enumerate(fields)}
        ranked = sorted(messages, key=lambda m: order.get(_root(m), len(order)))
        raise FormError([in_form_words(m, spec) for m in ranked], [_root(m) for m in ranked])
    return model


def readable_values(spec: EndpointSpec, values: Mapping[str, Any], fields: list[FieldSpec] | None = None
                    ) -> dict[str, Any]:
    """The fields that read cleanly, by name (a form still being filled in: what an estimate can go on)."""
    fields = fields if fields is not None else fields_of(spec.input_model, spec.api_name)
    data: dict[str, Any] = {}
    for field in fields:
        try:
            value = kind_of(field).read(field, values)
        except FieldProblem:
            continue
        if value is not OMIT:
            data[field.name] = value
    return data


_STEP = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def in_form_words(message: str, spec: EndpointSpec) -> str:
    """``loras[0].scale: must be a number`` -> ``LoRA 1 → scale: must be a number``. A top-level field keeps its
    API name (``num_inference_steps: must be between 1 and 50``, as the API says it)."""
    path, sep, rule = message.partition(": ")
    if not sep or ("[" not in path and "." not in path):
        return message
    loc: list[int | str] = [int(i) if i else name for i, name in _STEP.findall(path)]
    words = people_path(loc, spec.input_model)
    return f"{words}: {rule}" if "→" in words else message  # e.g. image_size.width stays as it is


def initial_value(field: FieldSpec, example: Mapping[str, Any]) -> Any:
    """The value a field shows for an input: the input's, else the model default (None when required)."""
    return example.get(field.name, field.default)


def component_values(field: FieldSpec, value: Any) -> dict[str, Any]:
    """The component values (keyed like ``model_from_values`` reads them) that show ``value`` for ``field``."""
    return kind_of(field).write(field, value)


def write_values(fields: list[FieldSpec], wire: Mapping[str, Any]) -> dict[str, Any]:
    """Component values for every field, showing ``wire`` (a provider input); absent fields get their defaults."""
    values: dict[str, Any] = {}
    for field in fields:
        values.update(component_values(field, initial_value(field, wire)))
    return values


def form_values_from_example(spec: EndpointSpec) -> dict[str, Any]:
    """Component values, helper keys included, that reproduce ``spec.example`` (for tests and "Load example")."""
    return write_values(fields_of(spec.input_model, spec.api_name), spec.example)
