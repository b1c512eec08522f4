"""An endpoint's input form: Gradio components built from its model's JSON schema, read back by field name.

``build_form(spec)`` renders the form into the open ``gr.Blocks`` context — a "Load example" button, required
fields, optional fields marked ``x-ui: basic``, then the rest in a closed "Advanced" accordion, in labelled
sub-sections ("Sampling", "Output", ...) — and returns an ``EndpointForm``. Wire the run event by name, never by
position::

    form = build_form(spec)
    run.click(form.declare_api_parameters(handler), inputs_kwargs=form.run_inputs(), ...)
    # in handler(**values): model = form.to_model(values)  -> raises FormError("steps: must be between 15 and 50")

    # Restore a past input (wire JSON) into the form, server-side:
    restore.click(lambda: form.write(wire), outputs=list(form.value_components().values()))

Each field is edited by its kind (``components.form_kinds``); the kind is chosen in ``endpoints.schema_fields``.
Every API parameter is named after its schema field, plus ``{name}__link`` for an image's URL box (the only UI
input). ``value_components()`` adds the UI-only helpers whose values ``write`` sets: ``{name}__preset`` /
``__width`` / ``__height`` for an image size, ``{name}__rows`` for a list field's rows (drawn from a hidden copy
of its JSON text).

The API contract (``gradio_client``, ``view_api()``) is the model's: a required field has no default (gradio_client
refuses a call without it; a raw call without it reads ``prompt: is required``); every other parameter defaults to
the model's default, because each component's server-side value *is* the model default; every parameter carries
its description. The page shows the endpoint's documented example instead: it is filled in by the browser on load
(and by "Load example"), never stored as a component value.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from gradio.context import Context, get_blocks_context

from components.form_kinds import FieldWidget, kind_of
from components.form_values import (
    Checked,
    FormError,
    check_outside,
    model_from_values,
    write_values,
)
from components.page_config import initial_values_js
from components.widgets import UNCLAMP_JS, describe
from endpoints.base import EndpointSpec, WireModel
from endpoints.schema_fields import (
    FieldSpec,
    UnsupportedFieldError,
    advanced_groups,
    layout_order,
    spec_fields,
)

__all__ = [
    "EndpointForm",
    "FieldWidget",
    "FormError",
    "UnsupportedFieldError",
    "build_form",
]

#: Sub-sections of "Advanced" that start open (the rest start closed).
OPEN_GROUPS = frozenset({"Sampling"})


@dataclass
class EndpointForm:
    spec: EndpointSpec
    fields: dict[str, FieldWidget]  # in schema order
    descriptors: dict[str, FieldSpec] = field(default_factory=dict)
    advanced: gr.Accordion | None = None
    sections: dict[str, gr.Accordion] = field(default_factory=dict)  # "Advanced" sub-sections by name
    example_button: gr.Button | None = None

    def api_inputs(self) -> dict[str, gr.Component]:
        """Field name -> the component whose value is that field's API parameter."""
        return {name: widget.component for name, widget in self.fields.items()}

    def ui_inputs(self) -> dict[str, gr.Component]:
        """Helper components the run handler also takes (image URL boxes: ``{name}__link``)."""
        return {key: w.extra[key] for w in self.fields.values() for key in w.ui_keys}

    def run_inputs(self) -> dict[str, gr.Component]:
        """What a handler taking the form's values by name is given: the API parameters, then the UI helpers."""
        return {**self.api_inputs(), **self.ui_inputs()}

    def value_components(self) -> dict[str, gr.Component]:
        """Every component whose value ``write`` sets, keyed and ordered exactly like ``write``'s result."""
        out: dict[str, gr.Component] = {}
        for name, widget in self.fields.items():
            keys = self._value_keys(name)
            out.update({key: widget.component if key == name else widget.extra[key] for key in keys})
        return out

    def components(self) -> dict[str, gr.Component]:
        """Old name of ``value_components``."""
        return self.value_components()

    def write(self, wire_input: Mapping[str, Any]) -> dict[str, Any]:
        """Values for ``value_components()`` (same keys, same order) that show ``wire_input``, a provider input such
        as a past run's; fields it leaves out get their model defaults (required ones: empty)."""
        values = write_values(list(self.descriptors.values()), wire_input)
        return {key: values[key] for key in self.value_components()}

    def updates(self, wire_input: Mapping[str, Any]) -> dict[gr.Component, Any]:
        """``write`` of the values ``check_outside`` accepts, keyed by component: return it from a handler whose
        outputs are ``value_components()``. Refused values are left out (``checked_updates`` names them)."""
        return self.checked_updates(wire_input)[0]

    def checked_updates(self, wire_input: Mapping[str, Any]) -> tuple[dict[gr.Component, Any], Checked]:
        """``updates`` for an input from outside the page (a link, an image's metadata, a history entry), and what
        ``check_outside`` refused, by field: only values the endpoint's model accepts reach a component."""
        values, checked = self.checked_values(wire_input)
        components = self.value_components()
        return {components[key]: value for key, value in values.items()}, checked

    def shown_for(self, values: Mapping[str, Any]) -> list[tuple[gr.Component, Any]]:
        """The display lines the browser derives from ``values`` (keyed like ``value_components()``), each with its
        text: an image's "Will send" line. Set with the values when a form is filled at once."""
        return [(component, text(values)) for widget in self.fields.values() for component, text in widget.shown]

    def checked_values(self, wire_input: Mapping[str, Any]) -> tuple[dict[str, Any], Checked]:
        """``checked_updates`` keyed by ``value_components()``'s keys (for a form drawn later: ``lazy_tab``)."""
        checked = check_outside(self.spec, wire_input, list(self.descriptors.values()))
        return self.write(checked.values), checked

    def declare_api_parameters(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Name every input on ``handler(**values)``'s signature and document it; returns ``handler``.

        Required fields become keyword-only parameters without a default, so the API reports them required;
        every other input gets ``=None``, which Gradio needs to call a parameter optional when its component
        starts empty (``seed``, an image). An ``Args:`` section describing each parameter is appended to the
        docstring (Gradio's MCP tools read it). Only the signature and docstring change (an async generator stays
        one); ``handler`` must be a plain function taking ``**values``.
        """
        signature = inspect.signature(handler)
        params = list(signature.parameters.values())
        var_keyword = [p for p in params if p.kind is p.VAR_KEYWORD]
        if not var_keyword:
            raise TypeError("declare_api_parameters() needs a handler that takes **values")
        required = {name for name, f in self.descriptors.items() if f.required}
        added = [
            inspect.Parameter(
                key, inspect.Parameter.KEYWORD_ONLY, default=inspect.Parameter.empty if key in required else None
            )
            for key in self.run_inputs()
            if key not in signature.parameters
        ]
        named = [p for p in params if p.kind is not p.VAR_KEYWORD]
        keyword_only = [p for p in named if p.kind is p.KEYWORD_ONLY]
        positional = [p for p in named if p.kind is not p.KEYWORD_ONLY]
        parameters = [*positional, *keyword_only, *added, *var_keyword]
        handler.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]  # inspect reads it; functions do not declare it
        doc = inspect.getdoc(handler) or ""
        if "Args:" not in doc:
            lines = [f"    {key}: {text}" for key, text in self.parameter_descriptions().items()]
            handler.__doc__ = "\n".join([doc or self.spec.title, "", "Args:", *lines])
        return handler

    def parameter_descriptions(self) -> dict[str, str]:
        """API parameter name -> its one-line description (the field's description, bounds, defaults)."""
        out: dict[str, str] = {}
        for name, f in self.descriptors.items():
            out[name] = _description(f)
            for key in self.fields[name].ui_keys:
                out[key] = _helper_description(f, key)
        return out

    def to_model(self, values: Mapping[str, Any]) -> WireModel:
        """Submitted values (keyed like ``run_inputs()``) -> the validated input. Raises FormError."""
        return model_from_values(self.spec, values, list(self.descriptors.values()))

    def _value_keys(self, name: str) -> tuple[str, ...]:
        f = self.descriptors[name]
        return (name, *kind_of(f).helper_keys(f))


def build_form(spec: EndpointSpec) -> EndpointForm:
    """Render ``spec``'s input form into the open ``gr.Blocks``. Raises UnsupportedFieldError before rendering."""
    if get_blocks_context() is None:
        raise RuntimeError("build_form() must be called inside an open gr.Blocks() context")
    descriptors = spec_fields(spec)
    required, basic, advanced = layout_order(descriptors)
    example_button = gr.Button(
        "Load example", size="sm", variant="secondary", elem_id=f"{spec.api_name}-load-example"
    )
    widgets = {f.name: _build_field(spec, f) for f in [*required, *basic]}
    accordion = None
    sections: dict[str, gr.Accordion] = {}
    if advanced:
        with gr.Accordion("Advanced", open=False, elem_id=f"{spec.api_name}-advanced") as accordion:
            for group, members in advanced_groups(advanced):
                elem_id = f"{spec.api_name}-section-{group.lower().replace(' ', '-')}"
                with gr.Accordion(group, open=group in OPEN_GROUPS, elem_id=elem_id) as section:
                    widgets |= {f.name: _build_field(spec, f) for f in members}
                sections[group] = section
    form = EndpointForm(
        spec=spec,
        fields={f.name: widgets[f.name] for f in descriptors},
        descriptors={f.name: f for f in descriptors},
        advanced=accordion,
        sections=sections,
        example_button=example_button,
    )
    _describe_parameters(form)
    _fill_in_the_browser(form, example_button)
    return form


def _build_field(spec: EndpointSpec, f: FieldSpec) -> FieldWidget:
    # The component's server-side value is the API default: the model default, or nothing for a required field.
    value = None if f.required else f.default
    return kind_of(f).build(f, value, f"{spec.api_name}-{f.name}")


def _description(f: FieldSpec) -> str:
    parts = [" ".join(f.info.split())] if f.info else []
    bounds = f.bounds_text()
    if bounds and f.kind in ("slider", "number"):
        parts.append(f"Range: {bounds}.")
    if f.kind == "image":
        parts.append(f"An image file (handle_file(path or URL)); or pass None and give {f.name}__link.")
    if f.kind == "json":
        parts.append("JSON text.")
    if f.kind == "image_size":
        parts.append('A preset name or {"width": ..., "height": ...}.')
    if f.nullable and not f.required and f.default is None:
        parts.append("Leave empty for the provider's default.")
    return " ".join(parts)


def _helper_description(f: FieldSpec, key: str) -> str:
    return f"An http(s):// or data: URL for {f.name}, used when no {f.name} file is given."


def _describe_parameters(form: EndpointForm) -> None:
    descriptions = form.parameter_descriptions()
    for key, component in form.run_inputs().items():
        describe(component, descriptions[key])


def _fill_in_the_browser(form: EndpointForm, button: gr.Button) -> None:
    """Show the endpoint's example when the page loads and on "Load example" (js only: no server round-trip)."""
    values = form.write(form.spec.example)
    outputs = list(form.value_components().values())
    shown = form.shown_for(values)
    outputs += [component for component, _ in shown]
    # At load, the page gets these as starting values (components.page_config), so it also sets what the browser
    # would have derived from them (no change events fire for starting values).
    js = initial_values_js([*values.values(), *(text for _, text in shown)])
    quiet: dict[str, Any] = {"fn": None, "js": js, "outputs": outputs, "queue": False, "show_progress": "hidden"}
    button.click(api_visibility="private", **quiet)
    root = Context.root_block
    if root is not None:
        root.load(api_visibility="private", **quiet)
        if not getattr(root, "_unclamped_sliders", False):
            root.load(fn=None, js=UNCLAMP_JS, queue=False, show_progress="hidden", api_visibility="private")
            root._unclamped_sliders = True  # type: ignore[attr-defined]  # a marker of ours on Gradio's Blocks
