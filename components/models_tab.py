"""The Models tab: every catalog and direct-provider model behind one picker, its form built when it is picked.

The page a visitor loads holds the picker (a search box, a dropdown grouped by family with each model's category
and price) and an empty ``@gr.render`` area. Picking a model renders that model's full endpoint tab
(``tab_page.build_tab``: form, Generate, status, gallery, share, sweep) into the area, for that session only, so
the initial page config does not grow with the catalog. A model sold by several providers (``endpoints.models``)
gets a provider choice with each provider's price; changing it carries the form's values across with
``translate()`` and shows what could not be carried (or was changed to fit) above the form.

The named API endpoints of these models cannot come from the rendered forms (they exist only in a session), so
``add_model_apis`` registers one API-only event per model (``gr.api``, no components on the page): ``/<api_name>``
runs the model through ``run_endpoint``, like Generate, and returns the result JSON; ``/<api_name>_sweep`` runs
its sweep (the same handler as the Sweep section's Run; ``x_field="provider"`` compares the hosts that sell the
model) and returns the cells, each with its latency and cost, and per provider the median latency and the cost per
image. Their parameters carry each field's schema (``components.api_schema``); with ``PLAYGROUND_MCP=1`` each is an
MCP tool too.
"""

from __future__ import annotations

import html
import inspect
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components.api_component import Api
from gradio.context import Context, get_render_context
from pydantic import ValidationError

from components.api_schema import args_docstring, field_schemas
from components.bind import bind
from components.context import AppContext
from components.endpoint_run import run_endpoint
from components.endpoint_tab import EndpointTab
from components.form_values import FormError
from components.history_state import RestoredAxes, changed_parameters
from components.prose import Prose
from components.rendered_form import fill_rendered, keep_record, keys_relay
from components.run_view import origin_html
from components.session_spend import SessionSpend
from components.sweep_run import sweep_handlers
from components.tab_page import build_tab
from components.widgets import EMPTY_BOXES_JS, blocks_under, mark_empty_boxes
from endpoints import DIRECT_ENDPOINTS, ENDPOINTS, catalog_endpoints, get_endpoint
from endpoints.base import EndpointSpec, WireModel
from endpoints.models import model_of, serving_endpoints, translate
from endpoints.validation import describe_validation_error
from providers.catalog import provider_title
from runs.compare import host_figures
from runs.pricing import format_usd
from runs.record import RunRecord
from runs.sweep.syntax import default_axis_field
from runs.sweep_runner import outcome

log = logging.getLogger(__name__)

TAB_ID = "models"
#: Families in the order the picker lists them: (family, test on the endpoint id).
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("FLUX.2", ("flux-2",)),
    ("FLUX.1 Kontext", ("kontext",)),
    ("FLUX1.1 [pro]", ("v1.1", "pro-1.1")),
    ("LoRA", ("lora",)),
    ("FLUX.1 [dev] / [schnell]", ("flux/dev", "flux/schnell", "flux-1/")),
)
OTHER_FAMILY = "Other FLUX"
UNIT_TEXT = {"image": "image", "megapixel": "MP"}


def family_of(spec: EndpointSpec) -> str:
    key = spec.id.lower()
    return next((family for family, marks in FAMILIES if any(mark in key for mark in marks)), OTHER_FAMILY)


def category_of(spec: EndpointSpec) -> str:
    """text-to-image, image-to-image or edit, from the fields the endpoint takes (its roles): an image it can do
    without (Ultra's image prompt, BFL's optional reference) leaves it a text-to-image model."""
    image = spec.field_for("image") or spec.field_for("images")
    if image is None:
        return "text-to-image"
    text = f"{spec.id} {spec.title}".lower()
    if "edit" in text or "kontext" in text:
        return "edit"
    return "image-to-image" if image in spec.input_schema.get("required", []) else "text-to-image"


def price_text(spec: EndpointSpec) -> str:
    price = spec.price
    if price is None:
        return "price unknown"
    unit = UNIT_TEXT.get(price.unit, price.unit)
    text = f"{format_usd(price.unit_price_usd)}/{unit}"
    if price.extra_unit_price_usd is not None and (then := format_usd(price.extra_unit_price_usd)) != format_usd(
            price.unit_price_usd):
        text += f" (then {then}/{unit})"
    return text


def model_endpoints() -> list[EndpointSpec]:
    """Every endpoint reachable from the Models tab: the catalog, then the direct providers' endpoints."""
    return [*catalog_endpoints(), *DIRECT_ENDPOINTS]


def picker_entries() -> list[tuple[str, str]]:
    """(label, endpoint id) per model, grouped by family: a model with several providers is listed once, by its
    first provider's endpoint (the provider choice offers the others)."""
    seen: set[str] = set()
    rows: list[tuple[int, str, str, str]] = []
    order = [family for family, _ in FAMILIES] + [OTHER_FAMILY]
    for spec in model_endpoints():
        first = serving_endpoints(spec)[0]
        if first.id in seen:
            continue
        seen.add(first.id)
        family = family_of(first)
        model = model_of(first.id)
        name = model.title if model is not None else first.title
        count = len(serving_endpoints(first))
        providers = f" · {count} providers" if count > 1 else ""
        label = f"{family} › {name} · {category_of(first)} · {price_text(first)}{providers}"
        rows.append((order.index(family), name.lower(), label, first.id))
    return [(label, endpoint_id) for _, _, label, endpoint_id in sorted(rows)]


def search(query: str, entries: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Entries whose name, kind (``edit``, ``text-to-image``) or id has a word starting with each word of ``query``
    (case-insensitive; words are runs of letters and digits, so "flux 2" finds "FLUX.2 [pro]" and not "FLUX1.1 [pro]",
    its "2 providers" or a price of "$0.025": the label's price and provider count are not searched)."""
    wanted = _WORD.findall((query or "").lower())
    return [entry for entry in entries if _matches(wanted, f"{' '.join(entry[0].split(' · ')[:2])} {entry[1]}")]


def _matches(wanted: list[str], text: str) -> bool:
    """Whether ``text`` has a word starting with each of ``wanted`` (``search``'s rule)."""
    words = _WORD.findall(text.lower())
    return all(any(word.startswith(w) for word in words) for w in wanted)


def seed_tabs_matching(query: str) -> list[str]:
    """The labels of the tabs beside this one whose model matches ``query`` (they are not in the picker)."""
    wanted = _WORD.findall((query or "").lower())
    return [spec.label for spec in ENDPOINTS if _matches(wanted, f"{spec.title} {spec.id}")]


_WORD = re.compile(r"[a-z0-9]+")


def provider_choices(spec: EndpointSpec) -> list[tuple[str, str]]:
    return [(f"{provider_title(s.provider)} · {price_text(s)}", s.id) for s in serving_endpoints(spec)]


def picked_state(endpoint_id: str, values: Mapping[str, Any] | None = None, notes: Sequence[str] = (),
                 nonce: int = 0, uploads: Mapping[str, str] | None = None, origin: str | None = None,
                 switched: bool = False, axes: RestoredAxes | None = None) -> dict[str, Any]:
    """What the render area shows: the endpoint, values to put in its form, notes on a provider change (``notes``,
    ``switched``), image fields to fill with a file the app itself put in Gradio's upload folder (``uploads``:
    field -> path), and where the values came from (``origin``: a history run, an image, a link), said in the
    status line), and a restored sweep's ``axes`` for its Sweep section."""
    return {"id": endpoint_id, "values": dict(values or {}), "notes": list(notes), "nonce": nonce,
            "uploads": dict(uploads or {}), "origin": origin, "switched": switched,
            "axes": axes.to_json() if axes is not None else None}


def notes_html(notes: Sequence[str]) -> str:
    """What did not come along on a provider change (or was refused): a note, not an error."""
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    return f"<div class='fp-note'><b>Provider changed.</b> Not everything carried over:<ul>{items}</ul></div>"


@dataclass
class ModelsTab:
    """The Models tab's outside handles: the picker and the state the render area follows."""

    picker: gr.Dropdown
    picked: gr.State
    last_record: gr.State  # the record of the last run made in the tab (the history panel lists it)

    @property
    def outputs(self) -> list[Any]:
        """What ``open`` updates: list them among a handler's outputs."""
        return [self.picker, self.picked]

    def open(self, api_name: str, values: Mapping[str, Any] | None = None, notes: Sequence[str] = (),
             uploads: Mapping[str, str] | None = None, origin: str | None = None,
             axes: RestoredAxes | None = None) -> dict[Any, Any]:
        """Updates that show ``api_name``'s model (a catalog or direct endpoint) with ``values`` in its form,
        ``uploads`` (field -> a path in Gradio's upload folder, put there by the app) in its image fields, and a
        restored sweep's ``axes`` in its Sweep section."""
        spec = get_endpoint(api_name)
        first = serving_endpoints(spec)[0]
        return {self.picker: gr.Dropdown(value=first.id),
                self.picked: picked_state(spec.id, values, notes, nonce=time.monotonic_ns(), uploads=uploads,
                                          origin=origin, axes=axes)}


def is_model_endpoint(api_name: str) -> bool:
    return any(spec.api_name == api_name or spec.id == api_name for spec in model_endpoints())


# A model picked with the page scrolled to the top: its form starts near the foot of the screen, and its action bar
# (sticky at the foot of its column, never above the column's top) hung below the screen's edge, Generate cut in
# half (a walk, at 1400×900). Once the model's Generate is drawn, the page scrolls just enough to show it whole.
# Runs in the page before the pick is sent (its inputs handed on); looks for up to 10 s.
SHOW_PICKED_BAR_JS = """(...values) => {
  const old = new Set([...document.querySelectorAll("[id$='-generate']")]);
  let tries = 0;
  const look = () => {
    const bar = [...document.querySelectorAll("[id$='-generate']")]
      .find(b => !old.has(b) && b.offsetParent !== null && b.closest('.fp-actions'));
    if (!bar) { if (++tries < 100) setTimeout(look, 100); return; }
    if (bar.getBoundingClientRect().bottom > window.innerHeight) bar.scrollIntoView({block: 'nearest'});
  };
  setTimeout(look, 100);
  return values;
}"""


PICKER_LABEL = "Model (family › name · category · price)"
# Gradio's open dropdown keeps the choices it opened with: a search answered after the visitor opened the picker
# would leave every model listed. Reopened (focus again, their own filter text kept), the list shows the answer.
REOPEN_PICKER_JS = """() => requestAnimationFrame(() => {
    const input = document.querySelector('#models-picker input');
    if (!input || document.activeElement !== input) return;
    const typed = input.value;
    input.blur();
    input.focus();
    if (typed && input.value !== typed) {
        input.value = typed;
        input.dispatchEvent(new Event('input', {bubbles: true}));
    }
})"""


def filter_picker(entries: list[tuple[str, str]], text: str) -> Any:
    """The picker narrowed to the models matching ``text`` (all of them, said so, when none does)."""
    query = (text or "").strip()
    found = search(query, entries)
    if not query:
        label = PICKER_LABEL
    elif found:  # said in the label: the closed picker shows nothing of the narrowing
        label = f"Model — {len(found)} of {len(entries)} match {query!r}: open the list"
    elif tabs := seed_tabs_matching(query):  # "depth": the tabs beside this one, not the picker's models
        label = f"Model — none here matches {query!r}, showing all; see the tab{'s' if len(tabs) > 1 else ''} " \
                + ", ".join(f"“{tab}”" for tab in tabs)
    else:
        label = f"Model — nothing matches {query!r}, showing all"
    return gr.Dropdown(choices=found or entries, label=label)


def pick(endpoint_id: str | None, current: dict[str, Any] | None) -> Any:
    """The picked model into the render area's state, unless it is already shown (perhaps on another provider)."""
    if not endpoint_id:
        return gr.skip()
    if current and current.get("id") in {s.id for s in serving_endpoints(get_endpoint(endpoint_id))}:
        return gr.skip()
    return picked_state(endpoint_id)


@dataclass
class RenderedModel:
    """What the provider switch of a rendered model reads: its tab and the names of its form's values."""

    tab: EndpointTab
    names: list[str]


def switch_provider(model: RenderedModel, target_id: str, *current: Any) -> Any:
    """The same model on another provider: the form's values carried by ``translate`` (what cannot be, said)."""
    spec = model.tab.spec
    if target_id == spec.id:
        return gr.skip()
    target = get_endpoint(target_id)
    try:
        wire = model.tab.form.to_model(dict(zip(model.names, current, strict=True))).to_wire()
    except FormError:
        wire = {}  # an incomplete form: carry nothing, the target's own example fills it
    # Values left at the endpoint's defaults go to the other provider's defaults, unnamed (a switch listed three
    # untouched defaults as "not carried over").
    moved = translate(changed_parameters(spec, wire), spec, target)
    return picked_state(target.id, moved.values, moved.notes(), nonce=time.monotonic_ns(), switched=True)


def render_model(state: dict[str, Any] | None, ctx: AppContext, session_keys: gr.State, spend: SessionSpend,
                 picked: gr.State, last_record: gr.State, keys_changed: gr.State | None = None) -> None:
    """The picked model's provider choice, notes and tab (``build_tab``), its form filled from ``state``. Runs
    inside ``gr.render`` each time the pick changes."""
    if not state:
        Prose("*No model picked yet.*", elem_id="models-empty")
        return
    spec = get_endpoint(state["id"])
    area = get_render_context()  # what this render draws into
    choices = provider_choices(spec)
    provider = gr.Radio(choices=choices, value=spec.id, label="Provider (price)", visible=len(choices) > 1,
                        interactive=True, elem_id="models-provider",
                        info="To compare every provider's price and speed: in Sweep below, pick X axis `provider`, "
                             "values `all`.")
    left_behind = list(state.get("notes") or [])  # by a provider change: listed above the form
    gr.HTML(notes_html(left_behind), elem_id="models-notes")
    tab = build_tab(spec, ctx, session_keys, spend, keys_changed)
    # A model opened from the picker starts, like a seed tab, with its documented example (its seed left
    # empty: each run draws its own); values from a link, a restore or another provider replace it.
    values = state.get("values") or {k: v for k, v in spec.example.items() if k != spec.field_for("seed")}
    refused: list[str] = []
    written: dict[str, Any] = {}
    if values:
        written, checked = tab.form.checked_values(values)
        refused = checked.messages
    fill_rendered(tab.form, written | upload_values(tab.form, state.get("uploads") or {}))
    if state.get("axes") is not None and tab.sweep_boxes is not None:  # a sweep restored from the history
        tab.sweep_boxes.fill(RestoredAxes.from_json(state["axes"]))
    if state.get("origin"):
        tab.status.value = origin_html(state["origin"], refused, sweep=state.get("axes") is not None)
    elif state.get("switched") or left_behind or refused:
        left = len(left_behind)
        said = [f"{left} value{'s' if left != 1 else ''} did not carry over (listed above)" if left
                else "every value you set carried over", *refused]
        where = html.escape(provider_title(spec.provider))
        tab.status.value = f"<p>Now on <b>{where}</b>: {html.escape(' · '.join(said))}.</p>"
    # Drawn into the boxes of the model shown before: those that start empty are emptied as they appear, else they
    # would show (and send) what was typed there for that model (widgets.EMPTY_BOXES_JS).
    mark_empty_boxes(blocks_under(area))
    components = tab.form.value_components()
    # Queued, so that the State's change (which the history panel follows) fires.
    tab.after_record.add(keep_record, [tab.last_record], [last_record])
    tab.after_record.wire()
    # A whole sweep lands in the history as one entry.
    tab.after_sweep(keep_record, [tab.sweep_record], [last_record], api_visibility="private", show_progress="hidden")
    provider.change(bind(switch_provider, RenderedModel(tab, list(components))), [provider, *components.values()],
                    [picked], api_visibility="private",
                    show_progress="hidden")  # queued: a State change only fires from the queue


@dataclass(frozen=True)
class ModelsStates:
    """The Models tab's States: create them before ``gr.Tabs`` (see ``lazy_tab.TabStates``, ``docs/upstream.md``
    §10: a State inside a tab fires ``.change`` twice, which drew the picked model's form twice)."""

    picked: gr.State
    keys_changed: gr.State


def models_states(session_keys: gr.State) -> ModelsStates:
    return ModelsStates(gr.State(None), keys_relay(session_keys))


def build_models_tab(ctx: AppContext, session_keys: gr.State, spend: SessionSpend, states: ModelsStates,
                     records: gr.State | None = None) -> ModelsTab:
    """The picker and the lazily rendered form. Call inside an open ``gr.Tab``. ``records`` (a new State if not
    given) receives the record of each run and sweep of the rendered model, for the history; ``states``
    (``models_states``) are made before ``gr.Tabs``."""
    entries = picker_entries()
    Prose(
        "### Every FLUX model\nSearch or pick a model: its form opens below. Models sold by several providers "
        "let you choose the provider (each with its price); the values carry over."
    )
    with gr.Row(equal_height=True):
        query = gr.Textbox(label="Search models", placeholder="e.g. kontext, flux.2, edit, lora", scale=2,
                           min_width=160, max_lines=1, elem_id="models-search")
        picker = gr.Dropdown(choices=entries, value=None, label=PICKER_LABEL, filterable=True, scale=5,
                             min_width=240, elem_id="models-picker")
    picked = states.picked
    last_record = records if records is not None else gr.State(None)
    if Context.root_block is not None:
        Context.root_block.load(None, js=EMPTY_BOXES_JS, queue=False, show_progress="hidden",
                                api_visibility="private")
    query.change(bind(filter_picker, entries), [query], [picker], api_visibility="private",
                 queue=False, show_progress="hidden").then(None, js=REOPEN_PICKER_JS, api_visibility="private",
                                                           queue=False, show_progress="hidden")
    picker.change(pick, [picker, picked], [picked], js=SHOW_PICKED_BAR_JS, api_visibility="private",
                  show_progress="hidden")

    @gr.render(inputs=[picked], triggers=[picked.change])
    def area(state: dict[str, Any] | None) -> None:
        render_model(state, ctx, session_keys, spend, picked, last_record, states.keys_changed)

    return ModelsTab(picker, picked, last_record)


def upload_values(form: Any, uploads: Mapping[str, str]) -> dict[str, Any]:
    """Files the app copied into the upload folder ("Use as input") as their image fields' values, as uploads."""
    values: dict[str, Any] = {}
    for field, path in uploads.items():
        if field in form.fields:
            values |= {key: value for key, value in form.write({field: path}).items()
                       if key == field or key.startswith(f"{field}__")}
    return values


class WireForm:
    """The form-less stand-in ``run_endpoint`` needs for an API call: wire values validated by the endpoint's model."""

    def __init__(self, spec: EndpointSpec) -> None:
        self.spec = spec

    def to_model(self, values: Mapping[str, Any]) -> WireModel:
        data = {k: v for k, v in values.items() if v is not None and v != ""}
        try:
            model: WireModel = self.spec.input_model.model_validate(data)
        except ValidationError as exc:
            messages = describe_validation_error(exc, self.spec.input_model)
            raise FormError(messages, [m.split(":", 1)[0].split(".")[0] for m in messages]) from None
        return model


def _api_schema(schema: Any) -> Any:
    """The schema the API reports: types, bounds, enums and descriptions; no examples, defaults or ``x-`` notes
    (each parameter's schema is repeated in the page config, so it stays small)."""
    if isinstance(schema, dict):
        return {k: _api_schema(v) for k, v in schema.items() if k not in ("default", "examples") and not k.startswith("x-")}
    if isinstance(schema, list):
        return [_api_schema(item) for item in schema]
    return schema




def _parameter_schema(schema: Any) -> Any:
    """What a shared parameter component reports: the field's type, bounds and choices, no descriptions (those are
    each endpoint's, in its docstring's ``Args:``)."""
    if isinstance(schema, dict):
        return {k: _parameter_schema(v) for k, v in _api_schema(schema).items() if k != "description"}
    if isinstance(schema, list):
        return [_parameter_schema(item) for item in schema]
    return schema


class ParameterPool:
    """Input components shared by the API-only events: one per (field name, type schema), so a model whose fields
    are like another's adds only its event to the page config, not a component per field."""

    def __init__(self) -> None:
        self._components: dict[str, Api] = {}
        self.result = Api(None, {"type": "object", "description": "The result JSON."}, label="result")

    def get(self, name: str, schema: dict[str, Any]) -> Api:
        info = _parameter_schema(schema)
        key = name + json.dumps(info, sort_keys=True, separators=(",", ":"))
        if key not in self._components:
            self._components[key] = Api(None, info, label=name)
        return self._components[key]


@dataclass(frozen=True)
class ModelFields:
    """A model's API parameters, read once for both of its events: field schemas, names (required first)."""

    schemas: dict[str, dict[str, Any]]
    required: frozenset[str]

    @classmethod
    def of(cls, spec: EndpointSpec) -> ModelFields:
        required = frozenset(spec.input_schema.get("required", []))
        return cls(field_schemas(spec), required)

    @property
    def names(self) -> list[str]:
        return sorted(self.schemas, key=lambda name: name not in self.required)


def _register_api(call: Any, api_name: str, doc: str, fields: ModelFields, pool: ParameterPool,
                  leading: Mapping[str, tuple[dict[str, Any], Any]] | None = None) -> None:
    """Give ``call`` the signature of ``/<api_name>`` — ``request``, the ``leading`` parameters (schema, default),
    then the model's fields — and register it as an API-only event over ``pool``'s shared components."""
    leading = leading or {}
    params = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                annotation=gr.Request)]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
               for name, (_, default) in leading.items()]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                 default=inspect.Parameter.empty if name in fields.required else None)
               for name in fields.names]
    call.__signature__ = inspect.Signature(params)
    call.__name__ = api_name
    call.__doc__ = doc
    root = gr.context.get_blocks_context()
    if root is None:
        raise RuntimeError(f"/{api_name} must be registered inside an open gr.Blocks() context")
    inputs: dict[str, Any] = {name: pool.get(name, schema) for name, (schema, _) in leading.items()}
    inputs |= {name: pool.get(name, fields.schemas[name]) for name in fields.names}
    root.set_event_trigger(
        [], call, [], [pool.result], inputs_kwargs=inputs,
        preprocess=False, postprocess=False, scroll_to_output=False, show_progress="hidden",
        api_name=api_name, js=None, concurrency_limit=None, queue=True, api_visibility="public",
    )


def add_model_api(spec: EndpointSpec, ctx: AppContext, pool: ParameterPool, fields: ModelFields | None = None) -> None:
    """``/<api_name>``: run ``spec`` like its Generate button would, returning the result JSON (no page component)."""
    form = WireForm(spec)
    fields = fields or ModelFields.of(spec)

    async def call(request: gr.Request | None = None, **values: Any) -> dict[str, Any]:
        final = None
        async for update in run_endpoint(spec, form, ctx, None, values, request):
            final = update
        result = final.result if final is not None and isinstance(final.result, dict) else {}
        record = result.get("record")
        return {k: v for k, v in result.items() if k != "record"} | (
            {"record": json.loads(record)} if isinstance(record, str) else {})

    doc = args_docstring(spec, fields.names).replace(
        "The run status, provider logs, the images with captions, and the result JSON.",
        "The result JSON: images (URLs), seed, request as sent, cost, and the run record.")
    _register_api(call, spec.api_name, doc, fields, pool)


#: The sweep's own parameters, before the model's fields: (schema, default).
SWEEP_PARAMETERS: dict[str, tuple[dict[str, Any], Any]] = {
    "x_field": ({"type": "string"}, None),
    "x_values": ({"type": "string"}, ""),
    "y_field": ({"anyOf": [{"type": "string"}, {"type": "null"}]}, None),
    "y_values": ({"anyOf": [{"type": "string"}, {"type": "null"}]}, None),
    "confirm_cost": ({"type": "boolean"}, None),
}


def add_model_sweep_api(spec: EndpointSpec, ctx: AppContext, pool: ParameterPool,
                        fields: ModelFields | None = None) -> None:
    """``/<api_name>_sweep``: the model's sweep through the Sweep section's own handler, returning
    ``{"summary", "cells", "hosts"}`` (no page component, no server path)."""

    _, sweep = sweep_handlers(spec, ctx=ctx, form=WireForm(spec))
    fields = fields or ModelFields.of(spec)

    async def call(request: gr.Request | None = None, x_field: str = "", x_values: Any = "",
                   y_field: str | None = None, y_values: Any = None, confirm_cost: bool = False,
                   **values: Any) -> dict[str, Any]:
        final = None
        async for update in sweep(request=request, x_field=x_field or default_axis_field(spec), x_values=x_values,
                                  y_field=y_field, y_values=y_values, confirm_cost=bool(confirm_cost), **values):
            final = update
        cells = final.cells if final is not None and isinstance(final.cells, list) else []
        records = [RunRecord.from_json(json.loads(cell["record"])) for cell in cells]
        return {
            "summary": outcome(records),
            "cells": [{k: v for k, v in cell.items() if k != "record"} | {"input": record.input}
                      for cell, record in zip(cells, records, strict=True)],
            "hosts": [row.to_json() for row in host_figures(records)],
        }

    doc = (
        f"Sweep {spec.title} ({spec.id}) over one or two axes.\n\nArgs:\n"
        "    x_field: the field of the X axis, 'endpoint', or 'provider' (the same model on each host that sells it).\n"
        "    x_values: a JSON list of values or the text syntax ('1-5 (+1)', '4 random seeds', 'all' providers).\n"
        "    y_field: the field of the optional Y axis.\n"
        "    y_values: its values, like x_values.\n"
        "    confirm_cost: must be true to run a sweep that a live provider will bill.\n"
        + args_docstring(spec, fields.names).split("Args:\n", 1)[1].split("\n\nReturns:", 1)[0]
        + "\n\nReturns:\n    summary, cells (each with its provider, latency and cost) and hosts (per provider: median "
        "latency and cost per image)."
    )
    _register_api(call, f"{spec.api_name}_sweep", doc, fields, pool, SWEEP_PARAMETERS)


def add_model_apis(ctx: AppContext, specs: Sequence[EndpointSpec] | None = None) -> None:
    """The named API endpoint of every model the Models tab reaches."""
    with gr.Column(visible=False):
        pool = ParameterPool()
        for spec in specs if specs is not None else model_endpoints():
            fields = ModelFields.of(spec)
            add_model_api(spec, ctx, pool, fields)
            add_model_sweep_api(spec, ctx, pool, fields)
