"""Lists and objects, edited as JSON text (``gr.Code``): the text is the field's API parameter.

``read`` takes JSON text or an already parsed value; empty text leaves the field out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gradio as gr

from components.form_kinds.base import (
    OMIT,
    FieldKind,
    FieldWidget,
    blank,
    parse_json_text,
)
from components.schema_fields import FieldSpec, json_text

# "Insert template": append one item to a JSON list (left alone if the text is not a list), or fill an empty object.
_APPEND_ITEM_JS = """(current) => {
    let items;
    try { items = (current || "").trim() ? JSON.parse(current) : []; } catch (e) { return current; }
    if (!Array.isArray(items)) return current;
    items.push(%s);
    return JSON.stringify(items, null, 2);
}"""
_FILL_OBJECT_JS = """(current) => (current || "").trim() ? current : JSON.stringify(%s, null, 2)"""


def parse(value: Any) -> Any:
    """JSON text or a parsed value -> the parsed value (None for empty text). Raises FieldProblem."""
    if isinstance(value, str):
        return None if blank(value) else parse_json_text(value)
    return value


class JsonKind(FieldKind):
    name = "json"

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        code = gr.Code(
            value=json_text(value), language="json", label=field.label, lines=3, max_lines=20, elem_id=elem_id
        )
        with gr.Row(equal_height=True):
            insert = gr.Button("Insert template", size="sm", scale=0, min_width=140, elem_id=f"{elem_id}-template")
            gr.Markdown(field.info, elem_classes=["field-help"])
        js = (_APPEND_ITEM_JS if field.is_array else _FILL_OBJECT_JS) % json.dumps(field.template)
        insert.click(
            fn=None, js=js, inputs=[code], outputs=[code], queue=False, show_progress="hidden",
            api_visibility="private",
        )
        return FieldWidget(field.name, self.name, code)

    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        parsed = parse(values.get(field.name))
        return OMIT if parsed is None else parsed

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        return {field.name: json_text(value)}


JSON = JsonKind()
