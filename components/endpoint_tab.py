"""One tab per endpoint: the form, Generate/Stop, live status and logs, gallery with seed + NSFW captions, JSON.

The tab's layout and the wiring of its buttons (one named handler per action). What a run does between Generate and
its result (validation, the route, the coalesced page updates, the result JSON) is ``components/endpoint_run.py``.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from components.after_record import CHAINED_TRIGGER_MODE, AfterRecord
from components.api_schema import apply_api_schemas, args_docstring
from components.bind import bind
from components.context import SESSION_TTL_SECONDS, AppContext
from components.endpoint_run import api_result, from_page, postprocessed, run_endpoint
from components.form import EndpointForm, FormError, build_form
from components.form_values import readable_values
from components.prose import Prose
from components.run_inputs import preprocess_inputs
from components.run_view import RunView
from endpoints.base import SEED_MAX, EndpointSpec, Role
from providers.catalog import provider_title
from runs.input_sizes import counts_input_images, priced_input_sizes
from runs.pricing import format_usd
from runs.record import RunRecord

log = logging.getLogger(__name__)

def cost_fields(spec: EndpointSpec) -> set[str]:
    """What an estimate reads from the form: the fields playing the size and count roles."""
    return {name for role in ("size", "width", "height", "count") if (name := spec.field_for(role)) is not None}
SCROLL_LOGS_JS = "() => { const t = document.querySelector('#%s textarea'); if (t) t.scrollTop = t.scrollHeight; }"
# Runs before the handler; an event's js answer becomes the handler's inputs, so it hands its arguments on.
# On a narrow screen the status sits below the long form: bring it (then the progress and the result under it) into view.
DIM_GALLERY_JS = """(...args) => {
  const g = document.getElementById('%s');
  if (g) g.classList.add('fp-previous');
  const status = document.getElementById('%s');
  if (status && window.innerWidth <= 640) status.scrollIntoView({block: 'start'});
  return args;
}"""
# After a run: undim, and open the first image in the preview (whole image and caption visible at any aspect).
UNDIM_GALLERY_JS = """() => {
  const g = document.getElementById('%s');
  if (!g) return;
  g.classList.remove('fp-previous');
  const first = g.querySelector('button.thumbnail-item');
  if (first && !g.querySelector('.preview')) first.click();
  const status = document.getElementById('%s');
  if (status && window.innerWidth <= 640) status.scrollIntoView({block: 'start'});  // status, then the result
  // The run went through: error toasts about what was wrong before are out of date.
  document.querySelectorAll('button.toast-close.error').forEach(b => b.click());
}"""
#: The run's outputs (status, logs, gallery, result JSON) that start hidden: the gallery and the JSON. Gradio's page
#: loads the frontend module of every component type shown before it draws anything, and the gallery's is one of
#: the heaviest; the first result makes them visible (``endpoint_run.postprocessed``; the page only: API and MCP
#: callers get plain values). ``benchmarks/README.md`` (stop 44) has the figures.
HIDDEN_UNTIL_RESULT = frozenset({2, 3})


@dataclass
class EndpointTab:
    """One endpoint's tab: its components, and what its handlers reach (the endpoint, its form, the app)."""

    spec: EndpointSpec
    ctx: AppContext
    form: EndpointForm
    generate: gr.Button
    stop: gr.Button
    status: gr.HTML
    gallery: gr.Gallery
    logs: gr.Textbox
    result_json: gr.JSON
    last_record: gr.State
    run_event: Any = None
    # What follows each run's record (``components.after_record``): panels add their step; the tab's builder wires
    # them, once every panel has (``last_record`` is set by that step).
    after_record: AfterRecord = field(init=False)
    sweep_record: Any = None  # gr.State: the last sweep as one RunRecord JSON (for the history)
    sweep_record_event: Any = None  # after each sweep, once ``sweep_record`` is set (steps chain on: ``after_sweep``)
    # Places the rest of the tab is built into (``components.tab_page``): code, share and sweep sections.
    code_button: Any = None
    code_row: Any = None
    share_row: Any = None
    sweep_row: Any = None
    sweep_boxes: Any = None  # ``sweep_panel.AxisBoxes``: what a restored sweep fills

    def __post_init__(self) -> None:
        self.after_record = AfterRecord(self.last_record, self.spec.api_name)

    def after_sweep(self, fn: Callable[..., Any], inputs: list[Any], outputs: list[Any], **kwargs: Any) -> None:
        """Chain ``fn`` after each sweep's record (``sweep_record_event``), if the tab has a sweep section; with
        ``CHAINED_TRIGGER_MODE``, as the steps after a run: a sweep that ends while the last one's steps are pending
        (served from the cache) waits for them instead of being dropped."""
        if self.sweep_record_event is not None:
            self.sweep_record_event.then(fn, inputs, outputs, trigger_mode=CHAINED_TRIGGER_MODE, **kwargs)


@dataclass
class TabControls:
    """The tab's controls that only its own events read."""

    estimate: Prose  # the cost estimate under Generate
    run_anyway: gr.Button  # "Run again anyway" (shown after a result served from the cache)
    no_cache: gr.Checkbox  # hidden: ticked by "Run again anyway" for the one run it starts
    reuse_seed: gr.Button
    random_seed: gr.Button


# After the status changes: show each refused field's message next to the field; clear the old ones (with the
# page's ``window.fpFieldNotes``, ``app.HEAD``). A run stopped or failed leaves the previous images in the gallery:
# they are marked as the previous result (``fp-kept``); so are they after a restore, a link or "Use as input" wrote
# other values into the form (``fp-stale``): the restored run's status stood over another run's image.
STATUS_SHOWN_JS = r"""() => {
  const api = '%s';
  window.fpFieldNotes.clear(api);
  const status = document.getElementById(`${api}-status`);
  if (!status) return;
  const gallery = document.getElementById(`${api}-gallery`);
  if (gallery) {
    gallery.classList.toggle('fp-kept', !!status.querySelector('.fp-stopped, .fp-failed'));
    gallery.classList.toggle('fp-stale', !!status.querySelector('.fp-origin'));
  }
  const shown = (id) => { const e = document.getElementById(`${api}-${id}`); return e && e.offsetParent ? e : null; };
  status.querySelectorAll('li[data-field]').forEach(li => {
    const field = li.getAttribute('data-field');
    if (!field) return;
    // The most precise place on screen: a list row's own widget (loras[0].path -> loras-row-0-path), its row,
    // the row editor, then the field itself.
    let id = (li.getAttribute('data-path') || field).replace(/\[(\d+)\]/g, '-row-$1').replace(/\./g, '-');
    let box = null;
    while (!box && id.length > field.length) { box = shown(id); id = id.slice(0, Math.max(field.length, id.lastIndexOf('-'))); }
    box = box || shown(`${field}-editor`) || document.getElementById(`${api}-${field}`);
    if (box) window.fpFieldNotes.mark(api, box, li.textContent);
  });
}"""


def _header(spec: EndpointSpec) -> str:
    lines = [f"### {spec.title}\n{spec.description}  \n`{spec.id}` on {provider_title(spec.provider)}"]
    if spec.status == "deprecated":
        lines.insert(0, f"> ⚠️ **Deprecated upstream.** {spec.status_note}")
    return "\n\n".join(lines)


def build_endpoint_tab(spec: EndpointSpec, ctx: AppContext, session_keys: gr.State,
                       keys_changed: gr.State | None = None) -> EndpointTab:
    """Lay out one endpoint's run view (form, Generate/Stop, status, gallery, logs) and wire its events, leaving
    places for the code, share and sweep sections (``components.tab_page.build_tab`` fills them). Call inside an
    open ``gr.Tab``. ``keys_changed`` (default ``session_keys``) is the State whose change means the keys did."""
    tab, controls = layout(spec, ctx)
    wire_run(tab, controls, session_keys)
    wire_seed_buttons(tab, controls)
    wire_run_anyway(tab, controls)
    wire_estimate(tab, controls, session_keys, keys_changed or session_keys)
    return tab


def layout(spec: EndpointSpec, ctx: AppContext) -> tuple[EndpointTab, TabControls]:
    Prose(_header(spec))
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=320):
            form = build_form(spec)
            with gr.Column(elem_classes=["fp-actions"]):
                estimate = Prose(_estimate_text(ctx, spec, spec.example, None),
                                 elem_id=f"{spec.api_name}-estimate", elem_classes=["fp-estimate"])
                with gr.Row():
                    generate = gr.Button("Generate", variant="primary", scale=3, elem_id=f"{spec.api_name}-generate")
                    stop = gr.Button("Stop", variant="stop", scale=1, elem_id=f"{spec.api_name}-stop")
                run_anyway = gr.Button("🔁 Run again anyway (skip the cache, billed)", size="sm", visible=False,
                                       elem_id=f"{spec.api_name}-run-anyway")
                no_cache = gr.Checkbox(False, visible=False, label="no_cache", elem_id=f"{spec.api_name}-no-cache")
        with gr.Column(scale=6, min_width=320):
            status = gr.HTML(
                "<p>Ready. Press <b>Generate</b> (or Ctrl/⌘+Enter). The form opens with the endpoint's documented example.</p>",
                label="Run status",
                elem_id=f"{spec.api_name}-status",
                elem_classes=["fp-status"],
            )
            # Preview mode: the whole image and its caption are visible whatever the aspect (a lone image in
            # grid mode is cropped with its caption hidden); several images get a thumbnail strip.
            gallery = gr.Gallery(
                label="Images (caption: seed · NSFW flag)",
                visible=False,  # until the first result (HIDDEN_UNTIL_RESULT)
                columns=4,
                height=560,
                preview=True,
                object_fit="contain",
                buttons=["download", "fullscreen"],
                elem_id=f"{spec.api_name}-gallery",
                elem_classes=["fp-result-gallery"],
            )
            with gr.Row():
                reuse_seed = gr.Button("♻️ Reuse this seed", size="sm", elem_id=f"{spec.api_name}-reuse-seed")
                random_seed = gr.Button("🎲 Randomize seed", size="sm", elem_id=f"{spec.api_name}-random-seed")
                code_button = gr.Button("</> Code", size="sm", elem_id=f"{spec.api_name}-code-button")
            code_row = gr.Column()
            share_row = gr.Column()
            logs = gr.Textbox(
                label="Provider logs (live)",
                # A fixed height: the box does not grow as lines stream in (it scrolls, SCROLL_LOGS_JS), and the
                # page does not measure it as it loads (Gradio's Textbox resizes a growing box on mount).
                lines=8,
                max_lines=8,
                autoscroll=True,
                interactive=False,
                elem_id=f"{spec.api_name}-logs",
            )
            with gr.Accordion("Result JSON (request as sent, cost, request id)", open=False,
                              elem_classes=["fp-result-section"]):
                # The JSON is not in the page until the first result; this line stands in for it (app.py's CSS
                # hides it once the JSON is there).
                Prose("No result yet: Generate, and the request as sent, its cost and the provider's answer "
                      "appear here.", elem_classes=["fp-no-result"])
                result_json = gr.JSON(label="Result", visible=False, elem_classes=["fp-result-json"])
    sweep_row = gr.Column()
    last_record = gr.State(None, time_to_live=SESSION_TTL_SECONDS)
    tab = EndpointTab(spec, ctx, form, generate, stop, status, gallery, logs, result_json, last_record,
                      code_button=code_button, code_row=code_row, share_row=share_row, sweep_row=sweep_row)
    return tab, TabControls(estimate, run_anyway, no_cache, reuse_seed, random_seed)


def _estimate_text(ctx: AppContext, spec: EndpointSpec, wire: dict[str, Any], session_keys: dict | None) -> str:
    """The estimate line. Reads the input images' headers when the price counts them: call it off the event loop
    (Gradio runs the sync handlers that call it in its thread pool)."""
    route = ctx.backends.route(spec.provider, session_keys)
    try:
        wire = spec.input_model.model_validate(wire).to_wire()
    except ValueError:
        pass  # the example may leave out a required field; the estimate only needs the size and count
    cost = ctx.runner.estimate(spec, wire, route, input_sizes=priced_input_sizes(spec, wire, ctx.runner.upload_roots))
    where = "sandbox: nothing is billed, this is what the live run would cost" if route.is_sandbox else route.label
    if cost.usd is None:
        return f"💲 Estimate: unknown ({cost.basis})"
    return f"💲 Estimate: **{format_usd(cost.usd)}** — {cost.basis} · {where}"


def estimate(tab: EndpointTab, values: dict[str, Any], session_keys: dict | None) -> str:
    """The estimate for the form's values as they stand."""
    spec, form = tab.spec, tab.form
    try:
        wire = form.to_model(values).to_wire()
    except FormError as exc:
        # The cost follows the size and the image count only: another field still empty (an input image
        # not filled in yet) does not stop the estimate.
        if any(field in cost_fields(spec) for field in exc.fields):
            return "💲 Estimate: complete the form to see what this run would cost."
        wire = readable_values(spec, values, list(form.descriptors.values()))
    return _estimate_text(tab.ctx, spec, wire, session_keys)


def estimate_after_run(tab: EndpointTab, record: dict[str, Any] | None, session_keys: dict | None) -> Any:
    """The run refreshed the prices: show them (and their source) for the input it ran with. Not when the price
    counts input images: the record keeps an uploaded one as the URL it went to, or (sent inline, as to BFL) not
    at all, so its size cannot be read from the record; the line made from the form (the files themselves) stays."""
    wire = (record or {}).get("input")
    if not isinstance(wire, dict) or counts_input_images(tab.spec):
        return gr.skip()
    return _estimate_text(tab.ctx, tab.spec, wire, session_keys)


def wire_estimate(tab: EndpointTab, controls: TabControls, session_keys: gr.State, keys_changed: gr.State) -> None:
    """The cost estimate under Generate follows the form (size, image count), the route (keys) and, after a run,
    the prices the run read."""
    spec, form = tab.spec, tab.form

    def update(session_keys: dict | None = None, **values: Any) -> str:
        return estimate(tab, values, session_keys)

    update.__name__ = f"{spec.api_name}_estimate"
    form.declare_api_parameters(update)
    tab.after_record.add(bind(estimate_after_run, tab), [tab.last_record, session_keys], [controls.estimate])
    # The fields the estimate depends on: size and count, and the input images when the price counts them.
    roles: tuple[Role, ...] = ("size", "width", "height", "count")
    if counts_input_images(spec):
        roles += ("image", "images")
    priced = {name for role in roles if (name := spec.field_for(role)) is not None}
    watched: list[Any] = [c for name, c in form.api_inputs().items() if name in priced]  # each has a change event
    # A key pasted (or forgotten) under Settings changes the route, so the estimate says at once where runs go.
    gr.on([keys_changed.change, *(c.change for c in watched)], update,
          inputs_kwargs={**form.run_inputs(), "session_keys": session_keys},
          outputs=[controls.estimate], api_visibility="private", queue=False, show_progress="hidden")


NO_CACHE_DOC = (
    "    no_cache: Run past the result cache: send the request to the provider (billed) even when an identical "
    "seeded request is cached, and replace the cached entry. Default false."
)
# "Run again anyway": tick the hidden no_cache box, then press Generate (one run event: history, spend, estimate).
RUN_ANYWAY_JS = "() => { setTimeout(() => document.getElementById('%s-generate')?.click(), 50); return true; }"


def run_anyway_after(record: dict[str, Any] | None) -> tuple[Any, Any]:
    """Offered after a result served from the cache; the box is cleared after every run."""
    return gr.update(visible=bool(record and record.get("cached"))), False


def wire_run_anyway(tab: EndpointTab, controls: TabControls) -> None:
    controls.run_anyway.click(None, js=RUN_ANYWAY_JS % tab.spec.api_name, outputs=[controls.no_cache],
                              api_visibility="private", queue=False)
    tab.after_record.add(run_anyway_after, [tab.last_record], [controls.run_anyway, controls.no_cache])


def page_run(tab: EndpointTab) -> Callable[..., AsyncIterator[tuple[Any, ...]]]:
    """The Generate handler as the page and the API see it: named after the endpoint, documented, taking the form's
    values as keywords (``form.declare_api_parameters`` names them), yielding the tab's outputs postprocessed."""
    spec, form, ctx = tab.spec, tab.form, tab.ctx
    outputs = [tab.status, tab.logs, tab.gallery, tab.result_json]
    inputs = form.run_inputs()

    async def run(session_keys: dict | None = None, request: gr.Request | None = None, no_cache: bool = False,
                  **values: Any) -> AsyncIterator[tuple[Any, ...]]:
        values = await preprocess_inputs(inputs, values)  # declared with preprocess=False (components.run_inputs)
        # aclosing: when Gradio closes this generator (Stop, tab closed), the run's cleanup cancels the job.
        async with contextlib.aclosing(
            run_endpoint(spec, form, ctx, session_keys, values, request, no_cache=bool(no_cache))
        ) as updates:
            shown = HIDDEN_UNTIL_RESULT if from_page(request) else frozenset()
            async for update in updates:
                yield postprocessed(outputs, update, shown)

    run.__name__ = f"{spec.api_name}_page"
    run._mcp_type = "page"  # type: ignore[attr-defined]  # not an MCP tool: components/mcp_tools.py gives one per tab
    parameters = form.run_inputs()
    doc = args_docstring(spec, list(parameters))
    run.__doc__ = doc.replace("\n\nReturns:", "\n" + NO_CACHE_DOC + "\n\nReturns:", 1)
    form.declare_api_parameters(run)
    return run


async def stop_run(tab: EndpointTab, request: gr.Request) -> Any:
    """Stop the visitor's run of this tab: the remote job is cancelled, and the stopped run's record goes into the
    result (for the history and the session line). Outputs: status, result JSON."""
    run = tab.ctx.active_runs.get(tab.ctx.active_key(request, tab.spec.api_name))
    if run is None:
        # The tab's sweep, if one is going: on a phone this Stop, in the bar at the foot of the screen, is the one in
        # view (it did nothing while a sweep ran, a walk). The sweep ends as its own Stop ends it.
        sweep = tab.ctx.active_sweeps.get(tab.ctx.sweep_key(request, tab.spec.api_name))
        if sweep is None:
            return gr.skip(), gr.skip()
        await sweep.stop()
        return "<p>⏹ Stopping the sweep: the cells that finished stay (the Sweep section says what ran).</p>", gr.skip()
    record = await run.stop()
    view = RunView(tab.spec.title, provider_title(tab.spec.provider), record=record, state="stopped")
    if record is None:
        return view.status_html(), gr.skip()
    return view.status_html(), gr.update(value=api_result(record), visible=True)


def wire_run(tab: EndpointTab, controls: TabControls, session_keys: gr.State) -> None:
    """Generate (the named endpoint ``/<api_name>``), Stop, and what follows every run (``tab.after_record``)."""
    spec, form = tab.spec, tab.form
    apply_api_schemas(spec, form.run_inputs())
    controls.no_cache.api_info = lambda: {  # type: ignore[method-assign]  # Gradio's hook
        "type": "boolean", "description": NO_CACHE_DOC.split(": ", 1)[1]}
    gallery_id = f"{spec.api_name}-gallery"
    tab.run_event = tab.generate.click(
        page_run(tab),
        inputs_kwargs={**form.run_inputs(), "session_keys": session_keys,
                       "no_cache": controls.no_cache},
        outputs=[tab.status, tab.logs, tab.gallery, tab.result_json],
        preprocess=False,  # done by ``preprocess_inputs`` in the handler: one thread hop, not one per input
        postprocess=False,  # done by ``postprocessed`` in the handler
        api_name=spec.api_name,
        concurrency_limit=None,
        show_progress="minimal",
        show_progress_on=[tab.status],  # progress and a failure show in the status line, not over the form
        js=DIM_GALLERY_JS % (gallery_id, f"{spec.api_name}-status"),
    )
    tab.run_event.then(None, js=UNDIM_GALLERY_JS % (gallery_id, f"{spec.api_name}-status"), api_visibility="private",
                       queue=False)
    # The record goes into session state in a private step (``tab.after_record``, with whatever follows it): a
    # gr.State output on the named endpoint would break its MCP tool (Gradio 6.31 drops State outputs from the
    # result by position). Gradio runs a ``.then`` step only when the run did not raise: a failed run (which
    # raises, for the API and the toast) takes the ``.failure`` step, and Stop puts the stopped record in the
    # result itself (below).
    stopped = tab.stop.click(bind(stop_run, tab), outputs=[tab.status, tab.result_json], cancels=[tab.run_event],
                             api_visibility="private", queue=False)
    tab.after_record.follow(tab.result_json, tab.run_event.then, tab.run_event.failure, stopped.then)
    tab.status.change(None, js=STATUS_SHOWN_JS % spec.api_name, api_visibility="private", queue=False)
    # Keep the newest log line in view (the read-only textbox does not follow streamed text by itself).
    tab.logs.change(None, js=SCROLL_LOGS_JS % f"{spec.api_name}-logs", api_visibility="private", queue=False)


def reuse_last_seed(last: dict | None) -> Any:
    record_seed = RunRecord.from_json(last).seed if last else None
    if record_seed is None:
        gr.Warning("No seed yet: run once, then reuse its seed.")
        return gr.skip()
    return record_seed


def random_seed() -> int:
    return random.randint(0, SEED_MAX)


def wire_seed_buttons(tab: EndpointTab, controls: TabControls) -> None:
    """"Reuse this seed" and "Randomize seed" write the seed field; a tab without one shows neither."""
    seed_name = tab.spec.field_for("seed")
    seed = tab.form.fields.get(seed_name) if seed_name is not None else None
    if seed is None:
        controls.reuse_seed.visible = controls.random_seed.visible = False
        return
    # Queued: its warning before any run ("No seed yet") reaches the page only through the queue (unqueued, a walk
    # pressed it and saw nothing happen).
    controls.reuse_seed.click(reuse_last_seed, inputs=[tab.last_record], outputs=[seed.component],
                              api_visibility="private", show_progress="hidden")
    controls.random_seed.click(random_seed, outputs=[seed.component], api_visibility="private", queue=False)
