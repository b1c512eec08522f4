"""Axes: a field (or ``endpoint``, ``provider``) and its validated values, with their labels.

``parse_axis`` reads the text syntax (``runs.sweep.syntax``), ``parse_json_axis`` a JSON list; both check every
value against the endpoint's schema and name what is refused by axis and field.
"""
from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec
from endpoints.models import serving_endpoints, translate
from endpoints.schema_fields import FieldSpec
from endpoints.validation import describe_validation_error
from providers.catalog import provider_title
from runs.sweep.limits import MAX_AXIS_VALUES
from runs.sweep.mapping import mapping_problems
from runs.sweep.syntax import (
    ENDPOINT_FIELD,
    PROVIDER_FIELD,
    AxisName,
    SweepError,
    at_most,
    check_text,
    field_of,
    format_value,
    is_prompt,
    is_seed,
    normalise,
    parse_axis_values,
    provider_names,
    sweep_fields,
)

AxisKind = Literal["value", "prompt_sr", "endpoint"]


def label_for(field: str, value: Any, spec: EndpointSpec | None = None) -> str:
    """The label of one axis value of ``spec``'s ``field``, for the plan, the grid and the cells' JSON.

    ``guidance_scale = 3.5``; ``endpoint = FLUX.1 [pro]`` (the endpoint's short label); a preset size with its
    pixels ``image_size = landscape_4_3 (1024×768)``; a prompt axis shows the replacement word (``prompt: dog``).
    Prompts and sizes are told by the field's kind on ``spec`` (without ``spec``: ``field = value``).
    """
    if field == ENDPOINT_FIELD:
        target = value if isinstance(value, EndpointSpec) else get_endpoint(str(value))
        return f"{ENDPOINT_FIELD} = {target.label}"
    if field == PROVIDER_FIELD:
        target = value if isinstance(value, EndpointSpec) else get_endpoint(str(value))
        return provider_title(target.provider)
    fs = sweep_fields(spec).get(field) if spec is not None else None
    if fs is not None and is_prompt(fs):
        return f"{field}: {format_value(value)}"
    if isinstance(value, str) and value in IMAGE_SIZE_PRESETS and fs is not None and fs.kind == "image_size":
        width, height = IMAGE_SIZE_PRESETS[value]
        return f"{field} = {value} ({width}×{height})"
    text = format_value(value)
    if isinstance(value, str) and "://" in text and len(text) > 48:
        text = "…/" + text.rstrip("/").rsplit("/", 1)[-1][-40:]
    return f"{field} = {text}"


@dataclass(frozen=True)
class Axis:
    """One validated axis: the field it sweeps, its values in order and their labels.

    ``values`` are what the cells' JSON reports as ``x``/``y``: wire values for a field (``2.0``,
    ``"landscape_4_3"``, ``{"width": 1024, "height": 768}``, ``None`` for "default"), endpoint ids for the endpoint
    axis, and for a prompt axis the words put into the prompt, the search text first.
    """

    name: AxisName
    field: str
    kind: AxisKind
    values: tuple[Any, ...]
    labels: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.values)

    @property
    def search(self) -> str | None:
        """The text a prompt axis replaces (its first value)."""
        return str(self.values[0]) if self.kind == "prompt_sr" else None

    @property
    def title(self) -> str:
        """The axis heading: the field name, or ``prompt S/R: "cat"`` for a prompt axis."""
        if self.kind == "prompt_sr":
            return f'{self.field} S/R: "{self.search}"'
        return self.field

    def apply(self, index: int, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` with this axis's ``index``-th value set (the endpoint axis leaves them as they are)."""
        value = self.values[index]
        if self.kind == "endpoint":
            return values
        if self.kind == "prompt_sr":
            return {**values, self.field: str(values.get(self.field) or "").replace(str(self.search), str(value))}
        return {**values, self.field: value}

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "field": self.field,
            "kind": self.kind,
            "title": self.title,
            "values": list(self.values),
            "labels": list(self.labels),
            "notes": list(self.notes),
        }


def _split_errors(exc: ValidationError, spec: EndpointSpec, field: str) -> tuple[list[str], list[str]]:
    """(rules about ``field`` without its name, other ``field: rule`` lines)."""
    own: list[str] = []
    other: list[str] = []
    for line in describe_validation_error(exc, spec.input_model):
        path, _, rule = line.partition(": ")
        if path == field:
            own.append(rule)
        elif path.startswith((field + ".", field + "[")):
            own.append(f"{path[len(field):].lstrip('.')}: {rule}")
        else:
            other.append(line)
    return own, other


def _validated_base(spec: EndpointSpec, base_input: Mapping[str, Any], except_field: str | None) -> dict[str, Any]:
    """The base input as the model sees it; problems outside ``except_field`` are the form's, reported as such."""
    values = dict(base_input)
    try:
        spec.build_input(values)
    except ValidationError as exc:
        # The axis replaces ``except_field``: its values are checked one by one, so the base's own is ignored.
        other = _split_errors(exc, spec, except_field)[1] if except_field else describe_validation_error(exc)
        if other:
            raise SweepError(other) from None
    return values


def _dedupe(axis: AxisName, field: str, values: list[Any], shown: Callable[[Any], str]) -> tuple[list[Any], list[str]]:
    seen: set[str] = set()
    kept: list[Any] = []
    dropped: list[str] = []
    for value in values:
        key = json.dumps(value, sort_keys=True, default=str)
        if key in seen:
            dropped.append(shown(value))
            continue
        seen.add(key)
        kept.append(value)
    notes = [f"{axis} axis ({field}): removed duplicate value(s) {', '.join(dropped)}"] if dropped else []
    return kept, notes


def axis_from_values(
    spec: EndpointSpec,
    field: str,
    values: Sequence[Any],
    base_input: Mapping[str, Any],
    *,
    axis: AxisName = "X",
    rng: random.Random | None = None,
    max_values: int = MAX_AXIS_VALUES,
) -> Axis:
    """Validate typed values for an axis over ``field`` of ``spec`` into an ``Axis``.

    Each value is checked by building the endpoint's input model from ``base_input`` with that value; an error
    reads ``X axis (num_inference_steps): 80: must be between 1 and 50``. Unknown field: the error lists the
    sweepable fields. Duplicates are removed with a note; an empty list is an error. For a prompt axis the first
    value is the search text and must occur in the prompt. For the endpoint axis each value (id or API name) must
    take the base input once mapped (``map_input``).
    """
    rng = rng or random.Random()
    prefix = f"{axis} axis ({field}): "
    if not values:
        raise SweepError(f"{prefix}no values given")
    at_most(prefix, list(values), min(max_values, MAX_AXIS_VALUES))
    if field == ENDPOINT_FIELD:
        return _endpoint_axis(spec, values, base_input, axis)
    if field == PROVIDER_FIELD:
        return _provider_axis(spec, values, base_input, axis)
    fs = field_of(spec, field, axis)
    if is_prompt(fs):
        return _prompt_axis(spec, fs, values, base_input, axis)
    base = _validated_base(spec, base_input, field)
    errors: list[str] = []
    wire_values: list[Any] = []
    for raw in values:
        value = normalise(fs, raw, rng, is_seed=is_seed(spec, field))
        try:
            wire = spec.build_input({**base, field: value}).to_wire()
        except ValidationError as exc:
            own, other = _split_errors(exc, spec, field)
            errors.extend(f"{prefix}{format_value(value)}: {rule}" for rule in own)
            errors.extend(line for line in other if line not in errors)
            continue
        wire_values.append(wire.get(field))
    if errors:
        raise SweepError(errors)
    kept, notes = _dedupe(axis, field, wire_values, format_value)
    return Axis(axis, field, "value", tuple(kept), tuple(label_for(field, v, spec) for v in kept), tuple(notes))


def _prompt_axis(
    spec: EndpointSpec, fs: FieldSpec, values: Sequence[Any], base_input: Mapping[str, Any], axis: AxisName
) -> Axis:
    prefix = f"{axis} axis ({fs.name}): "
    words = [str(v) for v in values]
    base = _validated_base(spec, base_input, None)
    prompt = str(base.get(fs.name) or "")
    search = words[0]
    if not search:
        raise SweepError(f"{prefix}the search text (the first value) is empty")
    if search not in prompt:
        raise SweepError(
            f'{prefix}"{search}" is not in the prompt; write the text to replace first, then its replacements: '
            "cat -> dog, fox"
        )
    kept, notes = _dedupe(axis, fs.name, words, str)
    errors: list[str] = []
    for word in kept:
        try:
            spec.build_input({**base, fs.name: prompt.replace(search, word)})
        except ValidationError as exc:
            own, _ = _split_errors(exc, spec, fs.name)
            errors.extend(f"{prefix}{word}: {rule}" for rule in own)
    if errors:
        raise SweepError(errors)
    if len(kept) == 1:
        notes.append(f"{prefix}only the search text was given, so the axis has one value")
    return Axis(axis, fs.name, "prompt_sr", tuple(kept), tuple(label_for(fs.name, w, spec) for w in kept), tuple(notes))


def _endpoint_axis(spec: EndpointSpec, values: Sequence[Any], base_input: Mapping[str, Any], axis: AxisName) -> Axis:
    prefix = f"{axis} axis ({ENDPOINT_FIELD}): "
    base_wire = spec.build_input(_validated_base(spec, base_input, None)).to_wire()
    errors: list[str] = []
    ids: list[str] = []
    for raw in values:
        try:
            target = raw if isinstance(raw, EndpointSpec) else get_endpoint(str(raw).strip())
        except KeyError:
            known = ", ".join(s.api_name for s in ENDPOINTS)
            errors.append(f"{prefix}{raw!r} is not an endpoint; known: {known}")
            continue
        problems = mapping_problems(spec, target, base_wire)
        errors.extend(f"{prefix}{target.label}: {p}" for p in problems)
        if not problems:
            ids.append(target.id)
    if errors:
        raise SweepError(errors)
    kept, notes = _dedupe(axis, ENDPOINT_FIELD, ids, lambda v: get_endpoint(v).label)
    labels = tuple(label_for(ENDPOINT_FIELD, v) for v in kept)
    return Axis(axis, ENDPOINT_FIELD, "endpoint", tuple(kept), labels, tuple(notes))


def _provider_axis(spec: EndpointSpec, values: Sequence[Any], base_input: Mapping[str, Any], axis: AxisName) -> Axis:
    prefix = f"{axis} axis ({PROVIDER_FIELD}): "
    serving = serving_endpoints(spec)
    if len(serving) < 2:
        raise SweepError(f"{prefix}{spec.title} is sold by one provider here; there is nothing to compare")
    names = provider_names(spec)
    wanted: list[EndpointSpec] = []
    errors: list[str] = []
    for raw in values:
        text = str(raw.id if isinstance(raw, EndpointSpec) else raw).strip()
        if text.casefold() == "all":
            wanted.extend(serving)
        elif text.casefold() in names:
            wanted.append(names[text.casefold()])
        else:
            known = ", ".join(t.provider for t in serving)
            errors.append(f"{prefix}{text!r} does not sell {spec.title} here; choose from {known} (or all)")
    base_wire = spec.build_input(_validated_base(spec, base_input, None)).to_wire()
    for target in dict.fromkeys(wanted):
        moved = translate(base_wire, spec, target)
        try:
            target.build_input(moved.values)
        except ValidationError as exc:
            errors.extend(f"{prefix}{provider_title(target.provider)}: {line}"
                          for line in describe_validation_error(exc, target.input_model))
    if errors:
        raise SweepError(errors)
    kept, notes = _dedupe(axis, PROVIDER_FIELD, [t.id for t in wanted], lambda v: provider_title(get_endpoint(v).provider))
    labels = tuple(label_for(PROVIDER_FIELD, v) for v in kept)
    return Axis(axis, PROVIDER_FIELD, "endpoint", tuple(kept), labels, tuple(notes))


def parse_axis(
    spec: EndpointSpec,
    field: str,
    text: str,
    base_input: Mapping[str, Any],
    *,
    axis: AxisName = "X",
    rng: random.Random | None = None,
    max_values: int = MAX_AXIS_VALUES,
) -> Axis:
    """A person's text for an axis, parsed (``parse_axis_values``) and validated (``axis_from_values``)."""
    rng = rng or random.Random()
    values = parse_axis_values(spec, field, text, rng=rng, axis=axis, max_values=max_values)
    return axis_from_values(spec, field, values, base_input, axis=axis, rng=rng, max_values=max_values)


def parse_json_axis(
    spec: EndpointSpec,
    field: str,
    values: str | Sequence[Any],
    base_input: Mapping[str, Any],
    *,
    axis: AxisName = "X",
    rng: random.Random | None = None,
    max_values: int = MAX_AXIS_VALUES,
) -> Axis:
    """The API's ``x_values`` / ``y_values``: a JSON list (or the list itself), validated like ``parse_axis``.

    Items are JSON values: numbers, booleans, enum strings, ``null`` for default, sizes as preset names,
    ``"1024x768"`` or ``{"width": 1024, "height": 768}``, seeds (``"random"`` / ``-1`` for a random one), endpoint
    ids or API names, and for a prompt field the search text first, then the replacements. A string that is not a
    JSON list is read with the person's syntax (``"1-5 (+1)"``, ``"cat -> dog, fox"``). Text longer than
    ``MAX_AXIS_TEXT`` and lists longer than ``max_values`` are refused before anything is read or validated.
    """
    rng = rng or random.Random()
    prefix = f"{axis} axis ({field}): "
    if isinstance(values, str):
        check_text(prefix, values)
        try:
            decoded = json.loads(values)
        except (json.JSONDecodeError, RecursionError):
            decoded = None
        if not isinstance(decoded, list):
            return parse_axis(spec, field, values, base_input, axis=axis, rng=rng, max_values=max_values)
        values = decoded
    if not isinstance(values, Sequence):
        raise SweepError(f"{prefix}values must be a JSON list")
    at_most(prefix, list(values), min(max_values, MAX_AXIS_VALUES))
    is_size = (fs := sweep_fields(spec).get(field)) is not None and fs.kind == "image_size"
    bad = [v for v in values if isinstance(v, (list, dict)) and not (isinstance(v, dict) and is_size)]
    if bad:
        raise SweepError(f"{prefix}{format_value(bad[0])}: each value must be a single number, text or boolean")
    return axis_from_values(spec, field, list(values), base_input, axis=axis, rng=rng, max_values=max_values)
