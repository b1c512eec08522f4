"""A choice among an enum's values: ``radio`` for up to three short choices, else ``dropdown``.

An optional enum offers a "default" choice whose value ``""`` leaves the field out. The component's own value
(the API default) is the model default — ``None`` for an optional enum, which means the same; the page shows
"default" selected once it loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.form_kinds.base import OMIT, FieldKind, FieldWidget, blank
from components.widgets import field_dropdown, field_radio
from endpoints.schema_fields import DEFAULT_CHOICE_LABEL, FieldSpec


class ChoiceKind(FieldKind):
    def __init__(self, name: str) -> None:
        self.name = name

    def choices(self, field: FieldSpec) -> list[tuple[str, Any]]:
        choices = [(str(c), c) for c in field.choices]
        if field.nullable and "" not in field.choices:
            choices.insert(0, (DEFAULT_CHOICE_LABEL, ""))
        return choices

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        factory = field_radio if self.name == "radio" else field_dropdown
        component = factory(
            choices=self.choices(field), value=value, label=field.label, info=field.info or None, elem_id=elem_id
        )
        return FieldWidget(field.name, self.name, component)

    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        value = values.get(field.name)
        if blank(value) and value not in field.choices:
            return OMIT
        return value

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        return {field.name: "" if value is None and field.nullable else value}


RADIO = ChoiceKind("radio")
DROPDOWN = ChoiceKind("dropdown")
