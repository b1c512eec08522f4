"""A whole submission -> a validated input model, by field name; and a model input -> component values.

Each field's kind (``components.form_kinds``) reads its own value(s): values are keyed by field name, plus the
kinds' helper keys (``{name}__link`` for an image's URL box; ``{name}__preset`` / ``__width`` / ``__height`` for an
image size's UI). This module collects what the kinds could not read and what the model rejects into one
``FormError``, one ``field: rule`` line per problem, in field order. The conversions themselves (empty text leaves
a field out, whole floats become ints, an upload beats the URL box, ...) are documented with each kind.

``write_values`` is the inverse: a provider input (wire JSON, e.g. a past run's) -> the component values that
show it, keyed like ``read`` takes them; fields it leaves out get their model defaults.

``check_outside`` comes first for every input from outside the page (a share link, an image's metadata, a history
entry the browser kept): each value is validated by the endpoint's model, field by field, before it reaches a
component. A value the model refuses, one nested too deeply, or an image that is not an http(s)/data: URL (a
record never holds a server path: uploads are recorded as the URLs they went to) is refused by name; the rest is
kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from pydantic import ValidationError

from components.form_kinds import OMIT, FieldProblem, kind_of
from components.form_kinds.base import MAX_JSON_DEPTH, TOO_DEEP, depth_of, is_url, parse_json_text
from components.form_kinds.image import LINK
from components.form_kinds.image_size import HEIGHT, PRESET, WIDTH, size_of
from components.form_kinds.rows import check_items
from endpoints.base import EndpointSpec, WireModel
from endpoints.schema_fields import FieldSpec, spec_fields
from endpoints.validation import describe_validation_error, people_path

__all__ = [
    "HEIGHT",
    "LINK",
    "OMIT",
    "OUTSIDE_IMAGE_RULE",
    "PRESET",
    "WIDTH",
    "Checked",
    "FormError",
    "check_outside",
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

    def __init__(self, messages: list[str], fields: list[str] | None = None, paths: list[str] | None = None) -> None:
        self.messages = list(messages)
        self.fields = list(fields) if fields is not None else [""] * len(self.messages)  # the top-level field of each
        self.paths = list(paths) if paths is not None else list(self.fields)  # ``loras[0].path``: the row too
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
    fields = fields if fields is not None else spec_fields(spec)
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
        raise FormError([in_form_words(m, spec) for m in ranked], [_root(m) for m in ranked],
                        [m.split(":", 1)[0] for m in ranked])
    return model


def readable_values(spec: EndpointSpec, values: Mapping[str, Any], fields: list[FieldSpec] | None = None
                    ) -> dict[str, Any]:
    """The fields that read cleanly, by name (a form still being filled in: what an estimate can go on)."""
    fields = fields if fields is not None else spec_fields(spec)
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
    return write_values(spec_fields(spec), spec.example)


#: An image value from outside the page: records and links hold URLs only, never a file of this server.
OUTSIDE_IMAGE_RULE = "must be an http(s):// or data: URL"


@dataclass
class Checked:
    """An outside input after ``check_outside``: the values the model accepts, and the refused ones by field."""

    values: dict[str, Any] = dataclass_field(default_factory=dict)
    refused: dict[str, str] = dataclass_field(default_factory=dict)  # field -> "field: rule"

    @property
    def messages(self) -> list[str]:
        return list(self.refused.values())


def _image_problem(field: FieldSpec, value: Any) -> str | None:
    """Why an outside value cannot go into an image field (top level or inside a list's rows), as
    ``field…: rule``, or None."""
    if field.kind == "image":
        if value is None or (isinstance(value, str) and (not value.strip() or is_url(value.strip()))):
            return None
        return f"{field.name}: {OUTSIDE_IMAGE_RULE}"
    if field.kind == "json" and field.items:
        for where, rule in check_items(field, value):
            if "URL" in rule:
                return f"{field.name}{where}: {OUTSIDE_IMAGE_RULE}"
    return None


def check_outside(
    spec: EndpointSpec, wire: Mapping[str, Any], fields: list[FieldSpec] | None = None
) -> Checked:
    """Validate an input from outside the page (wire JSON, keyed by field) by ``spec``'s model, field by field.

    Fields the endpoint does not have are left out; a value that is nested too deeply, an image that is not an
    http(s)/data: URL, or a value the model refuses is refused by name, and the others are kept. A required field
    that is missing is not a refusal (the form shows it empty and names it on Generate).
    """
    fields = fields if fields is not None else spec_fields(spec)
    by_name = {f.name: f for f in fields}
    checked = Checked()
    if not isinstance(wire, Mapping):
        return checked
    for name, value in wire.items():
        field = by_name.get(name) if isinstance(name, str) else None
        if field is None:
            continue
        if depth_of(value) > MAX_JSON_DEPTH:
            checked.refused[name] = f"{name}: {TOO_DEEP}"
            continue
        problem = _image_problem(field, value)
        if problem is not None:
            checked.refused[name] = problem
            continue
        checked.values[name] = value
    while checked.values:
        try:
            spec.input_model.model_validate(checked.values)
            break
        except ValidationError as exc:
            messages = describe_validation_error(exc, spec.input_model)
        bad = {_root(m): m for m in reversed(messages) if _root(m) in checked.values}
        if not bad:
            break  # only missing required fields: the form shows them empty
        for root, message in bad.items():
            checked.values.pop(root)
            checked.refused[root] = message
    order = {f.name: i for i, f in enumerate(fields)}
    checked.refused = dict(sorted(checked.refused.items(), key=lambda item: order.get(item[0], len(order))))
    return checked
