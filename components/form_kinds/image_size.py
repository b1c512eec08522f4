"""An image size: a preset name or ``{"width", "height"}``.

The field's API component is a hidden ``gr.JSON`` holding that value, kept in step in the browser (``js``, no
server round-trip) from a preset dropdown and width/height boxes shown for "custom". Those three are UI only
(``{name}__preset`` / ``__width`` / ``__height``), not inputs of the run event; ``read`` still accepts them when
``{name}`` itself is absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gradio as gr

from components.form_kinds.base import (
    OMIT,
    FieldKind,
    FieldProblem,
    FieldWidget,
    blank,
    parse_json_text,
    whole,
)
from components.widgets import field_dropdown, field_number, image_size_value
from endpoints.base import IMAGE_SIZE_PRESETS
from endpoints.schema_fields import CUSTOM_SIZE, DEFAULT_CHOICE_LABEL, FieldSpec

PRESET, WIDTH, HEIGHT = "__preset", "__width", "__height"

# The image size the API receives, from the preset dropdown and the width/height boxes (runs in the browser).
_SIZE_VALUE_JS = f"(preset, width, height) => preset === {CUSTOM_SIZE!r} ? {{width, height}} : (preset || null)"
# On a preset change: the value, and width/height shown for "custom" only, starting from the last preset's pixels.
_SIZE_PRESET_JS = """(preset, width, height) => {
    const size = %s[preset];
    const show = {__type__: "update", visible: preset === %r};
    const w = size ? {...show, value: size[0]} : show, h = size ? {...show, value: size[1]} : show;
    return [(%s)(preset, width, height), w, h];
}"""


def size_of(field: FieldSpec, value: Any) -> tuple[Any, Any]:
    """Width and height to show for an image size value (a preset's pixels, or the custom size's default)."""
    if isinstance(value, Mapping):
        return value.get("width"), value.get("height")
    if isinstance(value, str) and value in IMAGE_SIZE_PRESETS:
        return IMAGE_SIZE_PRESETS[value]
    template = field.template or {}
    return template.get("width"), template.get("height")


class ImageSizeKind(FieldKind):
    name = "image_size"

    def helper_keys(self, field: FieldSpec) -> tuple[str, ...]:
        return tuple(field.name + suffix for suffix in (PRESET, WIDTH, HEIGHT))

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        values = self.write(field, value)
        preset_value = values[field.name + PRESET]
        custom = preset_value == CUSTOM_SIZE
        choices = [(DEFAULT_CHOICE_LABEL, "")] if field.nullable else []
        for preset in field.choices:
            size = IMAGE_SIZE_PRESETS.get(preset)
            choices.append((f"{preset} ({size[0]}×{size[1]})" if size else preset, preset))
        choices.append((CUSTOM_SIZE, CUSTOM_SIZE))
        with gr.Row(equal_height=True):
            preset = field_dropdown(
                choices=choices, value=preset_value, label=field.label, info=field.info or None, scale=2,
                elem_id=f"{elem_id}-preset",
            )
            width = field_number(
                value=values[field.name + WIDTH], label="Width", precision=0, minimum=1, visible=custom, scale=1,
                min_width=100, elem_id=f"{elem_id}-width",
            )
            height = field_number(
                value=values[field.name + HEIGHT], label="Height", precision=0, minimum=1, visible=custom, scale=1,
                min_width=100, elem_id=f"{elem_id}-height",
            )
        component = image_size_value(value, field.choices, label=field.label, visible=False, elem_id=elem_id)
        sync: dict[str, Any] = {
            "fn": None, "inputs": [preset, width, height], "queue": False, "show_progress": "hidden",
            "api_visibility": "private",
        }
        sizes = json.dumps({p: IMAGE_SIZE_PRESETS[p] for p in field.choices if p in IMAGE_SIZE_PRESETS})
        preset.change(
            js=_SIZE_PRESET_JS % (sizes, CUSTOM_SIZE, _SIZE_VALUE_JS), outputs=[component, width, height], **sync
        )
        for box in (width, height):
            box.change(js=_SIZE_VALUE_JS, outputs=[component], **sync)
        extra: dict[str, gr.components.Component] = {field.name + PRESET: preset, field.name + WIDTH: width, field.name + HEIGHT: height}
        return FieldWidget(field.name, self.name, component, extra)

    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        name = field.name
        if name in values:
            value = values[name]
        elif name + PRESET in values:
            preset = values[name + PRESET]
            value = (
                {"width": values.get(name + WIDTH), "height": values.get(name + HEIGHT)}
                if preset == CUSTOM_SIZE
                else preset
            )
        else:
            return OMIT
        if isinstance(value, str):
            value = value.strip()
            if value.startswith(("{", '"')):
                value = parse_json_text(value)
        if blank(value):
            return OMIT
        if value == CUSTOM_SIZE:
            raise FieldProblem('"custom" needs a width and a height: send {"width": ..., "height": ...}')
        if isinstance(value, Mapping):
            return {key: whole(v) for key, v in value.items()}
        return value

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        width, height = size_of(field, value)
        preset = CUSTOM_SIZE if isinstance(value, Mapping) else ("" if value is None else value)
        name = field.name
        return {name: value, name + PRESET: preset, name + WIDTH: width, name + HEIGHT: height}


IMAGE_SIZE = ImageSizeKind()
