"""An endpoint's input form: Gradio components built from its model's JSON schema, read back by field name.

``build_form(spec)`` renders the form into the open ``gr.Blocks`` context — required fields first, then optional
fields marked ``x-ui: basic``, the rest in a closed "Advanced" accordion — and returns an ``EndpointForm``. Wire the
run event by name, never by position::

    form = build_form(spec)
    run.click(form.declare_api_parameters(handler), inputs_kwargs=form.api_inputs() | form.ui_inputs(), ...)
    # in handler(**values): model = form.to_model(values)  -> raises FormError("steps: must be between 15 and 50")

Widget choice: ``components.schema_fields``; value conversion: ``components.form_values``. Every API parameter is
named after its schema field. Two fields need more than one component:

- image: the ``gr.Image`` upload is the field's component (``handle_file(path)`` over the API); the URL box is a
  UI input keyed ``{name}__link`` (API default ``""``; the example URL is filled in by the page on load);
- image_size: the field's component is a hidden ``gr.JSON`` (a preset name or ``{"width", "height"}``) kept
  in step in the browser (``js``, no server round-trip) from the preset dropdown and width/height boxes, which are
  UI only and not inputs of the run event.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from gradio.context import Context, get_blocks_context

from components.form_values import (
    HEIGHT,
    LINK,
    PRESET,
    WIDTH,
    FormError,
    component_values,
    form_values_from_example,
    initial_value,
    model_from_values,
)
from components.schema_fields import (
    CUSTOM_SIZE,
    DEFAULT_CHOICE_LABEL,
    FieldSpec,
    UnsupportedFieldError,
    fields_of,
    layout_order,
)
from components.widgets import field_dropdown, field_number, field_radio, field_slider, image_size_value
from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec, WireModel

__all__ = [
    "EndpointForm",
    "FieldWidget",
    "FormError",
    "UnsupportedFieldError",
    "build_form",
    "form_values_from_example",
]

# The image size the API receives, from the preset dropdown and the width/height boxes (runs in the browser).
_SIZE_VALUE_JS = f"(preset, width, height) => preset === {CUSTOM_SIZE!r} ? {{width, height}} : (preset || null)"
# On a preset change: the value, and width/height shown for "custom" only, starting from the last preset's pixels.
_SIZE_PRESET_JS = """(preset, width, height) => {
    const size = %s[preset];
    const show = {__type__: "update", visible: preset === %r};
    const w = size ? {...show, value: size[0]} : show, h = size ? {...show, value: size[1]} : show;
    return [(%s)(preset, width, height), w, h];
}"""
# "Insert template": append one item to a JSON list (left alone if the text is not a list), or fill an empty object.
_APPEND_ITEM_JS = """(current) => {
    let items;
    try { items = (current || "").trim() ? JSON.parse(current) : []; } catch (e) { return current; }
    if (!Array.isArray(items)) return current;
    items.push(%s);
    return JSON.stringify(items, null, 2);
}"""
_FILL_OBJECT_JS = """(current) => (current || "").trim() ? current : JSON.stringify(%s, null, 2)"""


@dataclass
class FieldWidget:
    """One schema field and the components that edit it."""

    name: str
    kind: str
    component: gr.Component  # the component whose value is this field's API parameter
    extra: dict[str, gr.Component] = field(default_factory=dict)  # helpers, keyed like "image_url__link"


@dataclass
class EndpointForm:
    spec: EndpointSpec
    fields: dict[str, FieldWidget]  # in schema order
    descriptors: dict[str, FieldSpec] = field(default_factory=dict)
    advanced: gr.Accordion | None = None

    def api_inputs(self) -> dict[str, gr.Component]:
        """Field name -> the component whose value is that field's API parameter."""
        return {name: widget.component for name, widget in self.fields.items()}

    def ui_inputs(self) -> dict[str, gr.Component]:
        """Helper components the run handler also needs (image URL boxes: ``{name}__link``)."""
        return {key: c for w in self.fields.values() if w.kind == "image" for key, c in w.extra.items()}

    def components(self) -> dict[str, gr.Component]:
        """Every value-holding component, keyed like ``form_values_from_example`` (outputs of a "Load example")."""
        return self.api_inputs() | {key: c for w in self.fields.values() for key, c in w.extra.items()}

    def declare_api_parameters(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Name every input on ``handler(**values)``'s signature, keyword-only with default None; returns ``handler``.

        Gradio marks an API parameter required when its component starts empty (``seed``, an image) unless the
        handler declares ``=None`` for it, which ``**values`` does not. Only the signature changes (an async
        generator stays one); ``handler`` must be a plain function.
        """
        signature = inspect.signature(handler)
        params = list(signature.parameters.values())
        var_keyword = [p for p in params if p.kind is p.VAR_KEYWORD]
        if not var_keyword:
            raise TypeError("declare_api_parameters() needs a handler that takes **values")
        added = [
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=None)
            for key in self.api_inputs() | self.ui_inputs()
            if key not in signature.parameters
        ]
        named = [p for p in params if p.kind is not p.VAR_KEYWORD]
        parameters = [*named, *added, *var_keyword]
        handler.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return handler

    def to_model(self, values: Mapping[str, Any]) -> WireModel:
        """Submitted values (keyed like ``api_inputs() | ui_inputs()``) -> the validated input. Raises FormError."""
        return model_from_values(self.spec, values, list(self.descriptors.values()))


def build_form(spec: EndpointSpec) -> EndpointForm:
    """Render ``spec``'s input form into the open ``gr.Blocks``. Raises UnsupportedFieldError before rendering."""
    if get_blocks_context() is None:
        raise RuntimeError("build_form() must be called inside an open gr.Blocks() context")
    descriptors = fields_of(spec.input_model, spec.api_name)
    required, basic, advanced = layout_order(descriptors)
    widgets = {f.name: _build_field(spec, f) for f in [*required, *basic]}
    accordion = None
    if advanced:
        with gr.Accordion("Advanced", open=False, elem_id=f"{spec.api_name}-advanced") as accordion:
            widgets |= {f.name: _build_field(spec, f) for f in advanced}
    return EndpointForm(
        spec=spec,
        fields={f.name: widgets[f.name] for f in descriptors},
        descriptors={f.name: f for f in descriptors},
        advanced=accordion,
    )


def _build_field(spec: EndpointSpec, f: FieldSpec) -> FieldWidget:
    values = component_values(f, initial_value(f, spec.example))
    elem_id = f"{spec.api_name}-{f.name}"
    builder = _BUILDERS[f.kind]
    return builder(f, values, elem_id)


def _set_on_page_load(component: gr.Component, value: Any) -> None:
    """Set a value in the browser when the page loads (no server round-trip; the config value stays as built)."""
    root = Context.root_block
    if root is not None:
        root.load(fn=None, js=f"() => {json.dumps(value)}", outputs=[component], queue=False, show_progress="hidden")


def _info(f: FieldSpec) -> str | None:
    return f.info or None


def _text(f: FieldSpec, values: dict[str, Any], elem_id: str) -> FieldWidget:
    lines = {"textarea": 3, "text": 1}[f.kind]
    box = gr.Textbox(
        value=values[f.name], label=f.label, info=_info(f), lines=lines, max_lines=12 if lines > 1 else 1,
        elem_id=elem_id,
    )
    return FieldWidget(f.name, f.kind, box)


def _choice(f: FieldSpec, values: dict[str, Any], elem_id: str) -> FieldWidget:
    choices = [(str(c), c) for c in f.choices]
    if f.nullable and "" not in f.choices:
        choices.insert(0, (DEFAULT_CHOICE_LABEL, ""))
    factory = field_radio if f.kind == "radio" else field_dropdown
    component = factory(choices=choices, value=values[f.name], label=f.label, info=_info(f), elem_id=elem_id)
    return FieldWidget(f.name, f.kind, component)


def _slider(f: FieldSpec, values: dict[str, Any], elem_id: str) -> FieldWidget:
    slider = field_slider(
        minimum=f.minimum, maximum=f.maximum, value=values[f.name], step=f.step, precision=0 if f.integer else None,
        label=f.label, info=_info(f), elem_id=elem_id,
    )
    return FieldWidget(f.name, f.kind, slider)


def _number(f: FieldSpec, values: dict[str, Any], elem_id: str) -> FieldWidget:
    number = field_number(
        value=values[f.name], label=f.label, info=_info(f), precision=0 if f.integer else None, minimum=f.minimum,
        maximum=f.maximum, step=f.step or 1, placeholder="empty: provider default" if f.nullable else None,
        elem_id=elem_id,
    )
    if values[f.name] is None:  # Gradio 6.31's Number shows (and submits) 0 when it starts without a value
        _set_on_page_load(number, None)
    return FieldWidget(f.name, f.kind, number)


def _checkbox(f: FieldSpec, values: dict[str, Any], elem_id: str) -> FieldWidget:
    info = f.info
    if f.nullable and f.default is None:
        info = f"{info} (Unchecked: not sent, the provider's default applies.)".strip()
    return FieldWidget(f.name, f.kind, gr.Checkbox(value=values[f.name], label=f.label, info=info, elem_id=elem_id))


def _image(f: FieldSpec, values: dict[str, Any], elem_id: str) -> FieldWidget:
    with gr.Group():
        image = gr.Image(
            value=values[f.name], type="filepath", sources=["upload", "clipboard"], image_mode=None, label=f.label,
            height=260, elem_id=elem_id,
        )
        link = gr.Textbox(
            value="", label="…or an image URL", info=_info(f), placeholder="https://…", elem_id=f"{elem_id}-link"
        )
    if values[f.name + LINK]:  # the page fills the example URL in, so the API parameter's default stays ""
        _set_on_page_load(link, values[f.name + LINK])
    return FieldWidget(f.name, f.kind, image, {f.name + LINK: link})


def _image_size(f: FieldSpec, values: dict[str, Any], elem_id: str) -> FieldWidget:
    preset_value = values[f.name + PRESET]
    custom = preset_value == CUSTOM_SIZE
    choices = [(DEFAULT_CHOICE_LABEL, "")] if f.nullable else []
    for preset in f.choices:
        size = IMAGE_SIZE_PRESETS.get(preset)
        choices.append((f"{preset} ({size[0]}×{size[1]})" if size else preset, preset))
    choices.append((CUSTOM_SIZE, CUSTOM_SIZE))
    with gr.Row(equal_height=True):
        preset = field_dropdown(
            choices=choices, value=preset_value, label=f.label, info=_info(f), scale=2, elem_id=f"{elem_id}-preset"
        )
        width = field_number(
            value=values[f.name + WIDTH], label="Width", precision=0, minimum=1, visible=custom, scale=1,
            min_width=100, elem_id=f"{elem_id}-width",
        )
        height = field_number(
            value=values[f.name + HEIGHT], label="Height", precision=0, minimum=1, visible=custom, scale=1,
            min_width=100, elem_id=f"{elem_id}-height",
        )
    value = image_size_value(values[f.name], f.choices, label=f.label, visible=False, elem_id=elem_id)
    sync = dict(fn=None, inputs=[preset, width, height], queue=False, show_progress="hidden")
    sizes = json.dumps({p: IMAGE_SIZE_PRESETS[p] for p in f.choices if p in IMAGE_SIZE_PRESETS})
    preset.change(js=_SIZE_PRESET_JS % (sizes, CUSTOM_SIZE, _SIZE_VALUE_JS), outputs=[value, width, height], **sync)
    for box in (width, height):
        box.change(js=_SIZE_VALUE_JS, outputs=[value], **sync)
    extra = {f.name + PRESET: preset, f.name + WIDTH: width, f.name + HEIGHT: height}
    return FieldWidget(f.name, f.kind, value, extra)


def _json(f: FieldSpec, values: dict[str, Any], elem_id: str) -> FieldWidget:
    code = gr.Code(
        value=values[f.name], language="json", label=f.label, lines=3, max_lines=20, elem_id=elem_id
    )
    with gr.Row(equal_height=True):
        insert = gr.Button("Insert template", size="sm", scale=0, min_width=140, elem_id=f"{elem_id}-template")
        gr.Markdown(f.info, elem_classes=["field-help"])
    js = (_APPEND_ITEM_JS if f.is_array else _FILL_OBJECT_JS) % json.dumps(f.template)
    insert.click(fn=None, js=js, inputs=[code], outputs=[code], queue=False, show_progress="hidden")
    return FieldWidget(f.name, f.kind, code)


_BUILDERS = {
    "text": _text,
    "textarea": _text,
    "dropdown": _choice,
    "radio": _choice,
    "slider": _slider,
    "number": _number,
    "checkbox": _checkbox,
    "image": _image,
    "image_size": _image_size,
    "json": _json,
}
