"""A sweep as page updates: the Plan and Run handlers of ``/<api_name>_sweep`` (``sweep_handlers``), planning off the
event loop, the visitor's and the server's sweep slots, the budget check, and the grid, ZIP and history entry a
finished or stopped sweep leaves. ``sweep_panel`` lays the section out and wires these to it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr

from components.context import AppContext, ServerBusy, VisitorBusy
from components.endpoint_run import refusal
from components.form import FormError
from components.sweep_status import final_html, plan_html, progress_html
from endpoints.base import EndpointSpec
from providers.routing import Route
from runs.input_sizes import InputSizes
from runs.job_times import steps_of
from runs.sweep import (
    Axis,
    SweepError,
    SweepPlan,
    default_axis_field,
    parse_json_axis,
    plan_sweep,
)
from runs.sweep_cache import plan_with_cache
from runs.sweep_output import cell_json, grid_and_zip, image_size, sweep_record
from runs.sweep_runner import start_sweep

NO_AXIS = "(none)"  # the Y axis field when there is none
UPDATE_SECONDS = 0.5  # at most two page updates a second while cells run


class SweepPage(NamedTuple):
    """One update of the sweep section's outputs, in their order (``gr.skip()`` where one stays as it is)."""

    status: Any
    grid: Any
    cells: Any


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
              yv: Any, draw: int, input_sizes: InputSizes | None = None) -> tuple[SweepPlan, dict[str, Route]]:
    """The plan for these inputs; ``draw`` seeds every random choice (random seeds, the seed of an unset seed
    field), so the same inputs and ``draw`` give the same plan: Run sends the plan that Plan showed. Input images a
    price counts are measured through ``input_sizes`` (file reads: call it off the event loop)."""
    spec, ctx = target.spec, target.ctx
    sizes = input_sizes or InputSizes(ctx.runner.upload_roots)
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
            cost_of=lambda s, w: ctx.runner.estimate(s, w, route_for(s), input_sizes=sizes(s, w)),
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
    sizes = InputSizes(ctx.runner.upload_roots)  # each cell's input images read in the thread, kept for below
    plan, routes = await asyncio.to_thread(make_plan, target, values, session, xf, xv, yf, yv, draw, sizes)
    # Cells the result cache holds are counted apart: they run at $0.00 (sweeps pay only for new cells).
    plan = await plan_with_cache(
        plan, ctx.runner.cache, lambda endpoint: routes[endpoint.id],
        cost_of=lambda s, w: ctx.runner.estimate(s, w, routes[s.id], input_sizes=sizes(s, w)),
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
    try:
        with visitor_slot(target.ctx, request)[1]:
            plan, routes = await plan_off_loop(target, values, session_keys, x_field, x_values, y_field, y_values,
                                               draw)
    except gr.Error as exc:  # said in the sweep's status, under the button pressed (a page-only step: no caller)
        return not_sent_html(exc), gr.skip()
    live = any(not r.is_sandbox for r in routes.values())
    shown = {"inputs": plan_inputs(values, x_field, x_values, y_field, y_values), "draw": draw}
    return plan_html(plan, live) + progress_html(plan, None), shown


def not_sent_html(exc: gr.Error) -> str:
    """A sweep refused before anything was sent, for its status line: what to fix."""
    return (f'<div class="fp-failed"><p>❌ <b>Not sent</b> ({html.escape(exc.title)}): '
            f"{html.escape(exc.message)}</p></div>")


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
        try:
            plan, routes = await plan_off_loop(target, values, session_keys, x_field, x_values, y_field, y_values,
                                               draw)
        except gr.Error as exc:  # in the status line too, where the page's eye is, as well as the caller's error
            yield SweepPage(not_sent_html(exc), gr.skip(), gr.skip())
            raise
        live = any(not r.is_sandbox for r in routes.values())
        if live and not confirm_cost:
            yield SweepPage(plan_html(plan, live), gr.skip(), gr.skip())
            raise refusal(f"This sweep is billed ({plan.summary()}): confirm the estimated cost to run it.",
                          "Confirm the cost")
        await ctx.check_budget(visitor, list(routes.values()), plan.run_cost or plan.estimated_cost)
        started = time.time()
        run = start_sweep(plan, ctx.runner, lambda endpoint: routes[endpoint.id],
                          concurrency=ctx.sweep_limits.concurrency, visitor=visitor,
                          media_url=ctx.media_url_for(request))
        key = ctx.sweep_key(request, name)
        ctx.active_sweeps[key] = run
        last = 0.0
        try:
            async for update in run.updates():
                if update.records is None:
                    if time.monotonic() - last >= UPDATE_SECONDS:
                        last = time.monotonic()
                        yield SweepPage(plan_html(plan, False) + progress_html(plan, update), gr.skip(), gr.skip())
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
                files.keep(plan.id, [grid_path, zip_path], entry.to_json(),
                           owner=getattr(request, "session_hash", None))
                cells_out = [cell_json(r) for r in update.records]
                stopped = run.stop_requested and any(r.state == "stopped" for r in update.records)
                yield SweepPage(final_html(plan, update, stopped) + plan_html(plan, False)
                                + progress_html(plan, update), grid_path, cells_out)
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
