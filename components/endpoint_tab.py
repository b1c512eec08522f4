"""One tab per endpoint: the form, Generate/Stop, live status and logs, gallery with seed + NSFW captions, JSON.

Layout is built in ``build_endpoint_tab``; the run itself is ``run_endpoint``, an async generator that streams
provider events into the outputs. Provider errors become ``gr.Error`` here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr
import httpx

from components.form import EndpointForm, FormError, build_form
from components.run_view import RunView, image_captions
from endpoints.base import EndpointSpec
from providers.base import Completed, Credentials, Job
from providers.errors import ProviderError
from providers.routing import Backends

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # how often the elapsed time refreshes while waiting for the provider
CANCEL_TIMEOUT = 10.0
SEED_MAX = 2**31 - 1
SCROLL_LOGS_JS = "() => { const t = document.querySelector('#%s textarea'); if (t) t.scrollTop = t.scrollHeight; }"


@dataclass
class EndpointTab:
    spec: EndpointSpec
    form: EndpointForm
    generate: gr.Button
    stop: gr.Button
    status: gr.Markdown
    gallery: gr.Gallery
    logs: gr.Textbox
    result_json: gr.JSON
    files: gr.File
    last_seed: gr.State
    reuse_seed: gr.Button
    random_seed: gr.Button
    run_event: Any = None


def _header(spec: EndpointSpec) -> str:
    provider = {"fal": "fal.ai", "segmind": "Segmind"}[spec.provider]
    lines = [f"### {spec.title}\n{spec.description}  \n`{spec.id}` on {provider}"]
    if spec.status == "deprecated":
        lines.insert(0, f"> ⚠️ **Deprecated upstream.** {spec.status_note}")
    return "\n\n".join(lines)


def _progress(view: RunView) -> tuple[Any, ...]:
    """An update while the run is under way: status and logs; the image outputs empty; the last seed kept."""
    return view.status_line(), view.logs_text, None, None, None, gr.skip()


async def run_endpoint(
    spec: EndpointSpec,
    form: EndpointForm,
    backends: Backends,
    session_keys: Mapping[str, Credentials] | None,
    values: Mapping[str, Any],
) -> AsyncIterator[tuple[Any, ...]]:
    """Yields (status, logs, gallery, result JSON, files, last seed). Stop cancels the remote job."""
    try:
        payload = form.to_model(values)
    except FormError as exc:
        raise gr.Error(f"Please fix: {exc}", title="Invalid input") from None
    route = backends.route_for(spec, session_keys)
    view = RunView(spec.title, f"{spec.provider} — {route.label}")
    # While running, the image outputs are sent empty rather than skipped: gradio_client would show a skip as
    # {"__type__": "update"} in intermediate outputs.
    yield _progress(view)
    job: Job | None = None
    finished = False
    pending: asyncio.Future | None = None
    try:
        job = await route.provider.submit(spec, payload, route.credentials)
        events = job.events()
        while True:
            if pending is None:
                pending = asyncio.ensure_future(events.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=TICK_SECONDS)
            if not done:
                yield _progress(view)
                continue
            arrived, pending = pending, None
            try:
                event = arrived.result()
            except StopAsyncIteration:
                break
            view.apply(event)
            if isinstance(event, Completed):
                finished = True
                gallery, paths = await _gallery(backends, route.provider.client, event)
                yield view.status_line(), view.logs_text, gallery, event.result.to_json(), paths, event.result.seed
                return
            yield _progress(view)
    except ProviderError as exc:
        finished = True
        view.fail(exc.message)
        yield _progress(view)
        raise gr.Error(exc.message, title=type(exc).__name__) from None
    except asyncio.CancelledError:
        view.stop()
        raise
    except Exception as exc:  # no traceback reaches the page
        finished = True
        log.exception("run of %s failed unexpectedly", spec.id)
        view.fail(f"unexpected {type(exc).__name__}")
        yield _progress(view)
        raise gr.Error(f"Something went wrong ({type(exc).__name__}). Please try again.") from None
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
        if job is not None and not finished:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(job.cancel()), CANCEL_TIMEOUT)


async def _gallery(
    backends: Backends, client: httpx.AsyncClient, event: Completed
) -> tuple[list[tuple[str, str]], list[str]]:
    """Fetch result images server-side (sandbox URLs are on loopback; CDN URLs expire) and caption them."""
    result = event.result
    paths = await asyncio.gather(*(backends.live.media.fetch(client, image.url) for image in result.images))
    captions = image_captions(result)
    return [(str(path), text) for path, text in zip(paths, captions, strict=True)], [str(p) for p in paths]


def build_endpoint_tab(spec: EndpointSpec, backends: Backends, session_keys: gr.State) -> EndpointTab:
    """Lay out one endpoint's tab and wire its events. Call inside an open ``gr.Tab``."""
    gr.Markdown(_header(spec))
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=360):
            form = build_form(spec)
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", scale=3, elem_id=f"{spec.api_name}-generate")
                stop = gr.Button("Stop", variant="stop", scale=1, elem_id=f"{spec.api_name}-stop")
        with gr.Column(scale=6, min_width=360):
            status = gr.Markdown("Ready. Press **Generate** — the form is filled with the documented example.")
            gallery = gr.Gallery(
                label="Images (caption: seed · NSFW flag)",
                columns=2,
                height="auto",
                object_fit="contain",
                buttons=["download", "fullscreen"],
                elem_id=f"{spec.api_name}-gallery",
            )
            with gr.Row():
                reuse_seed = gr.Button("♻️ Reuse this seed", size="sm")
                random_seed = gr.Button("🎲 Randomize seed", size="sm")
            logs = gr.Textbox(
                label="Provider logs (live)",
                lines=8,
                max_lines=14,
                autoscroll=True,
                interactive=False,
                elem_id=f"{spec.api_name}-logs",
            )
            with gr.Accordion("Result JSON and downloads", open=False):
                result_json = gr.JSON(label="Result (request id, seed, NSFW flags, timings, credits)")
                files = gr.File(label="Download images", file_count="multiple", interactive=False)
    last_seed = gr.State(None)
    tab = EndpointTab(
        spec, form, generate, stop, status, gallery, logs, result_json, files, last_seed, reuse_seed, random_seed
    )
    _wire(tab, backends, session_keys)
    return tab


def _wire(tab: EndpointTab, backends: Backends, session_keys: gr.State) -> None:
    spec, form = tab.spec, tab.form

    async def run(session_keys: dict | None = None, **values: Any) -> AsyncIterator[tuple[Any, ...]]:
        # aclosing: when Gradio closes this generator (Stop, tab closed), the run's cleanup cancels the job.
        async with contextlib.aclosing(run_endpoint(spec, form, backends, session_keys, values)) as updates:
            async for update in updates:
                yield update

    run.__name__ = spec.api_name
    run.__doc__ = f"{spec.title} ({spec.id}). Parameters are the endpoint's schema fields."
    form.declare_api_parameters(run)
    tab.run_event = tab.generate.click(
        run,
        inputs_kwargs={**form.api_inputs(), **form.ui_inputs(), "session_keys": session_keys},
        outputs=[tab.status, tab.logs, tab.gallery, tab.result_json, tab.files, tab.last_seed],
        api_name=spec.api_name,
        concurrency_limit=None,
        show_progress="minimal",
    )
    tab.stop.click(None, cancels=[tab.run_event], api_visibility="private")
    # Keep the newest log line in view (the read-only textbox does not follow streamed text by itself).
    tab.logs.change(None, js=SCROLL_LOGS_JS % f"{spec.api_name}-logs", api_visibility="private", queue=False)
    seed = form.fields.get("seed")
    if seed is None:
        return

    def reuse(last: int | None) -> Any:
        if last is None:
            gr.Warning("No seed yet: run once, then reuse its seed.")
            return gr.skip()
        return last

    tab.reuse_seed.click(reuse, inputs=[tab.last_seed], outputs=[seed.component], api_visibility="private", queue=False)
    tab.random_seed.click(
        lambda: random.randint(0, SEED_MAX), outputs=[seed.component], api_visibility="private", queue=False
    )
