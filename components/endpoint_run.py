"""A run of an endpoint as the page, the API and MCP get it: ``run_endpoint`` validates the form's values, takes the
visitor's slot, starts a ``runs.runner.Run`` and turns its updates into ``PageUpdate``s, coalesced to a few a second
(``coalesced``) with one for every change of state and one for the result, whose gallery shows the run's images
(``gallery_items``) and whose result JSON is ``api_result``. Provider errors and refused input become ``gr.Error``
here (``refusal``) and nowhere else. The tab's layout and wiring are ``components/endpoint_tab.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import replace
from typing import Any, NamedTuple, Protocol

import gradio as gr
from gradio.data_classes import GradioModel, GradioRootModel

from components.context import AppContext, VisitorBusy
from components.form import FormError
from components.run_view import RunView, image_captions
from endpoints.base import EndpointSpec, WireModel
from providers.catalog import provider_title
from runs.pricing import format_usd
from runs.record import RunRecord
from runs.runner import Run, Runner, RunUpdate

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # the elapsed time refreshes at least this often while waiting for the provider
MIN_UPDATE_SECONDS = 0.5  # at most 2 page updates a second for logs and steps (0.25 cost ~4 ms more CPU per run at 50 visitors)
#: States that wait like log lines (sent with the next update, or after ``MIN_UPDATE_SECONDS`` if the run lingers):
#: "preparing" and "queued" flashed for a few milliseconds before "running" whenever the provider had a free runner.
PASSING_STATES = frozenset({"preparing", "queued", "saving"})
#: A change of state, and the first log lines and step, wait this long for what comes right after them: a provider
#: sends "running", its first log line and the first step within milliseconds, and one page update says all three.
SETTLE_SECONDS = 0.1


class PageUpdate(NamedTuple):
    """One update of a tab's outputs, in their order (``gr.skip()`` where an output stays as it is)."""

    status: Any
    logs: Any
    gallery: Any
    result: Any


class ModelForm(Protocol):
    """What a run reads its input through: the page's ``EndpointForm``, or an API call's ``WireForm`` (no page)."""

    def to_model(self, values: Mapping[str, Any]) -> WireModel: ...


def labelled(form: ModelForm, exc: FormError) -> list[str]:
    """The refusal's messages with each top-level field's wire name replaced by its label (``Steps: ...``)."""
    out = []
    descriptors = getattr(form, "descriptors", {})  # an API-only call (WireForm) has no form, so no labels
    for message, name in zip(exc.messages, exc.fields, strict=True):
        descriptor = descriptors.get(name)
        if descriptor is not None and message.startswith(f"{name}:"):
            message = f"{descriptor.shown_label}:{message[len(name) + 1:]}"
        out.append(message)
    return out


def refused_html(messages: list[str], fields: list[str] | None = None, paths: list[str] | None = None) -> str:
    """The status line for input refused before anything was sent: every problem, by field. Each item names its
    field (``data-field``) and the value's path (``data-path``: ``loras[0].path``), so the page can also show the
    message next to that field, or that row of a list (``STATUS_SHOWN_JS``)."""
    fields = fields or [""] * len(messages)
    paths = paths or fields
    items = "".join(
        f'<li data-field="{html.escape(field)}" data-path="{html.escape(path)}">{html.escape(m)}</li>'
        for m, field, path in zip(messages, fields, paths, strict=True)
    )
    return f'<div class="fp-failed"><p>❌ <b>Not sent</b>: please fix the form.</p><ul>{items}</ul></div>'


def refusal(message: str, title: str) -> gr.Error:
    """The error a visitor sees for an expected failure (bad input, a provider's refusal, a limit). It was logged
    as one line where it happened; Gradio is told not to print a traceback for it. Bugs still get theirs."""
    return gr.Error(message, title=title, print_exception=False)


def api_result(record: RunRecord) -> dict[str, Any]:
    """The result JSON of the named endpoint: the normalised result plus the request as sent and its cost.

    ``request.body`` is the JSON text exactly as sent: as text, because gradio_client takes any object with a
    ``path`` key in an output for a file (LoRA entries have one).
    """
    result = dict(record.result or {"images": [], "seed": record.seed, "has_nsfw_concepts": None, "prompt": None,
                                    "timings": {}, "extras": {}, "endpoint_id": record.endpoint_id})
    result.setdefault("extras", {})
    images = [{k: v for k, v in image.items() if k != "file"} for image in result.get("images") or []]
    prepared = record.request
    return {
        **result,
        "images": images,
        "request_id": record.request_id,
        "run_id": record.id,
        "state": record.state,
        "request": None if prepared is None else {
            "method": prepared.method,
            "url": prepared.url,
            "headers": prepared.headers,
            "body_kind": prepared.body_kind,
            "body": json.dumps(prepared.body, ensure_ascii=False),
            "files": [f"{f.field}: {f.file_name} ({f.size} bytes)" for f in prepared.files],
        },
        "cost": record.cost.to_json(),
        "error": record.error.to_json() if record.error else None,
        "record": json.dumps(record.to_json(), ensure_ascii=False),  # the whole RunRecord, as JSON text
    }


def record_of(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The RunRecord JSON carried by a result JSON (``api_result``), if any."""
    text = (result or {}).get("record") if isinstance(result, dict) else None
    return json.loads(text) if isinstance(text, str) else None


def browser_url(value: Any) -> str | None:
    """``value`` if it is an http(s) URL that Gradio leaves to the browser; else None. A bare path given to a
    gallery makes Gradio copy that file of this server into its cache and serve it to whoever asked, and any value
    ending in ``.svg`` (``…?x=.svg`` too) Gradio itself fetches, on the event loop, to inline it."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        return None
    return None if value.lower().endswith(".svg") else value


def gallery_items(record: RunRecord, runner: Runner,
                  media_url: Callable[[str], str] | None = None) -> list[tuple[str, str]]:
    """(image, caption) pairs: a stored image by its file in the media folder (a static path: served in place,
    never copied into Gradio's cache); a live provider's image still being copied by its ``/media/<name>`` URL,
    which waits for the copy, so the gallery's download carries the run like a stored one (given ``media_url``,
    the page's); anything else by the provider's own URL (straight to the browser)."""
    result = record.result or {}
    items = []
    for image, text in zip(result.get("images") or [], image_captions(result), strict=True):
        name = image.get("file")
        path = runner.media.path_of(name) if name else None
        shown = str(path) if path is not None else browser_url(image.get("url"))
        if path is None and media_url is not None and name in runner.inflight and (url := browser_url(media_url(name))):
            shown = url  # an absolute URL: Gradio would take a bare path for a file of this server
        if shown is not None:
            items.append((shown, text))
    return items


def from_page(request: gr.Request | None) -> bool:
    """Whether the call came from this app's page (its client says ``x-gradio-user: app``; gradio_client says
    ``api``, Gradio's MCP server ``mcp``)."""
    headers = getattr(request, "headers", None)
    return headers is not None and headers.get("x-gradio-user") == "app"


async def stored_gallery(record: RunRecord, runner: Runner) -> list[tuple[str, str]]:
    """``gallery_items`` once the run's images copied off the critical path are stored: files of this server (or
    the provider's URL where a copy failed), for API and MCP callers."""
    await runner.await_images([record])
    return gallery_items(record, runner)


async def run_endpoint(
    spec: EndpointSpec,
    form: ModelForm,
    ctx: AppContext,
    session_keys: dict | None,
    values: dict[str, Any],
    request: gr.Request | None,
    no_cache: bool = False,
) -> AsyncGenerator[PageUpdate, None]:
    """Yields the tab's ``PageUpdate``s (status, logs, gallery, result JSON). Stop cancels the remote job. ``no_cache``: go to the provider
    even when the result cache holds this request ("Run again anyway"), and replace the entry."""
    try:
        payload = form.to_model(values)
    except FormError as exc:
        log.info("input refused for %s: %s", spec.id, "; ".join(exc.messages))
        # The page says it with the form's labels ("Steps: ..."), in its status line and its toast; the API's
        # message keeps the wire names.
        shown = labelled(form, exc)
        yield PageUpdate(refused_html(shown, exc.fields, exc.paths), gr.skip(), gr.skip(), gr.skip())
        raise refusal("Please fix: " + "; ".join(shown if from_page(request) else exc.messages),
                      "Invalid input") from None
    visitor = ctx.visitor(request)
    route = ctx.backends.route(spec.provider, session_keys)
    await ctx.refresh_prices(route, spec)
    try:
        slot = ctx.visitor_slots.take(visitor)
    except VisitorBusy as exc:
        yield PageUpdate(f'<div class="fp-failed"><p>⏳ <b>Not started</b>: {html.escape(str(exc))}</p></div>',
                         gr.skip(), gr.skip(), gr.skip())  # in the status line, where the eye is, and in the toast
        raise refusal(str(exc), "Too many runs at once") from None
    with slot:
        media_url = ctx.media_url_for(request)
        run = ctx.runner.start(spec, payload, route, visitor=visitor, media_url=media_url, no_cache=bool(no_cache))
        key = ctx.active_key(request, spec.api_name)
        ctx.active_runs[key] = run
        view = RunView(spec.title, f"{provider_title(spec.provider)} ({route.label})")
        try:
            async with contextlib.aclosing(coalesced(run)) as updates:
                async for update in updates:
                    if not view.cost_text and (estimate := run.estimated_cost).usd is not None:  # known from the first
                        view.cost_text = f"est. {format_usd(estimate.usd)} ({estimate.basis})"
                    view.apply(update)
                    if update.record is None:
                        yield PageUpdate(view.status_html(), view.logs_text, gr.skip(), gr.skip())
                        continue
                    record = update.record
                    if record.state == "failed" and record.error is not None:
                        yield PageUpdate(view.status_html(), view.logs_text, gr.skip(), api_result(record))
                        raise refusal(record.error.message, record.error.type)
                    gallery = gr.skip()
                    if record.state == "done":
                        # The page shows a live image still being copied by its /media URL; API and MCP callers get
                        # the file (Gradio fetches no URL of this server for them: it refuses loopback addresses).
                        gallery = (gallery_items(record, ctx.runner, media_url) if from_page(request)
                                   else await stored_gallery(record, ctx.runner))
                    yield PageUpdate(view.status_html(), view.logs_text, gallery, api_result(record))
        finally:
            if ctx.active_runs.get(key) is run:
                del ctx.active_runs[key]


async def coalesced(run: Run) -> AsyncGenerator[Any, None]:
    """The run's updates, merged so the page gets at most a few a second; each state change within
    ``SETTLE_SECONDS`` (with whatever came right after it), and the end at once.

    Merged updates keep every log line. While the provider is silent, an update still goes out every
    ``TICK_SECONDS`` so the elapsed time moves.
    """
    updates = run.updates()
    held: RunUpdate | None = None
    shown: RunUpdate | None = None  # the last update sent, which a tick repeats with the elapsed time moved on
    due = 0.0  # when the held update goes out if nothing sends it sooner
    # As if an update had just gone: "preparing" and "queued" pass within milliseconds when the provider is free,
    # and the page shows the run under way meanwhile (Gradio's progress overlay on the status).
    last_sent = time.monotonic()
    # The first sign of work (log lines or a step) goes within SETTLE_SECONDS: the page shows the run has started.
    work_shown = False
    pending: asyncio.Future | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(updates))
            timeout = TICK_SECONDS if held is None else max(0.0, due - time.monotonic())
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                if held is not None:
                    yield held
                    shown, held, last_sent = held, None, time.monotonic()
                    work_shown = work_shown or bool(shown.new_logs) or shown.step is not None
                else:  # the elapsed time moves; the state, queue position and step stay what was last shown
                    tick = run_tick(run) if shown is None else replace(shown, new_logs=(), record=None)
                    yield replace(tick, elapsed=run.elapsed())
                continue
            arrived, pending = pending, None
            try:
                update = arrived.result()
            except StopAsyncIteration:
                if held is not None:
                    yield held
                return
            if held is not None:
                update = replace(update, new_logs=held.new_logs + update.new_logs, step=update.step or held.step)
            now = time.monotonic()
            passing = update.state in PASSING_STATES
            if update.record is not None or (not passing and now - last_sent >= MIN_UPDATE_SECONDS):
                yield update
                shown, held, last_sent = update, None, time.monotonic()
                work_shown = work_shown or bool(update.new_logs) or update.step is not None
                continue
            if held is None:
                # Passing states wait like log lines; one that comes when an update is due settles first (a
                # "queued" is often followed by "running" at once), and a run that lingers in it still shows it.
                due = max(last_sent + MIN_UPDATE_SECONDS, now + SETTLE_SECONDS if passing else 0.0)
            changed = not passing and (shown is None or update.state != shown.state)
            first = not work_shown and (bool(update.new_logs) or update.step is not None)
            if changed or first:
                due = min(due, now + SETTLE_SECONDS)
            held = update
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await updates.aclose()


def postprocessed(outputs: list[Any], values: tuple[Any, ...], shown: frozenset[int] = frozenset()) -> tuple[Any, ...]:
    """What Gradio's postprocessing makes of each output value (skips and ``None`` as they are), done here in the
    handler: the run event has ``postprocess=False``, which spares a worker-thread round trip per output and
    streamed update (Gradio postprocesses every output in a thread of its own, ``anyio.to_thread.run_sync``).
    The outputs at the positions in ``shown`` start hidden in the page (``endpoint_tab.layout``): a value given to
    one also makes it visible."""
    out = []
    for position, (component, value) in enumerate(zip(outputs, values, strict=True)):
        if value is None or (type(value) is dict and value.get("__type__") == "update"):
            out.append(value)
            continue
        value = component.postprocess(value)
        value = value.model_dump() if isinstance(value, (GradioModel, GradioRootModel)) else value
        out.append({"__type__": "update", "visible": True, "value": value} if position in shown else value)
    return tuple(out)


def run_tick(run: Run) -> RunUpdate:
    return RunUpdate(run.id, "queued" if run.job is None else "running", run.elapsed())
