"""Models sold by several providers: one FLUX model, its endpoint on each host, and the mapping between their forms.

A ``Model`` lists the endpoint ids that serve it (fal's and Black Forest Labs'); ``translate`` carries a form's
values from one provider's schema to another's, by what each field means (``EndpointSpec.roles``) and by the few
fields the providers name differently:

    fal                         BFL
    image_size (preset | w×h)   width, height (rounded to the model's multiple) — or aspect_ratio where BFL has one
    safety_tolerance "1".."6"   safety_tolerance 0..6 (an integer)
    image_url                   input_image
    enhance_prompt              prompt_upsampling

A value the other provider cannot take is named in ``Translation.unmapped`` with the reason, never dropped
silently; a value changed to fit (a size rounded to a multiple of 32) is named in ``Translation.adjusted``.
No Gradio here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from endpoints import get_endpoint
from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec

#: Fields that mean the same on both sides under different names: (one name, the other name).
SAME_MEANING: tuple[tuple[str, str], ...] = (
    ("enhance_prompt", "prompt_upsampling"),
    ("image_url", "input_image"),
)


@dataclass(frozen=True)
class Model:
    """One model and the endpoints that serve it, in the order the provider choice shows them."""

    key: str
    title: str
    family: str
    endpoint_ids: tuple[str, ...]


MODELS: tuple[Model, ...] = (
    Model("flux-1.1-pro", "FLUX1.1 [pro]", "FLUX.1", ("fal-ai/flux-pro/v1.1", "flux-pro-1.1")),
    Model("flux-1.1-pro-ultra", "FLUX1.1 [pro] Ultra", "FLUX.1", ("fal-ai/flux-pro/v1.1-ultra", "flux-pro-1.1-ultra")),
    Model("flux-kontext-pro", "FLUX.1 Kontext [pro]", "Kontext", ("fal-ai/flux-pro/kontext", "flux-kontext-pro")),
    Model("flux-kontext-max", "FLUX.1 Kontext [max]", "Kontext", ("fal-ai/flux-pro/kontext/max", "flux-kontext-max")),
    Model("flux-2-pro", "FLUX.2 [pro]", "FLUX.2", ("fal-ai/flux-2-pro", "flux-2-pro")),
    Model("flux-2-flex", "FLUX.2 [flex]", "FLUX.2", ("fal-ai/flux-2-flex", "flux-2-flex")),
    Model("flux-2-max", "FLUX.2 [max]", "FLUX.2", ("flux-2-max",)),
)


def model_of(endpoint_id: str) -> Model | None:
    """The model an endpoint serves, when more than one provider sells it."""
    return next((model for model in MODELS if endpoint_id in model.endpoint_ids), None)


def serving_endpoints(spec: EndpointSpec) -> list[EndpointSpec]:
    """The endpoints serving ``spec``'s model that this app lists, one per provider, in the model's order (``spec``
    alone when no other provider sells it)."""
    model = model_of(spec.id)
    if model is None:
        return [spec]
    found = []
    for endpoint_id in model.endpoint_ids:
        try:
            found.append(get_endpoint(endpoint_id))
        except KeyError:
            continue  # a catalog model this deployment does not list
    return found if spec in found else [spec]


@dataclass(frozen=True)
class Translation:
    values: dict[str, Any]
    unmapped: tuple[tuple[str, str], ...] = ()  # (source field, why it could not be carried over)
    adjusted: tuple[tuple[str, str], ...] = ()  # (target field, what was changed to fit)

    def notes(self) -> list[str]:
        """For people: one line per value left behind or changed."""
        return [f"{name}: not carried over — {why}" for name, why in self.unmapped] + [
            f"{name}: {what}" for name, what in self.adjusted
        ]


@dataclass
class _Work:
    source: EndpointSpec
    target: EndpointSpec
    out: dict[str, Any] = field(default_factory=dict)
    unmapped: list[tuple[str, str]] = field(default_factory=list)
    adjusted: list[tuple[str, str]] = field(default_factory=list)
    used: set[str] = field(default_factory=set)


def _size_of(value: Any) -> tuple[int, int] | None:
    if isinstance(value, str):
        return IMAGE_SIZE_PRESETS.get(value)
    if isinstance(value, Mapping) and isinstance(value.get("width"), int) and isinstance(value.get("height"), int):
        return int(value["width"]), int(value["height"])
    return None


def _bounds(spec: EndpointSpec, name: str) -> tuple[int | None, int | None, int | None]:
    """(minimum, maximum, multiple_of) of an integer field, from its JSON schema."""
    prop = _target_props(spec).get(name, {})
    return prop.get("minimum"), prop.get("maximum"), prop.get("multipleOf")


def _fit(spec: EndpointSpec, name: str, value: int) -> int:
    low, high, step = _bounds(spec, name)
    if step:
        value = max(step, round(value / step) * step)
    if low is not None:
        value = max(int(low), value)
    if high is not None:
        value = min(int(high), value)
    return value


def _aspect_ratio(width: int, height: int, choices: list[str]) -> str:
    def ratio(text: str) -> float:
        a, _, b = text.partition(":")
        return float(a) / float(b)

    return min(choices, key=lambda c: abs(ratio(c) - width / height))


def _target_props(spec: EndpointSpec) -> dict[str, Any]:
    props: dict[str, Any] = spec.input_schema.get("properties", {})
    return props


def _carry_size(work: _Work, values: Mapping[str, Any]) -> None:
    source, target = work.source, work.target
    size_field = source.field_for("size")
    width_field, height_field = source.field_for("width"), source.field_for("height")
    size: tuple[int, int] | None = None
    used: list[str] = []
    if size_field and values.get(size_field) is not None:
        size, used = _size_of(values[size_field]), [size_field]
    elif width_field and height_field and values.get(width_field) and values.get(height_field):
        size, used = (int(values[width_field]), int(values[height_field])), [width_field, height_field]
    if size is None:
        return
    work.used.update(used)
    width, height = size
    to_size, to_w, to_h = target.field_for("size"), target.field_for("width"), target.field_for("height")
    if to_size:
        preset = next((name for name, px in IMAGE_SIZE_PRESETS.items() if px == size), None)
        work.out[to_size] = preset or {"width": width, "height": height}
    elif to_w and to_h:
        fitted = (_fit(target, to_w, width), _fit(target, to_h, height))
        work.out[to_w], work.out[to_h] = fitted
        if fitted != size:
            work.adjusted.append((f"{to_w}/{to_h}", f"{width}×{height} became {fitted[0]}×{fitted[1]} to fit"))
    elif "aspect_ratio" in _target_props(target):
        choices = _target_props(target)["aspect_ratio"].get("enum") or []
        for option in _target_props(target)["aspect_ratio"].get("anyOf", []):
            choices = choices or option.get("enum") or []
        if choices:
            work.out["aspect_ratio"] = _aspect_ratio(width, height, choices)
            work.adjusted.append(("aspect_ratio", f"{width}×{height} became {work.out['aspect_ratio']}"))
        else:
            work.unmapped.append((used[0], "the other provider takes no size"))
    else:
        work.unmapped.append((used[0], "the other provider takes no size"))


def _converted(value: Any, prop: Mapping[str, Any]) -> Any:
    """``"2"`` → ``2`` for an integer field, ``2`` → ``"2"`` for a string-enum field; otherwise as it is."""
    kinds = {prop.get("type")} | {option.get("type") for option in prop.get("anyOf", [])}
    if isinstance(value, str) and "integer" in kinds and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and "string" in kinds:
        return str(value)
    return value


def translate(values: Mapping[str, Any], source: EndpointSpec, target: EndpointSpec) -> Translation:
    """Carry ``values`` (by field name, as the source's form holds them) into ``target``'s schema."""
    work = _Work(source, target)
    props = _target_props(target)
    for role, name in source.roles.items():
        if role in ("size", "width", "height") or values.get(name) is None:
            continue
        if (to := target.field_for(role)) is not None:
            work.out[to] = _converted(values[name], props.get(to, {}))
            work.used.add(name)
    _carry_size(work, values)
    renames = dict(SAME_MEANING) | {b: a for a, b in SAME_MEANING}
    for name, value in values.items():
        if name in work.used or value is None:
            continue
        to = name if name in props else renames.get(name)
        if to is None or to not in props or to in work.out:
            work.unmapped.append((name, f"{target.title} has no such setting"))
            continue
        work.out[to] = _converted(value, props[to])
    _drop_invalid(work)
    return Translation(work.out, tuple(work.unmapped), tuple(work.adjusted))


def _drop_invalid(work: _Work) -> None:
    """A carried value the target refuses (out of its range, not one of its choices) is named and left out."""
    for _ in range(len(work.out) + 1):
        try:
            work.target.input_model.model_validate(work.out)
            return
        except ValidationError as exc:
            bad = {str(error["loc"][0]) for error in exc.errors() if error["loc"] and error["type"] != "missing"}
            bad &= set(work.out)
            if not bad:
                return  # only required fields missing: the form asks for them
            for name in sorted(bad):
                message = next(e["msg"] for e in exc.errors() if e["loc"] and str(e["loc"][0]) == name)
                work.unmapped.append((name, f"{work.target.title} refuses {work.out.pop(name)!r}: {message}"))


__all__ = ["MODELS", "Model", "Translation", "model_of", "serving_endpoints", "translate"]
