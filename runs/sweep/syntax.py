"""Value syntax (``parse_axis_values``), after AUTOMATIC1111's X/Y/Z plot:

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
import decimal
import json
import math
import random
import re
from collections.abc import Sequence
from functools import cache
from typing import Any, Literal

from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from endpoints.models import serving_endpoints
from endpoints.schema_fields import FieldSpec, spec_fields
from providers.catalog import provider_title
from runs.sweep.limits import MAX_AXIS_TEXT, MAX_AXIS_VALUES, MAX_CELLS_VAR, MAX_ERRORS

ENDPOINT_FIELD = "endpoint"
"""The axis field that sweeps over endpoints instead of a field of the form."""


PROVIDER_FIELD = "provider"
"""The axis field that sweeps over the providers selling the tab's model (an axis of kind ``endpoint``)."""


SEED_RANGE = (0, 2**31 - 1)
"""Random seeds are drawn from here when the seed field declares no bounds (the tab's 🎲 button does the same)."""


AxisName = Literal["X", "Y"]


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


@cache
def sweep_fields(spec: EndpointSpec) -> dict[str, FieldSpec]:
    return {f.name: f for f in spec_fields(spec)}


def sweepable_fields(spec: EndpointSpec) -> list[str]:
    """The field names an axis may sweep on this endpoint: every form field but the JSON ones, then ``endpoint``,
    then ``provider`` when the endpoint's model is sold by more than one provider."""
    extra = [PROVIDER_FIELD] if len(serving_endpoints(spec)) > 1 else []
    return [name for name, f in sweep_fields(spec).items() if f.kind != "json"] + [ENDPOINT_FIELD, *extra]


def default_axis_field(spec: EndpointSpec) -> str:
    """The field a sweep's X axis starts on: the endpoint's seed field, else its first sweepable field."""
    seed = spec.field_for("seed")
    fields = sweepable_fields(spec)
    return seed if seed is not None and seed in fields else fields[0]


def is_prompt(fs: FieldSpec) -> bool:
    return fs.kind == "textarea"


def field_of(spec: EndpointSpec, name: str, axis: str) -> FieldSpec:
    fs = sweep_fields(spec).get(name)
    if fs is None or fs.kind == "json":
        why = "cannot be swept" if fs is not None else f"is not a field of {spec.label}"
        raise SweepError(f"{axis} axis: {name!r} {why}; sweepable fields: {', '.join(sweepable_fields(spec))}")
    return fs


def is_seed(spec: EndpointSpec, name: str) -> bool:
    return name == spec.field_for("seed")


def seed_bounds(fs: FieldSpec) -> tuple[int, int]:
    low = int(fs.minimum) if fs.minimum is not None else SEED_RANGE[0]
    high = int(fs.maximum) if fs.maximum is not None else SEED_RANGE[1]
    return low, high


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
            values.append(token)  # resolved (or refused) with the other spellings in normalise
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


def check_text(prefix: str, text: str) -> None:
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
    check_text(prefix, text)
    text = text.strip()
    if not text:
        raise SweepError(f"{prefix}no values given")
    if field in (ENDPOINT_FIELD, PROVIDER_FIELD):
        return at_most(prefix, _csv_tokens(text), max_values)
    fs = field_of(spec, field, axis)
    if is_prompt(fs):
        if "->" in text:
            search, _, rest = text.partition("->")
            search_tokens = _csv_tokens(search)
            if len(search_tokens) != 1 or "->" in re.sub(r'"[^"]*"', "", rest):
                raise SweepError(f"{prefix}write one search text, one ->, then the replacements: cat -> dog, fox")
            return at_most(prefix, [search_tokens[0], *_csv_tokens(rest)], max_values)
        return at_most(prefix, _csv_tokens(text), max_values)
    if is_seed(spec, field):
        match = _RANDOM_SEEDS.match(text)
        if match:
            n = int(match["n"])
            low, high = seed_bounds(fs)
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
    return at_most(prefix, tokens, max_values)


def at_most(prefix: str, values: list[Any], max_values: int) -> list[Any]:
    if len(values) > max_values:
        raise _too_many(prefix, len(values), max_values)
    return values


def normalise(fs: FieldSpec, value: Any, rng: random.Random, *, is_seed: bool = False) -> Any:
    """Spellings every input form shares: ``default``, preset case, ``1024x768``, ``random`` seeds (``is_seed``: the
    field plays the endpoint's seed role), enum case."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _DEFAULT_WORDS and fs.nullable:
            return None
        if is_seed and word in _RANDOM_WORDS:
            return rng.randint(*seed_bounds(fs))
        if fs.kind == "image_size":
            size = _SIZE.match(value.strip())
            if size:
                return {"width": int(size["w"]), "height": int(size["h"])}
        if fs.choices:
            match = next((c for c in fs.choices if str(c).lower() == word), None)
            if match is not None:
                return match
    if is_seed and value == -1 and seed_bounds(fs)[0] > -1:
        return rng.randint(*seed_bounds(fs))  # A1111: -1 means a random seed
    if fs.choices and isinstance(value, (int, float)) and not isinstance(value, bool):
        match = next((c for c in fs.choices if str(c) == format_value(value)), None)
        if match is not None:
            return match
    return value


def axis_example(spec: EndpointSpec, name: str) -> str:
    """A placeholder for an axis's values box once ``name`` is picked: values that field takes, in the syntax."""
    if name == PROVIDER_FIELD:
        return "all, or provider names: fal, bfl"
    if name == ENDPOINT_FIELD:
        return "e.g. flux_pro, flux_dev_image_to_image"
    if name == spec.field_for("seed"):
        return "e.g. 4 random seeds, or 1, 2, 3"
    fs = sweep_fields(spec).get(name)
    if fs is None:
        return ""
    if fs.kind == "checkbox":
        return "true, false"
    if fs.kind == "textarea" or fs.kind == "text":
        return "search -> replace, e.g. cat -> dog, fox" if is_prompt(fs) else "text, more text"
    if fs.kind == "image_size":
        return "e.g. landscape_4_3, 1024x768"
    if fs.choices:
        return ", ".join(str(choice) for choice in fs.choices[:3])
    if fs.kind in ("slider", "number"):
        if fs.minimum is not None and fs.maximum is not None:
            low, high = f"{fs.minimum:g}", f"{fs.maximum:g}"
            if fs.minimum < 0:  # "-3-3" would not read as a range
                return f"e.g. {low}, {(fs.minimum + fs.maximum) / 2:g}, {high}"
            if fs.integer:  # whole steps: "1-50 (+16)" is 1, 17, 33, 49
                step = max(1, int(fs.maximum - fs.minimum) // 3)
                return f"e.g. {low}-{high} (+{step}), or {low}, {high}"
            return f"e.g. {low}-{high} [4] (4 values from {low} to {high}), or {low}, {high}"
        return "e.g. 2-8 [4], or 2, 4, 8"
    return ""


def provider_names(spec: EndpointSpec) -> dict[str, EndpointSpec]:
    """What a ``provider`` axis value may say for each host selling ``spec``'s model (casefolded): the provider's
    name or title, the endpoint's id or API name."""
    names = {}
    for target in serving_endpoints(spec):
        for name in (target.provider, provider_title(target.provider), target.id, target.api_name):
            names[name.casefold()] = target
    return names


def _written(value: Any) -> str:
    """One value as the values box takes it: ``default``, ``true``, ``3.5``, ``1024x768``, a quoted text when it
    holds a comma or a quote."""
    text = format_value(value).replace("×", "x") if isinstance(value, dict) else format_value(value)
    if isinstance(value, float) and math.isfinite(value) and float(text) != value:
        # format_value's 10 digits lose some values (1.1666666666666667 from "1-2 [7]"): a restored axis must make
        # the very cells that ran (the result cache knows them by value). The shortest exact digits, positional.
        text = format(decimal.Decimal(repr(value)), "f")
    if any(c in text for c in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def axis_text(spec: EndpointSpec, field: str, kind: str, values: Sequence[Any]) -> str | None:
    """The values box text that gives ``values`` back (an axis of a sweep that ran, ``Axis.to_json``): its exact
    values, random seeds as the seeds drawn, endpoints by API name and providers by name. None when that text would
    read back as something else (the history is the browser's: any value), or the endpoint has no such field."""
    if not values:
        return None
    try:
        if field == ENDPOINT_FIELD:
            written = [get_endpoint(str(v)).api_name for v in values]
        elif field == PROVIDER_FIELD:
            written = [get_endpoint(str(v)).provider for v in values]
        else:
            written = [_written(v) for v in values]
        text = f"{written[0]} -> {', '.join(written[1:])}" if kind == "prompt_sr" else ", ".join(written)
        parsed = parse_axis_values(spec, field, text)
        if field == ENDPOINT_FIELD:
            back = [get_endpoint(t).id for t in parsed]
        elif field == PROVIDER_FIELD:
            names = provider_names(spec)
            back = [names[t.casefold()].id for t in parsed]
        elif kind == "prompt_sr":
            back = list(parsed)
        else:
            fs = field_of(spec, field, "X")
            back = [normalise(fs, v, random.Random(0)) for v in parsed]
    except (SweepError, KeyError, ValueError, TypeError):
        return None
    return text if [_written(v) for v in back] == [_written(v) for v in values] else None
