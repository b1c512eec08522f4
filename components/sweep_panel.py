"""The Sweep section of every tab and its API endpoint ``/<api_name>_sweep``: plan, confirm, run, grid.

A thin view over ``runs.sweep`` (axes and plans), ``runs.sweep_runner`` (cells through the run engine) and
``runs.grid`` (the labelled PNG and the ZIP). Every cell is an ordinary run with its own RunRecord.

The named endpoint returns exactly what the API promises — a status line, the grid image and the JSON list of
cells — and the page's cell gallery and downloads follow in a private step, so API clients download each image
once at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
from gradio.blocks import Block

from components.bind import bind
from components.context import SESSION_TTL_SECONDS, AppContext, ServerBusy, VisitorBusy
from components.endpoint_run import refusal
from components.endpoint_tab import EndpointTab
from components.form import FormError
from components.mcp_tools import add_sweep_tool
from endpoints.base import EndpointSpec
from providers.routing import Route
from runs.codegen import code_for, comment_text
from runs.compare import host_figures
from runs.job_times import steps_of
from runs.pricing import format_usd
from runs.record import RunRecord
from runs.sweep import (
    PROVIDER_FIELD,
    Axis,
    SweepError,
    SweepPlan,
    default_axis_field,
    parse_json_axis,
    plan_sweep,
    sweepable_fields,
)
from runs.sweep_cache import plan_with_cache
from runs.sweep_output import cell_json, compares_hosts, done_caption, grid_and_zip, image_size, sweep_record
from runs.sweep_runner import SweepUpdate, outcome, start_sweep

log = logging.getLogger(__name__)

NO_AXIS = "(none)"
UPDATE_SECONDS = 0.5  # at most two page updates a second while cells run
SYNTAX = (
    "Values: numbers `2, 3.5, 5` or ranges `1-5`, `1-5 (+2)`, `2-8 [4]` · choices `true, false` · sizes "
    "`landscape_4_3, 1024x768` · seeds `1, 2, 3` or `4 random seeds` · prompt search and replace "
    "`cat -> dog, fox` · axis `endpoint`: endpoint API names (`flux_pro, flux_dev_image_to_image`)."
)


class SweepPage(NamedTuple):
    """One update of the sweep section's outputs, in their order (``gr.skip()`` where one stays as it is)."""

    status: Any
    grid: Any
    cells: Any


@dataclass
class SweepOutputs:
    status: gr.HTML
    grid: gr.Image
    cells: gr.JSON
    run: Any  # the handler: an async generator of (status, grid, cells), for the MCP tool
    inputs: dict[str, Any]  # its API inputs by parameter name


def seconds_per_job(ctx: AppContext, route: Route, spec: EndpointSpec, wire: dict[str, Any]) -> float:
    """The time for one cell: what such jobs took here (same endpoint, route and steps), or until one has run, a
    rough guess: the sandbox's step time, or ~0.2 s a step plus start-up on a live provider (the steps read from the
    field playing the endpoint's steps role; 28 without one)."""
    steps = steps_of(spec, wire)
    seen = ctx.runner.job_times.typical(spec.id, route.is_sandbox, steps)
    if seen is not None:
        return seen
    steps = steps or 28
    per_step = ctx.sandbox_step_seconds if route.is_sandbox else 0.2
    return float(steps) * per_step + (0.5 if route.is_sandbox else 4.0)


def plan_inputs(values: dict[str, Any], x_field: str, x_values: Any, y_field: str | None, y_values: Any) -> str:
    """A fingerprint of what a plan was made from (the form and both axes)."""
    text = json.dumps([values, x_field, x_values, y_field, y_values], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def runs_at_once(ctx: AppContext, session: dict | None) -> dict[str, int]:
    """Cells each provider really runs at once, for the time estimate: our limit, and on the sandbox no more than
    its runners (a provider queues what it cannot run yet)."""
    out: dict[str, int] = {}
    for provider, limit in ctx.sweep_limits.concurrency.items():
        try:
            sandbox = ctx.backends.route(provider, session).is_sandbox
        except KeyError:  # no route for this provider: its cells are refused with the plan
            sandbox = False
        out[provider] = min(limit, ctx.sandbox_capacity) if sandbox else limit
    return out


def _progress_html(plan: SweepPlan, update: SweepUpdate | None) -> str:
    """A table of cells (rows = Y values, columns = X values), each with its state, and the overall line."""
    columns, rows = plan.shape
    head = "".join(f"<th>{html.escape(label)}</th>" for label in plan.x_axis.labels)
    body = []
    for y in range(rows):
        label = html.escape(plan.y_axis.labels[y]) if plan.y_axis else ""
        cells = []
        for x in range(columns):
            index = y * columns + x
            status = update.cells[index] if update else None
            state = status.state if status else "waiting"
            text = html.escape(status.caption() if status else "waiting")
            record = status.record if status else None
            images = ((record.result or {}).get("images") or []) if record is not None else []
            if record is not None and images and images[0].get("url", "").startswith(("http://", "https://")):
                caption = done_caption(plan, record)
                text = (f'<img src="{html.escape(images[0]["url"])}" alt="{html.escape(caption)}" loading="lazy">'
                        f"<br>{html.escape(caption)}")  # cells appear as they finish
            cells.append(f'<td class="fp-cell fp-{state}">{text}</td>')
        body.append(f"<tr><th>{label}</th>{''.join(cells)}</tr>")
    # Before the sweep runs, the plan's own line (``_plan_html``) says what this one would repeat.
    summary = f"<p>{html.escape(update.summary())}</p>" if update else ""
    bar = f'<progress max="1" value="{update.progress if update else 0:.3f}"></progress>'
    return (
        f'<div class="fp-sweep">{summary}{bar}<table><tr><th></th>{head}</tr>{"".join(body)}</table></div>'
    )


def hosts_table_html(records: tuple[RunRecord, ...] | list[RunRecord]) -> str:
    """Per provider: cells done, median latency (queued, running) and cost per image."""
    def seconds(value: float | None) -> str:
        return f"{value:.1f} s" if value is not None else "–"

    rows = []
    for row in host_figures(records):
        cost = format_usd(row.usd_per_image) if row.usd_per_image is not None else "unknown"
        rows.append(
            f"<tr><td>{html.escape(row.provider)}<br><code>{html.escape(row.endpoint_id)}</code></td>"
            f"<td>{row.done}/{row.cells}{f' ({row.cached} from cache)' if row.cached else ''}</td><td>{seconds(row.median_total)}</td><td>{seconds(row.median_queued)}</td>"
            f"<td>{seconds(row.median_running)}</td><td>{html.escape(cost)}</td></tr>"
        )
    return (
        '<table class="fp-hosts"><caption>Side by side: median latency and cost per image</caption>'
        "<tr><th>provider</th><th>done</th><th>median latency</th><th>queued</th><th>running</th>"
        f"<th>cost per image</th></tr>{''.join(rows)}</table>"
    )


def _final_html(plan: SweepPlan, update: SweepUpdate, stopped: bool) -> str:
    """What a finished or stopped sweep did: cells done, failed, stopped (cancelled remotely), cost and time; for
    a sweep across hosts, the side-by-side table of latency and cost."""
    head = "⏹ <b>Sweep stopped</b>" if stopped else "✅ <b>Sweep finished</b>"
    kept = " The finished cells, the grid and the ZIP are kept below." if stopped else ""
    table = hosts_table_html(update.records or ()) if compares_hosts(plan) else ""
    return f"<p>{head}: {html.escape(outcome(update.records or (), update.elapsed))}.{kept}</p>{table}"


def _plan_html(plan: SweepPlan, live: bool) -> str:
    lines = [f"<p>📋 <b>Plan</b>: {html.escape(plan.summary())}</p>"]
    if live:
        lines.append("<p>⚠️ This sweep runs on a live provider and will be billed: tick <b>Confirm</b> to run it.</p>")
    for endpoint_id, fields in plan.unmapped.items():
        if fields:
            lines.append(f"<p>Not carried to <code>{html.escape(endpoint_id)}</code>: {html.escape(', '.join(fields))}</p>")
    lines += [f"<p>{html.escape(note)}</p>" for note in plan.notes]
    return "".join(lines)


@dataclass
class SweepTarget:
    """What a sweep of one endpoint reads: the endpoint, what turns values into its input (the tab's form, or a
    ``WireForm`` for an API-only endpoint) and the app."""

    spec: EndpointSpec
    form: Any
    ctx: AppContext


def base_input(target: SweepTarget, values: dict[str, Any]) -> dict[str, Any]:
    try:
        return target.form.to_model(values).to_wire()
    except FormError as exc:
        raise refusal("Fix the form first: " + "; ".join(exc.messages), "Invalid input") from None


def make_plan(target: SweepTarget, values: dict[str, Any], session: dict | None, xf: str, xv: Any, yf: str | None,
              yv: Any, draw: int) -> tuple[SweepPlan, dict[str, Route]]:
    """The plan for these inputs; ``draw`` seeds every random choice (random seeds, the seed of an unset seed
    field), so the same inputs and ``draw`` give the same plan: Run sends the plan that Plan showed."""
    spec, ctx = target.spec, target.ctx
    base = base_input(target, values)
    cap = ctx.sweep_limits.max_cells
    rng = random.Random(draw)
    try:  # counted before anything is expanded: no more values than the cell limit leaves room for
        x = parse_json_axis(spec, xf, xv if not isinstance(xv, str) else xv.strip(), base, axis="X",
                            max_values=cap, rng=rng)
        y: Axis | None = None
        if yf and yf != NO_AXIS and (yv if not isinstance(yv, str) else yv.strip()):
            y = parse_json_axis(spec, yf, yv, base, axis="Y", max_values=max(1, cap // len(x)), rng=rng)
    except SweepError as exc:
        raise refusal("; ".join(exc.messages), "Sweep axis") from None
    routes: dict[str, Route] = {}

    def route_for(endpoint: EndpointSpec) -> Route:
        if endpoint.id not in routes:
            routes[endpoint.id] = ctx.backends.route(endpoint.provider, session)
        return routes[endpoint.id]

    limits = ctx.sweep_limits
    try:
        plan = plan_sweep(
            spec, base, x, y,
            cost_of=lambda s, w: ctx.runner.estimate(s, w, route_for(s)),
            seconds_per_job=lambda s, w: seconds_per_job(ctx, route_for(s), s, w),
            max_cells=limits.max_cells, concurrency=runs_at_once(ctx, session), rng=rng,
            max_grid_pixels=limits.max_grid_pixels,
        )
    except SweepError as exc:
        raise refusal("; ".join(exc.messages), "Sweep plan") from None
    for cell in plan.cells:
        route_for(cell.endpoint)
    return plan, routes


async def plan_off_loop(target: SweepTarget, values: dict[str, Any], session: dict | None, xf: str, xv: Any,
                        yf: str | None, yv: Any, draw: int) -> tuple[SweepPlan, dict[str, Route]]:
    """``make_plan`` in a worker thread: parsing and validating many values never holds up the event loop."""
    ctx = target.ctx
    plan, routes = await asyncio.to_thread(make_plan, target, values, session, xf, xv, yf, yv, draw)
    # Cells the result cache holds are counted apart: they run at $0.00 (sweeps pay only for new cells).
    plan = await plan_with_cache(
        plan, ctx.runner.cache, lambda endpoint: routes[endpoint.id],
        cost_of=lambda s, w: ctx.runner.estimate(s, w, routes[s.id]),
        seconds_per_job=lambda s, w: seconds_per_job(ctx, routes[s.id], s, w),
        concurrency=runs_at_once(ctx, session),
    )
    return plan, routes


def visitor_slot(ctx: AppContext, request: gr.Request | None) -> tuple[str, contextlib.AbstractContextManager[None]]:
    visitor = ctx.visitor(request)
    try:
        return visitor, ctx.visitor_slots.take(visitor)  # a sweep counts as one run
    except VisitorBusy as exc:
        raise refusal(str(exc), "Too many runs at once") from None


def sweep_slot(ctx: AppContext) -> contextlib.AbstractContextManager[None]:
    try:
        return ctx.sweep_slots.take()
    except ServerBusy as exc:
        raise refusal(str(exc), "Too many sweeps at once") from None


async def show_plan(target: SweepTarget, values: dict[str, Any], session_keys: dict | None,
                    request: gr.Request | None, x_field: str, x_values: Any, y_field: str | None,
                    y_values: Any) -> tuple[str, dict[str, Any]]:
    """The plan, its cost and time, nothing sent; and what it was made from, so Run sends this plan."""
    draw = random.SystemRandom().randrange(2**63)
    with visitor_slot(target.ctx, request)[1]:
        plan, routes = await plan_off_loop(target, values, session_keys, x_field, x_values, y_field, y_values, draw)
    live = any(not r.is_sandbox for r in routes.values())
    shown = {"inputs": plan_inputs(values, x_field, x_values, y_field, y_values), "draw": draw}
    return _plan_html(plan, live) + _progress_html(plan, None), shown


async def run_sweep(target: SweepTarget, values: dict[str, Any], session_keys: dict | None,
                    request: gr.Request | None, x_field: str, x_values: Any, y_field: str | None, y_values: Any,
                    confirm_cost: bool, planned: dict[str, Any] | None) -> AsyncGenerator[SweepPage, None]:
    """Plan (the plan shown, when the inputs are the same), check the budget, run the cells, and end with the grid,
    the ZIP and the sweep's history entry — also when stopped, with what finished."""
    ctx, name = target.ctx, target.spec.api_name
    files = ctx.sweep_files
    visitor, slot = visitor_slot(ctx, request)  # taken before any planning: one visitor, one sweep's worth of work
    with slot, sweep_slot(ctx):
        # The plan shown (and confirmed) is the plan that runs: same inputs, same random draws.
        same = isinstance(planned, dict) and planned.get("inputs") == plan_inputs(
            values, x_field, x_values, y_field, y_values)
        draw = int(planned["draw"]) if same and planned else random.SystemRandom().randrange(2**63)
        plan, routes = await plan_off_loop(target, values, session_keys, x_field, x_values, y_field, y_values, draw)
        live = any(not r.is_sandbox for r in routes.values())
        if live and not confirm_cost:
            yield SweepPage(_plan_html(plan, live), gr.skip(), gr.skip())
            raise refusal(f"This sweep is billed ({plan.summary()}): confirm the estimated cost to run it.",
                          "Confirm the cost")
        await ctx.check_budget(visitor, list(routes.values()), plan.run_cost or plan.estimated_cost)
        started = time.time()
        run = start_sweep(plan, ctx.runner, lambda endpoint: routes[endpoint.id],
                          concurrency=ctx.sweep_limits.concurrency, visitor=visitor,
                          media_url=ctx.media_url_for(request))
        key = ctx.active_key(request, f"{name}_sweep")
        ctx.active_sweeps[key] = run
        last = 0.0
        try:
            async for update in run.updates():
                if update.records is None:
                    if time.monotonic() - last >= UPDATE_SECONDS:
                        last = time.monotonic()
                        yield SweepPage(_plan_html(plan, False) + _progress_html(plan, update), gr.skip(), gr.skip())
                    continue
                # Finished or stopped, the sweep keeps what finished: grid (missing cells marked), ZIP, history.
                await ctx.runner.await_images(update.records)  # live cells' images still being copied
                grid_path, zip_path = await asyncio.to_thread(
                    grid_and_zip, ctx.runner, plan, update.records, files, ctx.sweep_limits.max_grid_pixels,
                    update.elapsed)
                grid_bytes = await asyncio.to_thread(Path(grid_path).read_bytes)
                stored = await ctx.runner.media.save(grid_bytes, "image/png")
                size = await asyncio.to_thread(image_size, grid_path)
                first_route = next(iter(routes.values()))
                entry = sweep_record(plan, base_input(target, values), update.records, first_route, stored.name,
                                     ctx.media_url_for(request)(stored.name), size, started=started)
                files.keep(plan.id, [grid_path, zip_path], entry.to_json())
                cells_out = [cell_json(r) for r in update.records]
                stopped = run.stop_requested and any(r.state == "stopped" for r in update.records)
                yield SweepPage(_final_html(plan, update, stopped) + _plan_html(plan, False)
                                + _progress_html(plan, update), grid_path, cells_out)
        finally:
            if ctx.active_sweeps.get(key) is run:
                del ctx.active_sweeps[key]


def sweep_handlers(spec: EndpointSpec, form: Any, ctx: AppContext) -> tuple[Any, Any]:
    """The Plan and Run handlers of ``spec``'s sweep, as the events and the API see them: named after the endpoint,
    documented, taking the form's values as keywords (``form.declare_api_parameters`` names them). They hand over
    to ``show_plan`` and ``run_sweep``."""
    target = SweepTarget(spec, form, ctx)
    default_x = default_axis_field(spec)

    async def plan(session_keys: dict | None = None, request: gr.Request | None = None,
                   x_field: str = "", x_values: str = "", y_field: str | None = None, y_values: str = "",
                   **values: Any) -> tuple[str, dict[str, Any]]:
        return await show_plan(target, values, session_keys, request, x_field, x_values, y_field, y_values)

    async def sweep(session_keys: dict | None = None, request: gr.Request | None = None,
                    x_field: str = default_x, x_values: Any = "", y_field: str | None = None, y_values: Any = None,
                    confirm_cost: bool = False, planned: dict[str, Any] | None = None,
                    **values: Any) -> AsyncIterator[SweepPage]:
        # aclosing: when Gradio closes this generator (the page went away), the sweep's cleanup runs at once.
        async with contextlib.aclosing(run_sweep(target, values, session_keys, request, x_field, x_values, y_field,
                                                 y_values, confirm_cost, planned)) as pages:
            async for page in pages:
                yield page

    sweep.__name__ = f"{spec.api_name}_sweep_page"
    sweep._mcp_type = "page"  # type: ignore[attr-defined]  # the MCP tool is components/mcp_tools.add_sweep_tool
    sweep.__doc__ = (
        f"Sweep {spec.title} ({spec.id}) over one or two axes.\n\nArgs:\n"
        "    x_field: the field of the X axis, or 'endpoint'.\n"
        "    x_values: a JSON list of values (or the text syntax: '1-5 (+1)', '4 random seeds', 'cat -> dog').\n"
        "    y_field: the field of the optional Y axis.\n"
        "    y_values: its values, like x_values.\n"
        "    confirm_cost: must be true to run a sweep that a live provider will bill.\n"
    )
    return plan, sweep


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
    cell_note: gr.Markdown
    cell_code: gr.Code
    cell_records: gr.State  # the last sweep's cell records
    whole_sweep: gr.State  # the sweep as one history entry (a RunRecord JSON)
    planned: gr.State  # the plan shown: its inputs and random draws


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


def page_views(view: SweepView, cells_out: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    """The cell gallery, downloads, the cells' records and the sweep's history entry, from the cell list."""
    if not cells_out:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    files = view.ctx.sweep_files
    records = [json.loads(c["record"]) for c in cells_out]
    sweep_id = (records[0].get("sweep") or {}).get("id") if records else None
    items = []
    for c in cells_out:
        images = (c.get("result") or {}).get("images") or []
        record = next(r for r in records if (r.get("sweep") or {}).get("x_index") == c["x_index"]
                      and (r.get("sweep") or {}).get("y_index") == c["y_index"])
        stored = ((record.get("result") or {}).get("images") or [{}])[0].get("file")
        path = view.ctx.runner.media.path_of(stored) if stored else None
        if images:
            items.append((str(path) if path else images[0]["url"], f"x={c['x']} · y={c['y']} · {c['state']}"))
    return items, files.files(sweep_id or ""), records, files.take_entry(sweep_id or "")


async def stop_sweep(view: SweepView, request: gr.Request) -> Any:
    """Stop the visitor's sweep: unfinished cells are cancelled remotely, and the sweep itself then ends as
    usual with what finished (its status, partial grid, ZIP, history entry and cost). The event is not
    cancelled, so nothing that finished is thrown away."""
    run = view.ctx.active_sweeps.get(view.ctx.active_key(request, f"{view.spec.api_name}_sweep"))
    if run is None:
        return "<p>No sweep is running.</p>"
    await run.stop()
    return gr.skip()  # the sweep's own last update says what happened


def open_cell(view: SweepView, records: list[dict[str, Any]], evt: gr.SelectData) -> dict[Any, Any]:
    """A clicked cell: restored into the form (same endpoint), its seed with it, and its request as code."""
    done = [r for r in records if (r.get("result") or {}).get("images")]
    if evt.index is None or evt.index >= len(done):
        return {view.status: gr.skip()}
    record = done[evt.index]
    sweep = record.get("sweep") or {}
    out: dict[Any, Any] = {view.cell_code_section: gr.Accordion(open=True)}
    try:
        snippets = code_for(RunRecord.from_json(record), app_url=None)
        out[view.cell_code] = snippets.get("python", "")
    except ValueError as exc:
        out[view.cell_code] = f"# no code for this cell: {comment_text(str(exc))}"  # one comment line, whatever it says
    where = f"x={sweep.get('x')}, y={sweep.get('y')} · seed {(record.get('result') or {}).get('seed')}"
    if record.get("endpoint_id") != view.spec.id:
        out[view.cell_note] = f"Cell {where} ran on `{record.get('endpoint_id')}`: restore it from the history."
        return out
    out[view.cell_note] = f"Cell {where} restored into the form."
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
                      elem_id=f"{name}-sweep"):
        providers = " · axis `provider`: `all`, or provider names (`fal, bfl`)" if PROVIDER_FIELD in fields else ""
        gr.Markdown(SYNTAX + providers, elem_classes=["field-help"])
        with gr.Row():
            x_field = gr.Dropdown(fields, value=default_axis_field(spec), label="X axis", interactive=True,
                                  scale=1, elem_id=f"{name}-sweep-x-field")
            x_values = gr.Textbox(label="X values", interactive=True, placeholder="e.g. 4 random seeds", scale=2,
                                  elem_id=f"{name}-sweep-x-values")
        with gr.Row():
            y_field = gr.Dropdown([NO_AXIS, *fields], value=NO_AXIS, label="Y axis (optional)", interactive=True,
                                  scale=1, elem_id=f"{name}-sweep-y-field")
            y_values = gr.Textbox(label="Y values", interactive=True, placeholder="e.g. 2, 3.5, 5", scale=2,
                                  elem_id=f"{name}-sweep-y-values")
        with gr.Row():
            confirm = gr.Checkbox(False, label="Confirm: I accept the estimated cost (live providers only)",
                                  interactive=True, scale=2, elem_id=f"{name}-sweep-confirm")
            plan_button = gr.Button("Plan", size="sm", scale=1, elem_id=f"{name}-sweep-plan")
            run_button = gr.Button("Run sweep", variant="primary", size="sm", scale=1, elem_id=f"{name}-sweep-run")
            stop_button = gr.Button("Stop sweep", variant="stop", size="sm", scale=1, elem_id=f"{name}-sweep-stop")
        status = gr.HTML("<p>Pick the axes, then <b>Plan</b> to see jobs, cost and time before anything runs.</p>",
                         label="Sweep status", elem_id=f"{name}-sweep-status")
        # The label above, not Gradio's label drawn over the image's top (the grid's own title and column labels).
        gr.Markdown("**Grid** — labelled; its download is a PNG carrying the sweep's parameters.",
                    elem_classes=["field-help"])
        grid = gr.Image(label="Grid (labelled; downloads as PNG with the sweep's parameters)", show_label=False,
                        type="filepath", interactive=False, elem_id=f"{name}-sweep-grid", elem_classes=["fp-grid"])
        gr.Markdown("**Cells** — click one to restore it into the form.", elem_classes=["field-help"])
        cells_gallery = gr.Gallery(label="Cells (click one to restore it into the form)", show_label=False,
                                   columns=4, height=360,
                                   allow_preview=False, object_fit="contain", elem_id=f"{name}-sweep-cells")
        downloads = gr.File(label="Downloads: the grid PNG and a ZIP of every cell with its metadata",
                            file_count="multiple", interactive=False, elem_id=f"{name}-sweep-files")
        with gr.Accordion("The clicked cell: its run as code", open=False) as cell_code_section:
            cell_note = gr.Markdown("Click a cell above: it is restored into the form, and its exact request shows "
                                    "here as code.")
            cell_code = gr.Code(language="python", label="Python (fal_client / requests)", interactive=False,
                                elem_id=f"{name}-sweep-cell-code")
        with gr.Accordion("Cells as JSON", open=False):
            cells = gr.JSON(label="Cells", elem_id=f"{name}-sweep-json")
    cell_records = gr.State([], time_to_live=SESSION_TTL_SECONDS)
    whole_sweep = gr.State(None, time_to_live=SESSION_TTL_SECONDS)
    planned = gr.State(None, time_to_live=SESSION_TTL_SECONDS)
    view = SweepView(ctx, spec, tab.form, status, grid, cells, cells_gallery, downloads, cell_code_section, cell_note,
                     cell_code, cell_records, whole_sweep, planned)
    controls = SweepControls(x_field, x_values, y_field, y_values, confirm, plan_button, run_button, stop_button)
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
                                        api_visibility="private")
    tab.sweep_record = view.whole_sweep
    controls.stop.click(bind(stop_sweep, view), outputs=[view.status], api_visibility="private", queue=False)
    view.cells_gallery.select(bind(open_cell, view), [view.cell_records],
                              [view.status, view.cell_code_section, view.cell_note, view.cell_code,
                               *form.value_components().values()], api_visibility="private")
    tab.sweep_event = event
    tab.sweep_records = view.cell_records
    api_inputs = {**sweep_inputs, "confirm_cost": controls.confirm}
    if ctx.mcp:
        add_sweep_tool(spec, form, ctx, sweep, api_inputs)
    return SweepOutputs(view.status, view.grid, view.cells, sweep, api_inputs)
