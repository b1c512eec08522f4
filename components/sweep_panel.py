"""The Sweep section of every tab and its API endpoint ``/<api_name>_sweep``: plan, confirm, run, grid.

The section's layout, its views and wiring. A sweep's handlers (plan, run, budget, the grid and ZIP it leaves) are
in ``components.sweep_run`` and its status HTML in ``components.sweep_status``, over ``runs.sweep`` (axes and
plans), ``runs.sweep_runner`` (cells through the run engine) and ``runs.sweep_output`` (the labelled PNG and the
ZIP). Every cell is an ordinary run with its own RunRecord.

The named endpoint returns exactly what the API promises — a status line, the grid image and the JSON list of
cells — and the page's cell gallery and downloads follow in a private step, so API clients download each image
once at most.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.blocks import Block

from components.after_record import CHAINED_TRIGGER_MODE
from components.bind import bind
from components.context import SESSION_TTL_SECONDS, AppContext
from components.endpoint_run import browser_url
from components.endpoint_tab import EndpointTab
from components.history_state import RestoredAxes
from components.markdown_blocks import code_view, shown_code
from components.mcp_tools import add_sweep_tool
from components.prose import Prose
from components.run_view import origin_html
from components.sweep_run import (
    NO_AXIS,
    sweep_handlers,
)
from endpoints.base import EndpointSpec
from runs.codegen import code_for, comment_text
from runs.record import RunRecord
from runs.sweep import (
    PROVIDER_FIELD,
    axis_example,
    default_axis_field,
    sweepable_fields,
)

log = logging.getLogger(__name__)

SYNTAX = (
    "Values: numbers `2, 3.5, 5` or ranges `1-5`, `1-5 (+2)`, `2-8 [4]` · choices `true, false` · sizes "
    "`landscape_4_3, 1024x768` · seeds `1, 2, 3` or `4 random seeds` · prompt search and replace "
    "`cat -> dog, fox` · axis `endpoint`: endpoint API names (`flux_pro, flux_dev_image_to_image`)."
)

# The values box's placeholder follows the axis picked (``axis_example``): set by the page's own script as the box
# gets the focus (``app.HEAD``), from this table of every endpoint's examples. Not an event per axis picker: each
# event on the first page costs its load ~20 ms (benchmarks/README, stop 51), and two cost ~35 ms here.
def axis_examples_script(specs: Sequence[EndpointSpec]) -> str:
    """``window.__fpAxisExamples``: for each endpoint's API name, each sweepable field's example values."""
    table = {spec.api_name: {name: example for name in sweepable_fields(spec)
                             if (example := axis_example(spec, name))} for spec in specs}
    return ("<script>window.__fpAxisExamples = "
            + json.dumps(table, separators=(",", ":")).replace("</", "<\\/") + ";</script>")


@dataclass
class SweepOutputs:
    status: gr.HTML
    grid: gr.Image
    cells: gr.JSON
    run: Any  # the handler: an async generator of (status, grid, cells), for the MCP tool
    inputs: dict[str, Any]  # its API inputs by parameter name


@dataclass
class SweepView:
    """A tab's Sweep section: its components, and what its handlers reach beyond them."""

    ctx: AppContext
    spec: EndpointSpec
    form: Any  # the tab's EndpointForm
    status: gr.HTML
    grid: gr.Image
    cells: gr.JSON
    cells_gallery: gr.Gallery
    downloads: gr.File
    cell_code_section: gr.Accordion
    cell_note: Prose
    cell_code: gr.Markdown  # a fenced Python block (markdown_blocks)
    cell_records: gr.State  # the last sweep's cell records
    whole_sweep: gr.State  # the sweep as one history entry (a RunRecord JSON)
    planned: gr.State  # the plan shown: its inputs and random draws
    run_status: gr.HTML | None = None  # the tab's status line (a restored cell says so there, as a restored run)


@dataclass
class SweepControls:
    x_field: gr.Dropdown
    x_values: gr.Textbox
    y_field: gr.Dropdown
    y_values: gr.Textbox
    confirm: gr.Checkbox
    plan: gr.Button
    run: gr.Button
    stop: gr.Button


@dataclass(frozen=True)
class AxisBoxes:
    """The section and its axes' boxes, as a sweep restored from the history fills them."""

    section: gr.Accordion
    x_field: gr.Dropdown
    x_values: gr.Textbox
    y_field: gr.Dropdown
    y_values: gr.Textbox

    def outputs(self) -> list[Any]:
        return [self.section, self.x_field, self.x_values, self.y_field, self.y_values]

    def _values(self, axes: RestoredAxes) -> dict[Any, Any]:
        if axes.x_field is None:  # nothing to restore: the boxes stay as they are
            return {}
        return {self.x_field: axes.x_field, self.x_values: axes.x_text, self.y_field: axes.y_field or NO_AXIS,
                self.y_values: axes.y_text or ""}

    def updates(self, axes: RestoredAxes) -> dict[Any, Any]:
        """For a drawn tab: the axes in their boxes, the section opened."""
        values = self._values(axes)
        return {**values, self.section: gr.Accordion(open=True)} if values else {}

    def fill(self, axes: RestoredAxes) -> None:
        """For a tab being drawn (inside ``gr.render``): the boxes start at the axes, the section open."""
        values = self._values(axes)
        for component, value in values.items():
            component.value = value
        if values:
            self.section.open = True


def cell_place(cell: dict[str, Any], axes: dict[str, Any] | None = None) -> str:
    """Where a cell sits, in the words of the table and the grid (``axes``: the sweep entry's ``sweep``, with each
    axis's labels): ``seed = 1 · guidance_scale = 2``; ``x=1 · y=2`` without them; no Y part with no Y axis."""
    parts = []
    for axis, index, value in (("x", cell.get("x_index"), cell.get("x")), ("y", cell.get("y_index"), cell.get("y"))):
        labels = ((axes or {}).get(axis) or {}).get("labels") or []
        if isinstance(index, int) and 0 <= index < len(labels):
            parts.append(str(labels[index]))
        elif value is not None:
            parts.append(f"{axis}={value}")
    return " · ".join(parts)


def page_views(view: SweepView, cells_out: list[dict[str, Any]] | None,
               request: gr.Request | None = None) -> tuple[Any, ...]:
    """The cell gallery, downloads, the cells' records and the sweep's history entry, from the cell list (the
    grid's files and the entry only for the session that ran the sweep)."""
    if not cells_out:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    files = view.ctx.sweep_files
    owner = getattr(request, "session_hash", None)
    records = [json.loads(c["record"]) for c in cells_out]
    sweep_id = (records[0].get("sweep") or {}).get("id") if records else None
    entry = files.take_entry(sweep_id or "", owner)
    axes = (entry or {}).get("sweep") if isinstance(entry, dict) else None
    items = []
    for c in cells_out:
        images = (c.get("result") or {}).get("images") or []
        record = next(r for r in records if (r.get("sweep") or {}).get("x_index") == c["x_index"]
                      and (r.get("sweep") or {}).get("y_index") == c["y_index"])
        stored = ((record.get("result") or {}).get("images") or [{}])[0].get("file")
        path = view.ctx.runner.media.path_of(stored) if isinstance(stored, str) else None
        # The cells come from the page: only a stored image (a checked name) or a URL, never a path it names.
        first = images[0] if images and isinstance(images[0], dict) else {}
        shown = str(path) if path else browser_url(first.get("url"))
        if shown:
            state = "" if c["state"] == "done" else f" · {c['state']}"  # short enough for four columns
            items.append((shown, f"{cell_place(c, axes)}{state}"))
    return items, files.files(sweep_id or "", owner), records, entry


async def stop_sweep(view: SweepView, request: gr.Request) -> Any:
    """Stop the visitor's sweep: unfinished cells are cancelled remotely, and the sweep itself then ends as
    usual with what finished (its status, partial grid, ZIP, history entry and cost). The event is not
    cancelled, so nothing that finished is thrown away."""
    run = view.ctx.active_sweeps.get(view.ctx.sweep_key(request, view.spec.api_name))
    if run is None:
        return "<p>No sweep is running.</p>"
    await run.stop()
    return gr.skip()  # the sweep's own last update says what happened


def show_all(count: int) -> Callable[[], list[Any]]:
    def show() -> list[Any]:
        return [gr.update(visible=True)] * count
    return show


def open_cell(view: SweepView, records: list[dict[str, Any]], whole_sweep: dict[str, Any] | None,
              evt: gr.SelectData) -> dict[Any, Any]:
    """A clicked cell: restored into the form (same endpoint), its seed with it, and its request as code; named in
    the words of the grid (``whole_sweep``: the sweep's history entry, with each axis's labels)."""
    done = [r for r in records if (r.get("result") or {}).get("images")]
    if evt.index is None or evt.index >= len(done):
        return {view.status: gr.skip()}
    record = done[evt.index]
    sweep = record.get("sweep") or {}
    out: dict[Any, Any] = {view.cell_code_section: gr.Accordion(open=True)}
    try:
        # Aimed at the provider's public service, as every other code view (the sandbox's address, a random port,
        # is good for this process only; a comment says how to try the code on a sandbox).
        snippets = code_for(RunRecord.from_json(record), app_url=None, public=True)
        out[view.cell_code] = shown_code(snippets.get("python", ""), "python")
    except ValueError as exc:  # one comment line, whatever it says
        out[view.cell_code] = shown_code(f"# no code for this cell: {comment_text(str(exc))}", "python")
    axes = whole_sweep.get("sweep") if isinstance(whole_sweep, dict) else None
    where = f"{cell_place(sweep, axes)} (seed {(record.get('result') or {}).get('seed')})"
    if record.get("endpoint_id") != view.spec.id:
        out[view.cell_note] = f"Cell {where} ran on `{record.get('endpoint_id')}`: restore it from the history."
        return out
    out[view.cell_note] = f"Cell {where} restored into the form."
    if view.run_status is not None:
        out[view.run_status] = origin_html(f"↩ Restored from your sweep's cell {where}.")
    return {**out, **view.form.updates(record.get("input") or {})}


def build_sweep_section(tab: EndpointTab, ctx: AppContext, session_keys: gr.State) -> SweepOutputs:
    """The Sweep accordion of a tab and its ``/<api_name>_sweep`` endpoint. Call inside the tab's layout."""
    view, controls = layout(tab, ctx)
    return wire(tab, view, controls, session_keys)


def layout(tab: EndpointTab, ctx: AppContext) -> tuple[SweepView, SweepControls]:
    spec = tab.spec
    fields = sweepable_fields(spec)
    name = spec.api_name
    over = "seeds, prompts, endpoints or providers" if PROVIDER_FIELD in fields else "seeds, prompts or endpoints"
    with gr.Accordion(f"📊 Sweep — a labelled grid over any parameter, {over}", open=False,
                      elem_id=f"{name}-sweep") as section:
        providers = " · axis `provider`: `all`, or provider names (`fal, bfl`)" if PROVIDER_FIELD in fields else ""
        Prose(SYNTAX + providers, elem_classes=["field-help"])
        with gr.Row():
            x_field = gr.Dropdown(fields, value=default_axis_field(spec), label="X axis", interactive=True,
                                  scale=1, elem_id=f"{name}-sweep-x-field")
            x_values = gr.Textbox(label="X values", interactive=True,
                                  placeholder=axis_example(spec, default_axis_field(spec)), scale=2,
                                  max_lines=1, elem_id=f"{name}-sweep-x-values")  # one line: an <input>
        with gr.Row():
            y_field = gr.Dropdown([NO_AXIS, *fields], value=NO_AXIS, label="Y axis (optional)", interactive=True,
                                  scale=1, elem_id=f"{name}-sweep-y-field")
            y_values = gr.Textbox(label="Y values", interactive=True, placeholder="e.g. 2, 3.5, 5", scale=2,
                                  max_lines=1, elem_id=f"{name}-sweep-y-values")  # one line: an <input>
        with gr.Row():
            confirm = gr.Checkbox(False, label="Confirm: I accept the estimated cost (live providers only)",
                                  interactive=True, scale=2, elem_id=f"{name}-sweep-confirm")
            plan_button = gr.Button("Plan", size="sm", scale=1, elem_id=f"{name}-sweep-plan")
            run_button = gr.Button("Run sweep", variant="primary", size="sm", scale=1, elem_id=f"{name}-sweep-run")
            stop_button = gr.Button("Stop sweep", variant="stop", size="sm", scale=1, elem_id=f"{name}-sweep-stop")
        status = gr.HTML("<p>Pick the axes, then <b>Plan</b> to see jobs, cost and time before anything runs.</p>",
                         label="Sweep status", elem_id=f"{name}-sweep-status",
                         elem_classes=["fp-status"])  # no "Error" pill over it: the line says what failed
        # The label above, not Gradio's label drawn over the image's top (the grid's own title and column labels).
        grid_title = Prose("**Grid** — labelled; its download is a PNG carrying the sweep's parameters.",
                           elem_classes=["field-help"], visible=False)
        grid = gr.Image(label="Grid (labelled; downloads as PNG with the sweep's parameters)", show_label=False,
                        type="filepath", interactive=False, visible=False, elem_id=f"{name}-sweep-grid",
                        elem_classes=["fp-grid"])
        cells_title = Prose("**Cells** — click one to restore it into the form.", elem_classes=["field-help"],
                            visible=False)
        cells_gallery = gr.Gallery(label="Cells (click one to restore it into the form)", show_label=False,
                                   columns=4, height=360, fit_columns=False,  # 2 cells: two quarter-width
                                   # tiles, not two half-width ones cut off by the height, their captions unseen
                                   allow_preview=False, object_fit="contain", visible=False,
                                   elem_id=f"{name}-sweep-cells", elem_classes=["fp-sweep-cells"])
        downloads = gr.File(label="Downloads: the grid PNG and a ZIP of every cell with its metadata",
                            file_count="multiple", interactive=False, visible=False, elem_id=f"{name}-sweep-files")
        with gr.Accordion("The clicked cell: its run as code", open=False) as cell_code_section:
            cell_note = Prose("Click a cell above: it is restored into the form, and its exact request shows "
                              "here as code.")
            cell_code = code_view(f"{name}-sweep-cell-code")
        with gr.Accordion("Cells as JSON", open=False):
            cells = gr.JSON(label="Cells", visible=False, elem_id=f"{name}-sweep-json")
    # The grid, the cells, the downloads and the JSON show when a sweep is run: hidden at load, since the page loads
    # the module of every component type it shows before drawing anything (image, gallery, file, JSON); and not
    # shown as the section opens, where they were three empty boxes under a sweep not yet run.
    shown = [grid_title, grid, cells_title, cells_gallery, downloads, cells]
    run_button.click(show_all(len(shown)), None, shown, api_visibility="private", queue=False, show_progress="hidden")
    cell_records = gr.State([], time_to_live=SESSION_TTL_SECONDS)
    whole_sweep = gr.State(None, time_to_live=SESSION_TTL_SECONDS)
    planned = gr.State(None, time_to_live=SESSION_TTL_SECONDS)
    view = SweepView(ctx, spec, tab.form, status, grid, cells, cells_gallery, downloads, cell_code_section, cell_note,
                     cell_code, cell_records, whole_sweep, planned, run_status=tab.status)
    controls = SweepControls(x_field, x_values, y_field, y_values, confirm, plan_button, run_button, stop_button)
    tab.sweep_boxes = AxisBoxes(section, x_field, x_values, y_field, y_values)
    return view, controls


def wire(tab: EndpointTab, view: SweepView, controls: SweepControls, session_keys: gr.State) -> SweepOutputs:
    """Plan, Run (the named ``/<api_name>_sweep`` endpoint), Stop, a clicked cell; the tab learns of each sweep
    (``tab.sweep_record_event``) for its history and session total."""
    spec, form, ctx = view.spec, view.form, view.ctx
    plan, sweep = sweep_handlers(spec, form, ctx)
    form.declare_api_parameters(sweep)
    form.declare_api_parameters(plan)
    sweep_inputs: dict[str, Block] = {**form.run_inputs(), "session_keys": session_keys,
                                      "x_field": controls.x_field, "x_values": controls.x_values,
                                      "y_field": controls.y_field, "y_values": controls.y_values}
    controls.plan.click(plan, inputs_kwargs=sweep_inputs, outputs=[view.status, view.planned],
                        api_visibility="private", show_progress_on=[view.status])
    event = controls.run.click(sweep, inputs_kwargs={**sweep_inputs, "confirm_cost": controls.confirm,
                                                     "planned": view.planned},
                               outputs=[view.status, view.grid, view.cells], api_name=f"{spec.api_name}_sweep",
                               concurrency_limit=None, show_progress="minimal", show_progress_on=[view.status])
    tab.sweep_record_event = event.then(bind(page_views, view), [view.cells],
                                        [view.cells_gallery, view.downloads, view.cell_records, view.whole_sweep],
                                        api_visibility="private", trigger_mode=CHAINED_TRIGGER_MODE)
    tab.sweep_record = view.whole_sweep
    controls.stop.click(bind(stop_sweep, view), outputs=[view.status], api_visibility="private", queue=False)
    view.cells_gallery.select(bind(open_cell, view), [view.cell_records, view.whole_sweep],
                              [view.status, tab.status, view.cell_code_section, view.cell_note, view.cell_code,
                               *form.value_components().values()], api_visibility="private")
    api_inputs = {**sweep_inputs, "confirm_cost": controls.confirm}
    if ctx.mcp:
        add_sweep_tool(spec, form, ctx, sweep, api_inputs)
    return SweepOutputs(view.status, view.grid, view.cells, sweep, api_inputs)
