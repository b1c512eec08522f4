"""Numbers: ``slider`` for a field with both bounds, ``number`` (a box) otherwise or when the schema asks for one.

Neither clamps nor rounds: out-of-range or fractional values typed by a person reach the model, which names the
field (``num_inference_steps: must be between 1 and 50``). Whole floats become ints for integer fields (28.0 ->
28); 28.5 stays a float and fails as ``must be a whole number``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.form_kinds.base import OMIT, FieldKind, FieldWidget, blank, whole
from components.widgets import field_number, field_slider
from endpoints.schema_fields import FieldSpec


def _info(field: FieldSpec) -> str | None:
    bounds = field.bounds_text()
    text = field.info
    if bounds:
        text = f"{text} ({bounds})" if text else bounds
    return text or None


class _NumericKind(FieldKind):
    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        value = values.get(field.name)
        if blank(value):
            return OMIT
        return whole(value) if field.integer else value

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        return {field.name: value}


class SliderKind(_NumericKind):
    name = "slider"

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        slider = field_slider(
            minimum=field.minimum, maximum=field.maximum, value=value, step=field.step,
            precision=0 if field.integer else None, label=field.label, info=field.info or None, elem_id=elem_id,
        )
        return FieldWidget(field.name, self.name, slider)


class NumberKind(_NumericKind):
    name = "number"

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        number = field_number(
            value=value, label=field.label, info=_info(field), precision=0 if field.integer else None,
            minimum=field.minimum, maximum=field.maximum, step=field.step or 1,
            placeholder="empty: provider default" if field.nullable else None, elem_id=elem_id,
        )
        return FieldWidget(field.name, self.name, number)


SLIDER = SliderKind()
NUMBER = NumberKind()
