"""The endpoint and provider axes' input mapping: a tab's input carried to another endpoint's schema, by the
fields' roles (``map_input``) or, for the same model on another provider, by ``endpoints.models.translate``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from endpoints.base import EndpointSpec
from endpoints.models import translate
from endpoints.roles import counterpart
from endpoints.validation import describe_validation_error


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


def mapping_problems(source: EndpointSpec, target: EndpointSpec, wire: dict[str, Any]) -> list[str]:
    mapped, _ = map_input(source, target, wire)
    try:
        target.build_input(mapped)
    except ValidationError as exc:
        return [
            line + (f" (nothing in {source.label} maps to it)" if line.endswith("is required") else "")
            for line in describe_validation_error(exc, target.input_model)
        ]
    return []


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
