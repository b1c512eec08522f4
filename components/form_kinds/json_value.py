"""Lists and objects, edited as JSON text (``gr.Code``): the text is the field's API parameter.

A list (or object) of objects also gets row editors over the same text (``components.form_kinds.rows``), and a
hidden copy of the text, ``{name}__rows``, that they are drawn from. Anything else (a list of strings, a free-form
dict) is a plain JSON editor with "Insert template".

``read`` takes JSON text or an already parsed value; empty text leaves the field out. For rows it also refuses
what the model would let through: blank required text (an empty row) and image fields that are not URLs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gradio as gr

from components.form_kinds.base import (
    MAX_JSON_DEPTH,
    OMIT,
    TOO_DEEP,
    FieldKind,
    FieldProblem,
    FieldWidget,
    blank,
    depth_of,
    parse_json_text,
)
from components.form_kinds.rows import ROWS, build_row_editor, check_items
from components.prose import Prose
from endpoints.schema_fields import FieldSpec, json_text

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
    if depth_of(value) > MAX_JSON_DEPTH:
        raise FieldProblem(TOO_DEEP)
    return value


class JsonKind(FieldKind):
    name = "json"

    def helper_keys(self, field: FieldSpec) -> tuple[str, ...]:
        return (field.name + ROWS,) if field.items else ()

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        if field.items:
            with gr.Column(elem_id=f"{elem_id}-editor", elem_classes=["list-editor"]):
                Prose(f"**{field.label}**" + (f" — {field.info}" if field.info else ""))
                code, rows = build_row_editor(field, value, elem_id)
            return FieldWidget(field.name, self.name, code, {field.name + ROWS: rows})
        code = gr.Code(
            value=json_text(value), language="json", label=field.label, lines=3, max_lines=20, elem_id=elem_id
        )
        with gr.Row(equal_height=True):
            insert = gr.Button("Insert template", size="sm", scale=0, min_width=140, elem_id=f"{elem_id}-template")
            Prose(field.info, elem_classes=["field-help"])
        js = (_APPEND_ITEM_JS if field.is_array else _FILL_OBJECT_JS) % json.dumps(field.template)
        insert.click(
            fn=None, js=js, inputs=[code], outputs=[code], queue=False, show_progress="hidden",
            api_visibility="private",
        )
        return FieldWidget(field.name, self.name, code)

    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        parsed = parse(values.get(field.name))
        if parsed is None:
            return OMIT
        problems = check_items(field, parsed) if field.items else []
        if problems:
            raise FieldProblem(problems=problems, value=parsed)
        return parsed

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        text = json_text(value)
        return {field.name: text, field.name + ROWS: text} if field.items else {field.name: text}


JSON = JsonKind()
