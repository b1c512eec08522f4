"""Text fields: a one-line box (``text``) or a multi-line one (``textarea``, prompts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gradio as gr

from components.form_kinds.base import OMIT, FieldKind, FieldWidget, blank
from endpoints.schema_fields import FieldSpec


class TextKind(FieldKind):
    """Empty text leaves the field out (so an empty prompt reads ``prompt: is required``), except a required
    one-line field, which is sent as typed, even empty (the depth fine-tune seed sends ``finetune_id: ""``)."""

    def __init__(self, name: str, lines: int) -> None:
        self.name = name
        self.lines = lines

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        box = gr.Textbox(
            value=value, label=field.label, info=field.info or None, lines=self.lines,
            max_lines=12 if self.lines > 1 else 1, elem_id=elem_id,
        )
        return FieldWidget(field.name, self.name, box)

    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        value = values.get(field.name)
        if self.lines == 1 and field.required and value == "":
            return value
        return OMIT if blank(value) else value

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        return {field.name: "" if value is None else str(value)}


TEXT = TextKind("text", lines=1)
TEXTAREA = TextKind("textarea", lines=3)
