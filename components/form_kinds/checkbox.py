"""A boolean. An optional one whose model default is None is tri-state by omission: unchecked (or never touched)
leaves it out, so the provider's default applies; checked sends true."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.form_kinds.base import OMIT, FieldKind, FieldWidget
from components.widgets import field_checkbox
from endpoints.schema_fields import FieldSpec


def _tri_state(field: FieldSpec) -> bool:
    return field.nullable and field.default is None


class CheckboxKind(FieldKind):
    name = "checkbox"

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        info = field.info
        if _tri_state(field):
            info = f"{info} (Unchecked: not sent, the provider's default applies.)".strip()
        box = field_checkbox(value=value, label=field.label, info=info or None, elem_id=elem_id)
        return FieldWidget(field.name, self.name, box)

    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        value = values.get(field.name)
        if value is None or (value is False and _tri_state(field)):
            return OMIT
        return value

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        return {field.name: bool(value)}


CHECKBOX = CheckboxKind()
