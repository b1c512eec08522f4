"""Sweeps: axes over any field of a form (or over endpoints), validated values, and the plan of cells to run.

Pure: no I/O, no Gradio. The UI and the API parse what a person (or a caller) gave into an ``Axis``; ``plan_sweep``
turns one or two axes and the tab's input into a ``SweepPlan``: one ``SweepCell`` per grid position with the
validated wire input for its endpoint, the estimated cost and time, and what could not be carried to other
endpoints. Running the plan is ``runs.sweep_runner``'s job.

Value syntax (``parse_axis_values``), after AUTOMATIC1111's X/Y/Z plot:

- numbers: ``2, 3.5, 5``; ranges ``1-5`` (1..5), ``1-5 (+2)`` (1, 3, 5), ``10-5 (-3)`` (10, 7), ``1-3 [5]``
  (five evenly spaced values, both ends included; floats too: ``0.0-1.0 [6]``); negative ends ``-5--1``;
- enums and booleans: their values as a comma-separated list (``true, false``); ``default`` leaves an optional
  field unset;
- the seed (the field playing the endpoint's ``seed`` role): a list or range, ``4 random`` / ``4 random seeds``,
  and ``random`` or ``-1`` for one random seed;
- prompts: ``cat -> dog, fox`` replaces "cat" in the current prompt with each value, the original first
  (cells: cat, dog, fox); ``cat, dog, fox`` (A1111's Prompt S/R) means the same;
- image sizes: preset names or ``1024x768``;
- ``endpoint``: endpoint ids or API names from the registry; the tab's input is mapped to each by the fields'
  roles (``map_input``);
- ``provider`` (a model sold by several providers, ``endpoints.models``): provider names or titles (``fal, bfl``,
  ``Black Forest Labs``) or ``all``; the same model, prompt and seed on each host, the input carried to each
  provider's schema by ``endpoints.models.translate`` (a value the other provider cannot take is named).

Lists are CSV: a value holding a comma is written in double quotes.
"""

from __future__ import annotations

import csv
import dataclasses
import heapq
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from pydantic import ValidationError

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec
from endpoints.models import serving_endpoints, translate
from endpoints.roles import counterpart
from endpoints.schema_fields import FieldSpec, spec_fields
from endpoints.validation import describe_validation_error
from providers.catalog import CATALOG, provider_title
from runs.grid import DEFAULT_MIN_TILE, grid_layout
from runs.pricing import format_usd
from runs.record import Cost

ENDPOINT_FIELD = "endpoint"
"""The axis field that sweeps over endpoints instead of a field of the form."""
PROVIDER_FIELD = "provider"
"""The axis field that sweeps over the providers selling the tab's model (an axis of kind ``endpoint``)."""

DEFAULT_MAX_CELLS = 64
MAX_CELLS_VAR = "PLAYGROUND_SWEEP_MAX_CELLS"
DEFAULT_MAX_SWEEPS = 4
MAX_SWEEPS_VAR = "PLAYGROUND_MAX_SWEEPS"
"""Sweeps running at once on the whole server, whoever runs them (each holds a grid's worth of memory at its end)."""
DEFAULT_MAX_GRID_PIXELS = 32_000_000
MAX_GRID_PIXELS_VAR = "PLAYGROUND_SWEEP_MAX_GRID_PIXELS"
"""The grid image's pixel budget (about 96 MB while drawn): tiles shrink to fit, and a plan whose grid would not
fit even with ``runs.grid.DEFAULT_MIN_TILE`` tiles is refused before anything is sent."""
DEFAULT_CONCURRENCY: Mapping[str, int] = {spec.name: spec.sweep_concurrency for spec in CATALOG}
"""Jobs in flight at once per provider; ``<PROVIDER>_MAX_CONCURRENCY`` overrides each."""

MAX_AXIS_VALUES = 1000
"""No axis holds more values than this, whatever the cell cap (a typo like ``1-100000`` fails early)."""

MAX_ERRORS = 10  # problems listed per axis (then "... and N more")
MAX_AXIS_TEXT = 32_000
"""Characters of one axis's values (text or JSON): anything longer is refused before it is read."""
SEED_RANGE = (0, 2**31 - 1)
"""Random seeds are drawn from here when the seed field declares no bounds (the tab's 🎲 button does the same)."""

AxisName = Literal["X", "Y"]
AxisKind = Literal["value", "prompt_sr", "endpoint"]
CostOf = Callable[[EndpointSpec, dict[str, Any]], Cost]
SecondsPerJob = Callable[[EndpointSpec, dict[str, Any]], float]

_DEFAULT_WORDS = {"default", "none", "unset", "null"}
_RANDOM_WORDS = {"random", "rand"}
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_RANGE = re.compile(
    rf"^(?P<a>{_NUMBER})\s*-\s*(?P<b>{_NUMBER})\s*"
    rf"(?:\(\s*(?P<step>{_NUMBER})\s*\)|\[\s*(?P<count>{_NUMBER})\s*\])?$"
)
_RANDOM_SEEDS = re.compile(r"^(?P<n>\d+)\s*(?:x\s*)?random(?:\s+seeds?)?$", re.IGNORECASE)
_SIZE = re.compile(r"^(?P<w>\d+)\s*[x×X*]\s*(?P<h>\d+)$")
_RANGE_HELP = "a number or a range such as 1-5, 1-5 (+2) or 1-3 [5]"

class SweepError(ValueError):
    """Why a sweep cannot be planned: one message per problem, each naming the axis and field."""

    def __init__(self, messages: str | Sequence[str]) -> None:
        self.messages: list[str] = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


# --------------------------------------------------------------------------------------------------------------
# Fields


@cache
def _fields(spec: EndpointSpec) -> dict[str, FieldSpec]:
    return {f.name: f for f in spec_fields(spec)}


def sweepable_fields(spec: EndpointSpec) -> list[str]:
    """The field names an axis may sweep on this endpoint: every form field but the JSON ones, then ``endpoint``,
    then ``provider`` when the endpoint's model is sold by more than one provider."""
    extra = [PROVIDER_FIELD] if len(serving_endpoints(spec)) > 1 else []
    return [name for name, f in _fields(spec).items() if f.kind != "json"] + [ENDPOINT_FIELD, *extra]


def default_axis_field(spec: EndpointSpec) -> str:
    """The field a sweep's X axis starts on: the endpoint's seed field, else its first sweepable field."""
    seed = spec.field_for("seed")
    fields = sweepable_fields(spec)
    return seed if seed is not None and seed in fields else fields[0]


def _is_prompt(fs: FieldSpec) -> bool:
    return fs.kind == "textarea"


def _field(spec: EndpointSpec, name: str, axis: str) -> FieldSpec:
    fs = _fields(spec).get(name)
    if fs is None or fs.kind == "json":
        why = "cannot be swept" if fs is not None else f"is not a field of {spec.label}"
        raise SweepError(f"{axis} axis: {name!r} {why}; sweepable fields: {', '.join(sweepable_fields(spec))}")
    return fs


def _is_seed(spec: EndpointSpec, name: str) -> bool:
    return name == spec.field_for("seed")


def _seed_bounds(fs: FieldSpec) -> tuple[int, int]:
    low = int(fs.minimum) if fs.minimum is not None else SEED_RANGE[0]
    high = int(fs.maximum) if fs.maximum is not None else SEED_RANGE[1]
    return low, high


# --------------------------------------------------------------------------------------------------------------
# Labels


def format_value(value: Any) -> str:
    """A value as people read it: ``3.5``, ``true``, ``1024×768``, ``default`` for unset."""
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".10g")
    if isinstance(value, dict) and set(value) == {"width", "height"}:
        return f"{value['width']}×{value['height']}"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "))


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
    fs = _fields(spec).get(field) if spec is not None else None
    if fs is not None and _is_prompt(fs):
        return f"{field}: {format_value(value)}"
    if isinstance(value, str) and value in IMAGE_SIZE_PRESETS and fs is not None and fs.kind == "image_size":
        width, height = IMAGE_SIZE_PRESETS[value]
        return f"{field} = {value} ({width}×{height})"
    text = format_value(value)
    if isinstance(value, str) and "://" in text and len(text) > 48:
        text = "…/" + text.rstrip("/").rsplit("/", 1)[-1][-40:]
    return f"{field} = {text}"


# --------------------------------------------------------------------------------------------------------------
# Axes


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


def _csv_tokens(text: str) -> list[str]:
    """Comma-separated values (double quotes protect commas), one list over all lines, blanks dropped."""
    lines = [line for line in text.replace("\r", "\n").split("\n") if line.strip()]
    tokens: list[str] = []
    for row in csv.reader(lines, skipinitialspace=True):
        tokens.extend(cell.strip() for cell in row if cell.strip())
    return tokens


def _number(text: str) -> float | int:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else value


def _tidy(value: float) -> float:
    """Remove float noise from range arithmetic (0.30000000000000004 -> 0.3)."""
    return float(format(value, ".12g"))


def _range_count(match: re.Match[str], token: str, prefix: str) -> int:
    """How many values a range gives, computed from its ends and step (nothing expanded). Raises SweepError."""
    a, b = float(match["a"]), float(match["b"])
    if match["count"] is not None:
        count = float(match["count"])
        if count != int(count) or count < 1:
            raise SweepError(f"{prefix}{token}: the count in [ ] must be a whole number of at least 1")
        return int(count)
    step = float(match["step"]) if match["step"] is not None else (1.0 if b >= a else -1.0)
    if step == 0:
        raise SweepError(f"{prefix}{token}: the step must not be 0")
    if (b - a) * step < 0:
        raise SweepError(f"{prefix}{token}: a step of {format_value(step)} never gets from {format_value(a)} to "
                         f"{format_value(b)}")
    n = (b - a) / step + 1e-9
    if not math.isfinite(n) or n >= 2**53:
        return 2**53
    return math.floor(n) + 1


def _too_many(prefix: str, n: int, max_values: int, token: str | None = None) -> SweepError:
    limit = (f"at most {max_values} fit this sweep's cell limit ({MAX_CELLS_VAR})" if max_values < MAX_AXIS_VALUES
             else f"an axis takes at most {MAX_AXIS_VALUES}")
    return SweepError(f"{prefix}{token}: gives {n} values; {limit}" if token else f"{prefix}{n} values; {limit}")


def _expand_range(match: re.Match[str], token: str, prefix: str) -> list[float]:
    n = _range_count(match, token, prefix)
    if n > MAX_AXIS_VALUES:
        raise SweepError(f"{prefix}{token}: gives {n} values; an axis takes at most {MAX_AXIS_VALUES}")
    a, b = float(match["a"]), float(match["b"])
    if match["count"] is not None:
        return [a] if n == 1 else [_tidy(a + (b - a) * i / (n - 1)) for i in range(n)]
    step = float(match["step"]) if match["step"] is not None else (1.0 if b >= a else -1.0)
    return [_tidy(a + i * step) for i in range(n)]


def _count_numbers(tokens: list[str], prefix: str, max_values: int) -> None:
    """Refuse, before anything is expanded, tokens that give more than ``max_values`` values (ranges counted)."""
    total = 0
    for token in tokens:
        match = None if re.fullmatch(_NUMBER, token) else _RANGE.match(token)
        try:
            n = _range_count(match, token, prefix) if match is not None else 1
        except SweepError:
            n = 1  # reported with its token by _parse_numbers
        if n > max_values:
            raise _too_many(prefix, n, max_values, token)
        total += n
    if total > max_values:
        raise _too_many(prefix, total, max_values)


def _parse_numbers(fs: FieldSpec, tokens: list[str], prefix: str) -> tuple[list[Any], list[str]]:
    values: list[Any] = []
    errors: list[str] = []
    for token in tokens:
        if token.lower() in _DEFAULT_WORDS | _RANDOM_WORDS:
            values.append(token)  # resolved (or refused) with the other spellings in _normalise
            continue
        try:
            number = _number(token)
        except ValueError:
            match = _RANGE.match(token)
            if match is None:
                shown = token if len(token) <= 40 else token[:37] + "..."
                errors.append(f"{prefix}{shown!r} is not {_RANGE_HELP}")
                continue
            try:
                expanded = _expand_range(match, token, prefix)
            except SweepError as exc:
                errors.extend(exc.messages)
                continue
            if fs.integer:
                bad = next((v for v in expanded if v != int(v)), None)
                if bad is not None:
                    errors.append(f"{prefix}{token} gives {format_value(bad)}, but {fs.name} takes whole numbers")
                    continue
                values.extend(int(v) for v in expanded)
            else:
                values.extend(expanded)
            continue
        if fs.integer and isinstance(number, float):
            if number != int(number):
                errors.append(f"{prefix}{token}: must be a whole number")
                continue
            number = int(number)
        values.append(float(number) if not fs.integer else number)
    return values, errors


def _check_text(prefix: str, text: str) -> None:
    if len(text) > MAX_AXIS_TEXT:
        raise SweepError(f"{prefix}{len(text):,} characters; the values of an axis take at most {MAX_AXIS_TEXT:,}")


def parse_axis_values(
    spec: EndpointSpec,
    field: str,
    text: str,
    *,
    rng: random.Random | None = None,
    axis: AxisName = "X",
    max_values: int = MAX_AXIS_VALUES,
) -> list[Any]:
    """The values a person wrote for an axis over ``field`` (syntax in the module docstring), typed.

    Checks the syntax and whole numbers for integer fields; the schema's rules are checked by ``axis_from_values``
    (``parse_axis`` does both). A prompt axis gives the search text first, then the replacements.
    Text longer than ``MAX_AXIS_TEXT`` and more than ``max_values`` values (at most ``MAX_AXIS_VALUES``) are
    refused before anything is expanded: ranges are counted from their ends and step.
    Raises ``SweepError`` naming the axis and field.
    """
    prefix = f"{axis} axis ({field}): "
    max_values = min(max_values, MAX_AXIS_VALUES)
    _check_text(prefix, text)
    text = text.strip()
    if not text:
        raise SweepError(f"{prefix}no values given")
    if field in (ENDPOINT_FIELD, PROVIDER_FIELD):
        return _at_most(prefix, _csv_tokens(text), max_values)
    fs = _field(spec, field, axis)
    if _is_prompt(fs):
        if "->" in text:
            search, _, rest = text.partition("->")
            search_tokens = _csv_tokens(search)
            if len(search_tokens) != 1 or "->" in re.sub(r'"[^"]*"', "", rest):
                raise SweepError(f"{prefix}write one search text, one ->, then the replacements: cat -> dog, fox")
            return _at_most(prefix, [search_tokens[0], *_csv_tokens(rest)], max_values)
        return _at_most(prefix, _csv_tokens(text), max_values)
    if _is_seed(spec, field):
        match = _RANDOM_SEEDS.match(text)
        if match:
            n = int(match["n"])
            low, high = _seed_bounds(fs)
            if n > max_values:
                raise _too_many(prefix, n, max_values)
            if not 1 <= n <= high - low + 1:
                raise SweepError(f"{prefix}{text}: asks for {n} seeds; give between 1 and {max_values}")
            return list((rng or random.Random()).sample(range(low, high + 1), n))
    tokens = _csv_tokens(text)
    if fs.kind in ("slider", "number"):
        _count_numbers(tokens, prefix, max_values)
        values, errors = _parse_numbers(fs, tokens, prefix)
        if len(errors) > MAX_ERRORS:
            errors = [*errors[:MAX_ERRORS], f"{prefix}... and {len(errors) - MAX_ERRORS} more"]
        if errors:
            raise SweepError(errors)
        return values
    return _at_most(prefix, tokens, max_values)


def _at_most(prefix: str, values: list[Any], max_values: int) -> list[Any]:
    if len(values) > max_values:
        raise _too_many(prefix, len(values), max_values)
    return values


def _normalise(fs: FieldSpec, value: Any, rng: random.Random, *, is_seed: bool = False) -> Any:
    """Spellings every input form shares: ``default``, preset case, ``1024x768``, ``random`` seeds (``is_seed``: the
    field plays the endpoint's seed role), enum case."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _DEFAULT_WORDS and fs.nullable:
            return None
        if is_seed and word in _RANDOM_WORDS:
            return rng.randint(*_seed_bounds(fs))
        if fs.kind == "image_size":
            size = _SIZE.match(value.strip())
            if size:
                return {"width": int(size["w"]), "height": int(size["h"])}
        if fs.choices:
            match = next((c for c in fs.choices if str(c).lower() == word), None)
            if match is not None:
                return match
    if is_seed and value == -1 and _seed_bounds(fs)[0] > -1:
        return rng.randint(*_seed_bounds(fs))  # A1111: -1 means a random seed
    if fs.choices and isinstance(value, (int, float)) and not isinstance(value, bool):
        match = next((c for c in fs.choices if str(c) == format_value(value)), None)
        if match is not None:
            return match
    return value


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
    _at_most(prefix, list(values), min(max_values, MAX_AXIS_VALUES))
    if field == ENDPOINT_FIELD:
        return _endpoint_axis(spec, values, base_input, axis)
    if field == PROVIDER_FIELD:
        return _provider_axis(spec, values, base_input, axis)
    fs = _field(spec, field, axis)
    if _is_prompt(fs):
        return _prompt_axis(spec, fs, values, base_input, axis)
    base = _validated_base(spec, base_input, field)
    errors: list[str] = []
    wire_values: list[Any] = []
    for raw in values:
        value = _normalise(fs, raw, rng, is_seed=_is_seed(spec, field))
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
        problems = _mapping_problems(spec, target, base_wire)
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
    names = {}
    for target in serving:
        for name in (target.provider, provider_title(target.provider), target.id, target.api_name):
            names[name.casefold()] = target
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


def carry_input(source: EndpointSpec, target: EndpointSpec, wire: Mapping[str, Any], *, by_model: bool
                ) -> tuple[dict[str, Any], list[str]]:
    """``wire`` carried to ``target``: ``(values, source fields not carried)``. ``by_model``: the same model on
    another provider (``endpoints.models.translate``: sizes, safety tolerance, renamed fields); otherwise another
    endpoint, by the fields' roles (``map_input``)."""
    if not by_model:
        return map_input(source, target, wire)
    if source is target:
        return dict(wire), []
    moved = translate(wire, source, target)
    return moved.values, [name for name, _ in moved.unmapped]


def _mapping_problems(source: EndpointSpec, target: EndpointSpec, wire: dict[str, Any]) -> list[str]:
    mapped, _ = map_input(source, target, wire)
    try:
        target.build_input(mapped)
    except ValidationError as exc:
        return [
            line + (f" (nothing in {source.label} maps to it)" if line.endswith("is required") else "")
            for line in describe_validation_error(exc, target.input_model)
        ]
    return []


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
        _check_text(prefix, values)
        try:
            decoded = json.loads(values)
        except (json.JSONDecodeError, RecursionError):
            decoded = None
        if not isinstance(decoded, list):
            return parse_axis(spec, field, values, base_input, axis=axis, rng=rng, max_values=max_values)
        values = decoded
    if not isinstance(values, Sequence):
        raise SweepError(f"{prefix}values must be a JSON list")
    _at_most(prefix, list(values), min(max_values, MAX_AXIS_VALUES))
    is_size = (fs := _fields(spec).get(field)) is not None and fs.kind == "image_size"
    bad = [v for v in values if isinstance(v, (list, dict)) and not (isinstance(v, dict) and is_size)]
    if bad:
        raise SweepError(f"{prefix}{format_value(bad[0])}: each value must be a single number, text or boolean")
    return axis_from_values(spec, field, list(values), base_input, axis=axis, rng=rng, max_values=max_values)


# --------------------------------------------------------------------------------------------------------------
# The endpoint axis: carrying an input from one endpoint's schema to another's


def map_input(source: EndpointSpec, target: EndpointSpec, wire_input: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Carry ``source``'s wire input to ``target``'s schema: ``(values for target, source fields not carried)``.

    A field goes to the target's field that plays the same role (``EndpointSpec.roles``: steps
    ``num_inference_steps`` ↔ ``steps``, guidance ``guidance_scale`` ↔ ``guidance``, the input image ``image_url``
    ↔ ``control_image_url`` ↔ ``control_image``, ...); a field without a role goes to the field of the same name. A value the target's field refuses (out of its bounds, not one of its choices) is not carried
    — never clamped — and the target's default applies; such fields are listed as not carried, as are fields the
    target lacks. The values returned are not yet validated as a whole (the target may require more).
    """
    if source is target:
        return dict(wire_input), []
    mapped: dict[str, Any] = {}
    unmapped: list[str] = []
    for name, value in wire_input.items():
        if value is None:
            continue
        dest = counterpart(source, target, name)
        if dest is None or dest in mapped or _refuses(target, mapped, dest, value):
            unmapped.append(name)
            continue
        mapped[dest] = value
    return mapped, unmapped


def _refuses(target: EndpointSpec, mapped: dict[str, Any], name: str, value: Any) -> bool:
    try:
        target.build_input({**mapped, name: value})
    except ValidationError as exc:
        return any(e["loc"] and e["loc"][0] == name for e in exc.errors(include_url=False))
    return False


# --------------------------------------------------------------------------------------------------------------
# Limits (the app reads them from its settings: PLAYGROUND_SWEEP_MAX_CELLS, <PROVIDER>_MAX_CONCURRENCY, ...)


@dataclass(frozen=True)
class SweepLimits:
    max_cells: int = DEFAULT_MAX_CELLS
    concurrency: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    max_sweeps: int = DEFAULT_MAX_SWEEPS
    max_grid_pixels: int = DEFAULT_MAX_GRID_PIXELS


# --------------------------------------------------------------------------------------------------------------
# Plans


@dataclass(frozen=True)
class SweepCell:
    """One grid position: its axis values, the endpoint it goes to and the validated wire input to send."""

    x_index: int
    y_index: int  # 0 when there is no Y axis
    x_value: Any
    y_value: Any  # None when there is no Y axis
    endpoint: EndpointSpec
    input: dict[str, Any]

    @property
    def num_images(self) -> int:
        name = self.endpoint.field_for("count")
        value = self.input.get(name, 1) if name is not None else 1
        return value if isinstance(value, int) else 1

    @property
    def seed(self) -> int | None:
        name = self.endpoint.field_for("seed")
        seed = self.input.get(name) if name is not None else None
        return seed if isinstance(seed, int) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "x_index": self.x_index,
            "y_index": self.y_index,
            "x": self.x_value,
            "y": self.y_value,
            "endpoint_id": self.endpoint.id,
            "input": self.input,
        }


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will do, for the person to confirm: cells in row order (Y outer, X inner), cost and time."""

    id: str
    endpoint: EndpointSpec  # the tab's endpoint (the source of the endpoint axis's mapping)
    cells: tuple[SweepCell, ...]
    x_axis: Axis
    y_axis: Axis | None
    unmapped: Mapping[str, tuple[str, ...]]  # endpoint id -> source fields not carried to it (endpoint axis)
    estimated_cost: Cost
    estimated_seconds: float
    notes: tuple[str, ...] = ()
    cached: frozenset[int] = frozenset()  # indices into ``cells`` the result cache holds (served at $0.00)
    run_cost: Cost | None = None  # the estimate for the cells to run (``estimated_cost`` when none is cached)

    @property
    def jobs(self) -> int:
        return len(self.cells)

    @property
    def images(self) -> int:
        return sum(cell.num_images for cell in self.cells)

    @property
    def shape(self) -> tuple[int, int]:
        """(columns, rows)."""
        return len(self.x_axis), len(self.y_axis) if self.y_axis else 1

    def cell(self, x_index: int, y_index: int = 0) -> SweepCell:
        return self.cells[y_index * len(self.x_axis) + x_index]

    def summary(self) -> str:
        """One line for people: ``8 jobs (4 × 2) · est. $0.40 · about 25 s``."""
        columns, rows = self.shape
        jobs = f"{self.jobs} job{'s' if self.jobs != 1 else ''}"
        if self.y_axis is not None:
            jobs += f" ({columns} × {rows})"
        if self.images != self.jobs:
            jobs += f", {self.images} images"
        if self.cached:  # "16 cells: 12 from cache, 4 to run · est. $0.20"
            to_run = self.jobs - len(self.cached)
            jobs = f"{jobs.replace(' job', ' cell', 1)}: {len(self.cached)} from cache, {to_run} to run"
            cost = self.run_cost if self.run_cost is not None else self.estimated_cost
            return f"{jobs} · {_cost_text(cost)} · about {format_seconds(self.estimated_seconds)}"
        return f"{jobs} · {_cost_text(self.estimated_cost)} · about {format_seconds(self.estimated_seconds)}"

    def to_json(self) -> dict[str, Any]:
        """The sweep's parameters (for ``sweep.json`` and the grid PNG's metadata)."""
        return {
            "id": self.id,
            "endpoint_id": self.endpoint.id,
            "summary": self.summary(),
            "x": self.x_axis.to_json(),
            "y": self.y_axis.to_json() if self.y_axis else None,
            "jobs": self.jobs,
            "images": self.images,
            "estimated_cost": self.estimated_cost.to_json(),
            "estimated_seconds": self.estimated_seconds,
            "unmapped": {k: list(v) for k, v in self.unmapped.items()},
            "notes": list(self.notes),
            "cached_cells": len(self.cached),
            "cells": [cell.to_json() for cell in self.cells],
        }


def format_seconds(seconds: float) -> str:
    """``8 s``, ``25 s`` (to 5 s from 10 s), ``3 min``, ``1 h 20 min``."""
    if seconds < 10:
        return f"{max(1, math.ceil(seconds))} s"
    if seconds < 90:
        return f"{int(5 * math.ceil(seconds / 5))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


_PARTIAL_MARK = "price unknown for "


def _cost_text(cost: Cost) -> str:
    if cost.usd is None:
        return "cost unknown"
    if cost.basis.startswith(_PARTIAL_MARK):
        return f"est. ≥ {format_usd(cost.usd)} (some prices unknown)"
    return f"est. {format_usd(cost.usd)}"


def _total_cost(cells: Sequence[SweepCell], cost_of: CostOf) -> Cost:
    costs = [cost_of(cell.endpoint, cell.input) for cell in cells]
    known = [c for c in costs if c.usd is not None]
    credits = [c.credits for c in costs if c.credits is not None]
    total_credits = sum(credits) if credits else None
    if not known:
        return Cost(None, "no price known for these endpoints", total_credits)
    usd = round(sum(c.usd for c in known if c.usd is not None), 6)
    unknown = [cell for cell, c in zip(cells, costs, strict=True) if c.usd is None]
    if unknown:
        names = ", ".join(dict.fromkeys(cell.endpoint.label for cell in unknown))
        basis = f"{_PARTIAL_MARK}{len(unknown)} of {len(cells)} cells ({names}); the total counts the others only"
        return Cost(usd, basis, total_credits)
    bases = {c.basis for c in known}
    basis = f"{len(cells)} cells, each {bases.pop()}" if len(bases) == 1 else f"sum over {len(cells)} cells"
    return Cost(usd, basis, total_credits)


def estimate_seconds(
    cells: Sequence[SweepCell], seconds_per_job: SecondsPerJob, concurrency: Mapping[str, int]
) -> float:
    """Wall time if each provider runs up to its limit at once, a queued cell starting when one finishes.

    Providers run side by side, so the estimate is the slowest provider's. (With equal job times this is
    ``ceil(jobs / limit)`` waves of one job time.)
    """
    durations: dict[str, list[float]] = {}
    for cell in cells:
        durations.setdefault(cell.endpoint.provider, []).append(max(0.0, seconds_per_job(cell.endpoint, cell.input)))
    longest = 0.0
    for provider, times in durations.items():
        workers = [0.0] * max(1, min(concurrency.get(provider, 1), len(times)))
        for duration in times:
            heapq.heappush(workers, heapq.heappop(workers) + duration)
        longest = max(longest, max(workers))
    return longest


def plan_sweep(
    spec: EndpointSpec,
    base_input: Mapping[str, Any],
    x: Axis,
    y: Axis | None = None,
    *,
    cost_of: CostOf,
    seconds_per_job: SecondsPerJob,
    max_cells: int | None = None,
    concurrency: Mapping[str, int] | None = None,
    rng: random.Random | None = None,
    sweep_id: str | None = None,
    max_grid_pixels: int | None = None,
) -> SweepPlan:
    """The cells of a sweep over ``x`` (and ``y``) from the tab's ``base_input``, each validated for its endpoint.

    Refuses more than ``max_cells`` cells (default 64; the app passes ``PLAYGROUND_SWEEP_MAX_CELLS``), the same field on
    both axes (two prompt S/R axes excepted) and any cell its endpoint would refuse. When the base input leaves the
    seed unset and no axis sweeps it, one random seed is fixed for every cell (noted), so cells differ only by the
    axes. ``cost_of`` prices one cell (``runs.pricing.estimate_cost`` fits); ``seconds_per_job`` guesses one
    cell's time; ``concurrency`` is jobs at once per provider (default: each provider's own). A sweep whose grid
    would exceed ``max_grid_pixels`` even with the smallest tiles is refused here, before anything is billed.
    """
    if max_cells is None or concurrency is None or max_grid_pixels is None:
        limits = SweepLimits()
        max_cells = limits.max_cells if max_cells is None else max_cells
        concurrency = limits.concurrency if concurrency is None else concurrency
        max_grid_pixels = limits.max_grid_pixels if max_grid_pixels is None else max_grid_pixels
    rng = rng or random.Random()
    rows = len(y) if y else 1
    count = len(x) * rows
    if count > max_cells:
        shape = f" ({len(x)} × {rows})" if y else ""
        raise SweepError(
            f"This sweep has {count} cells{shape}; the limit is {max_cells} ({MAX_CELLS_VAR}). "
            "Remove values or raise the limit."
        )
    if y is not None and x.field == y.field and not (x.kind == y.kind == "prompt_sr"):
        raise SweepError(f"X and Y axes both sweep {x.field}; choose a different field for one of them")
    if y is not None and x.kind == y.kind == "endpoint":
        raise SweepError(f"X sweeps {x.field} and Y sweeps {y.field}: only one axis may change the endpoint")
    smallest = smallest_grid_pixels(spec, x, y)
    if smallest > max_grid_pixels:
        raise SweepError(
            f"This sweep's grid would take {smallest / 1e6:.1f} MP even with {DEFAULT_MIN_TILE}-px tiles; a grid "
            f"may take {max_grid_pixels / 1e6:.1f} MP ({MAX_GRID_PIXELS_VAR}). Remove values or raise the limit."
        )

    notes: list[str] = [*x.notes, *(y.notes if y else ())]
    base = dict(base_input)
    swept = {x.field, y.field if y else x.field}
    seed = spec.field_for("seed")
    if seed is not None and seed in _fields(spec) and base.get(seed) is None and seed not in swept:
        base[seed] = rng.randint(*_seed_bounds(_fields(spec)[seed]))
        notes.append(f"The seed was unset: every cell uses seed {base[seed]}, so cells differ only by the axes.")

    endpoint_axis = x if x.kind == "endpoint" else y if y is not None and y.kind == "endpoint" else None
    field_axes = [a for a in (x, y) if a is not None and a.kind != "endpoint"]
    cells: list[SweepCell] = []
    unmapped: dict[str, tuple[str, ...]] = {}
    errors: list[str] = []
    for yi in range(rows):
        for xi in range(len(x)):
            indices = {"X": xi, "Y": yi}
            values = base
            for ax in field_axes:
                if ax.kind == "prompt_sr" and str(ax.search) not in str(values.get(ax.field) or ""):
                    errors.append(f'{ax.name} axis ({ax.field}): "{ax.search}" is no longer in the prompt once the '
                                  "other axis has replaced its text")
                values = ax.apply(indices[ax.name], values)
            where = f"cell ({label_at(x, xi)}{', ' + label_at(y, yi) if y else ''}): "
            try:
                wire = spec.build_input(values).to_wire()
            except ValidationError as exc:
                errors.extend(where + line for line in describe_validation_error(exc, spec.input_model))
                continue
            target = spec
            if endpoint_axis is not None:
                target = get_endpoint(endpoint_axis.values[indices[endpoint_axis.name]])
                mapped, lost = carry_input(spec, target, wire, by_model=endpoint_axis.field == PROVIDER_FIELD)
                for ax in field_axes:
                    if ax.field in lost:
                        errors.append(
                            f"{ax.name} axis ({ax.field}): {format_value(ax.values[indices[ax.name]])} cannot be sent "
                            f"to {target.label} (it has no such field, or refuses that value)"
                        )
                if target is not spec:
                    unmapped[target.id] = tuple(dict.fromkeys((*unmapped.get(target.id, ()), *lost)))
                try:
                    wire = target.build_input(mapped).to_wire()
                except ValidationError as exc:
                    errors.extend(
                        f"{where}{target.label}: {line}" for line in describe_validation_error(exc, target.input_model)
                    )
                    continue
            cells.append(
                SweepCell(xi, yi, x.values[xi], y.values[yi] if y else None, target, wire)
            )
    if errors:
        raise SweepError(list(dict.fromkeys(errors)))
    return SweepPlan(
        id=sweep_id or uuid.uuid4().hex,
        endpoint=spec,
        cells=tuple(cells),
        x_axis=x,
        y_axis=y,
        unmapped=unmapped,
        estimated_cost=_total_cost(cells, cost_of),
        estimated_seconds=estimate_seconds(cells, seconds_per_job, concurrency),
        notes=tuple(notes),
    )


def smallest_grid_pixels(spec: EndpointSpec, x: Axis, y: Axis | None) -> int:
    """The pixels of this sweep's grid with ``DEFAULT_MIN_TILE`` square tiles and its labels: the least it can
    take before the tiles shrink below the size people can read."""
    side = (DEFAULT_MIN_TILE, DEFAULT_MIN_TILE)
    layout = grid_layout(
        [side], ["seed 2147483647"], x.labels, y.labels if y else [], title=f"{spec.title} · " + "0" * 60,
        x_title=x.title, y_title=y.title if y else "", max_tile=DEFAULT_MIN_TILE, min_tile=DEFAULT_MIN_TILE,
    )
    return layout.width * layout.height


def with_cached(plan: SweepPlan, cached: frozenset[int] | set[int] | list[int], cost_of: CostOf, seconds_per_job: SecondsPerJob,
                concurrency: Mapping[str, int]) -> SweepPlan:
    """``plan`` with the cells at ``cached`` (indices) counted apart: they cost nothing and take no time."""
    cached = frozenset(i for i in cached if 0 <= i < len(plan.cells))
    if not cached:
        return plan
    to_run = [cell for i, cell in enumerate(plan.cells) if i not in cached]
    run_cost = _total_cost(to_run, cost_of) if to_run else Cost(0.0, "every cell from the result cache")
    seconds = estimate_seconds(to_run, seconds_per_job, concurrency) if to_run else 0.0
    return dataclasses.replace(plan, cached=cached, run_cost=run_cost, estimated_seconds=seconds)


def label_at(axis: Axis | None, index: int) -> str:
    return axis.labels[index] if axis is not None else ""
