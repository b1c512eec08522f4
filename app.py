"""FLUX Playground: a tab per hosted FLUX endpoint, forms from schemas, live provider status and logs.

Wiring only. ``build_app(ctx)`` returns the Blocks with no side effects; ``python app.py`` starts the embedded
sandbox when a provider has no key (or ``PLAYGROUND_SANDBOX=1``), builds the providers and launches.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from components.context import AppContext, SweepSlots, VisitorSlots
from components.endpoint_tab import EndpointTab
from components.form_target import DrawnForm, FormTarget
from components.frontend_fixes import fixed_paths, frontend_routes
from components.gradio_fixes import PlaygroundBlocks, SessionReaper, fixes_active
from components.history_files import is_provider_media
from components.history_panel import build_history_panel, refresh_on_load
from components.lazy_tab import build_lazy_tab, tab_states
from components.models_tab import TAB_ID, add_model_apis, build_models_tab, models_states
from components.open_links import wire_share_links
from components.page_cache import AssetCache, PageCache
from components.page_config import API_SURFACE_ID, trim_page_config
from components.prose import Prose
from components.session_owners import CallerAddress
from components.session_spend import SessionSpend
from components.settings_panel import badge_text, build_settings_panel, sandbox_banner
from components.sweep_panel import axis_examples_script
from components.tab_page import build_tab
from components.upload_quota import BodyLimit, UploadQuota
from components.url_files import cap_url_files
from endpoints import ENDPOINTS, all_endpoints, install_catalog
from endpoints.base import EndpointSpec
from endpoints.catalog import load_catalog
from providers.catalog import CATALOG
from providers.config import ProviderSettings
from providers.media import CONTENT_TYPES, MediaStore
from providers.registry import build_providers, sandbox_settings
from providers.routing import Backends
from providers.routing import Route as ProviderRoute
from runs.budget import BudgetLimits, SpendLedger
from runs.data_dir import data_dir
from runs.pricing import PriceBook, Size, actual_cost
from runs.record import Cost
from runs.result_cache import CACHE_FOLDER, CacheSettings, ResultCache
from runs.runner import Runner
from runs.spend_guard import BudgetGuard
from runs.storage import open_store
from runs.sweep.limits import SweepLimits
from settings import AppSettings, Settings, SettingsError

log = logging.getLogger("flux_playground")

TITLE = "FLUX Playground"
MAX_THREADS = 200  # Gradio's pre/post-processing threads; runs themselves are async and wait on the network
# Sessions kept in memory at most (each holds its keys, last records and spend total, all with a time to live).
STATE_SESSION_CAPACITY = 2000
# The page and its config are ~0.8 MB of JSON-heavy HTML that Gradio sends uncompressed; gzip makes it ~10x smaller.
# Event streams, images and archives are left alone (Starlette's default exclusions).
GZIP_MIN_BYTES, GZIP_LEVEL = 4096, 4
# Gradio's own cache (uploads, downloads handed out): swept every 10 minutes of files older than an hour.
DELETE_CACHE = (600, 3600)
CSS = """
/* .block: a Prose block (components/prose.py) carries its classes on its block and on the text inside it. */
.block.fp-banner { border-left: 4px solid #f59e0b; padding: 6px 12px; background: rgba(245, 158, 11, 0.08); }
.block.fp-badge { font-size: 0.95em; }
.fp-prose > .html-container { padding: 0 !important; }  /* flush with the blocks around it, as Markdown was */
.fp-result-section:has(.fp-result-json) .fp-no-result { display: none; }  /* the JSON is there: no stand-in */
/* overflow: hidden on Gradio's container would make it the sticky bar's scroll box; clip does not. */
.gradio-container { overflow: clip !important; }
.fp-actions { position: sticky; bottom: 0; z-index: 20; background: var(--background-fill-primary);
  padding: 8px 0; border-top: 1px solid var(--border-color-primary); }
.fp-estimate p { margin: 0 0 4px 0; font-size: 0.9em; }
/* A result shown in Gradio's preview pane: the space around an image of another shape is the block's own
   background, not a blurred copy of what lies behind the pane (a ghostly band above a 4:3 image on a phone). */
[id$="-gallery"] .preview { backdrop-filter: none; background: var(--block-background-fill); }
.fp-previous img, .fp-kept img, .fp-stale img { opacity: 0.45; filter: grayscale(0.4); transition: opacity 0.2s; }
/* Said over the image, under the gallery's label and buttons (in the flow, the label covered it). */
.fp-previous, .fp-kept, .fp-stale { position: relative; }
.fp-previous::before, .fp-kept::before, .fp-stale::before { content: "previous result — the new run is under way"; position: absolute;
  top: 56px; left: 50%; transform: translateX(-50%); z-index: 300; max-width: 90%; text-align: center;
  font-size: 0.85em; color: var(--body-text-color); background: var(--block-background-fill);
  border: 1px solid var(--border-color-primary); border-radius: 12px; padding: 2px 10px; pointer-events: none; }
.fp-kept::before { content: "previous result — the last run gave no new image"; }
.fp-stale::before { content: "previous result — the form now holds other values"; }
.fp-progress { display: flex; align-items: center; gap: 8px; }
.fp-progress progress { flex: 1; height: 10px; }
/* A sweep grid's own buttons (fullscreen, download, share) in a row above it, not over its title. */
.fp-grid .icon-button-wrapper.top-panel { position: static !important; width: fit-content; margin: 0 0 4px auto !important; }
.fp-sweep table { border-collapse: collapse; font-size: 0.85em; margin-top: 6px; }
.fp-sweep td, .fp-sweep th { border: 1px solid var(--border-color-primary); padding: 3px 6px; text-align: center; }
.fp-sweep progress { width: 100%; }
.fp-sweep td img { max-width: 140px; max-height: 140px; display: block; margin: 0 auto; }
.fp-cell.fp-done { background: rgba(22, 163, 74, 0.12); } .fp-cell.fp-failed { background: rgba(220, 38, 38, 0.12); }
.fp-cell.fp-running, .fp-cell.fp-saving { background: rgba(59, 130, 246, 0.12); }
.fp-cell.fp-stopped { background: rgba(107, 114, 128, 0.15); }
.fp-field-error { outline: 2px solid #dc2626; border-radius: 6px; }
.fp-field-message { color: #dc2626; font-size: 0.85em; margin: 2px 0 6px 4px; }
.fp-failed { border-left: 4px solid #dc2626; padding: 2px 10px; background: rgba(220, 38, 38, 0.06); }
.fp-note { border-left: 4px solid #f59e0b; padding: 2px 10px; background: rgba(245, 158, 11, 0.08); }
.tab-wrapper .tab-container, [role="tablist"] { flex-wrap: wrap !important; overflow: visible !important; }
/* The intro's two sentences read as one paragraph (the phone shows the first alone). */
.fp-intro p { display: inline; }
.fp-intro p + p::before { content: " "; }
/* The sticky action bar sits above every field's label and editor (z-index), and scrolling a field into view
   (focus, a click) keeps it clear of the bar, so the bar never covers or takes a click meant for a field. */
.fp-actions { z-index: 60; }
html { scroll-padding-bottom: 120px; scroll-padding-top: 8px; }  /* clear of the bar, also the phone's fixed one */
/* The red "Error" pill Gradio draws on a failed event's output is not drawn on a status line: the line itself says
   what failed (❌ Not sent / Failed), the field is marked and the toast names it; a fourth signal was one too many. */
.fp-status > [data-testid="status-tracker"]:has(> .error) { display: none !important; }
/* A run held back in the page (a number box the browser cannot read): its "Not sent" line stands alone, not above
   the "Ready" or last run's status it would contradict (shown again once the field is fixed and the run goes). */
.fp-status:has(> .fp-failed[data-fp-field-error]) > .html-container { display: none; }
/* The picked model's long name ends before the picker's arrow (it ran under it on a phone). */
#models-picker input { padding-right: 28px; text-overflow: ellipsis; }
/* Wide tables (a sweep's cells) scroll sideways instead of being clipped. */
.fp-sweep table { display: block; max-width: 100%; overflow-x: auto; }
/* Code views (Markdown code blocks, components.markdown_blocks): long lines scroll, a long snippet scrolls. */
.fp-code pre { max-height: 480px; overflow: auto; white-space: pre; padding-top: 2.2em; }  /* below the copy button */
@media (max-width: 640px) {
  /* The phone's first screen reaches the form: the intro's first sentence, the banner and the providers' line in
     smaller type (the form started below the fold, at 930 px of 844). */
  .fp-intro h1 { font-size: 1.6em; margin-bottom: 4px; }
  .fp-intro p + p { display: none; }
  .block.fp-banner p, .block.fp-badge p { font-size: 13px; line-height: 1.4; margin: 0; }
  .block.fp-banner { padding: 4px 10px; }
  /* The tabs one row that scrolls sideways (wrapped, they took four rows), the next tab's name cut at the edge. */
  .tab-wrapper .tab-container { flex-wrap: nowrap !important; overflow-x: auto !important; scrollbar-width: thin;
    mask-image: linear-gradient(to right, #000 80%, transparent); }  /* fades out: more tabs to the side */
  .tab-wrapper .tab-container > button { padding: 4px 8px !important; font-size: 0.9em; flex: none; white-space: nowrap; }
  /* Section headers (Advanced, Result JSON, ...) a finger can hit: Gradio's are 20 px high. */
  button.label-wrap { min-height: 36px; align-items: center; }
  /* Small buttons (Load example, Reuse this seed, Code, Copy link, ...) a finger can hit: Gradio's are 26 px high. */
  button.sm { min-height: 36px; }
  /* A slider's number box and its reset button (Gradio's are 24 px high, the button 24 px wide). */
  .tab-like-container { height: 36px !important; }
  .tab-like-container .reset-button { min-width: 36px !important; }
  /* A sweep's grid keeps a legible height and scrolls sideways, instead of shrinking its labels to specks. */
  .fp-grid .image-frame { overflow-x: auto; justify-content: flex-start !important; }
  .fp-grid .image-frame img { height: min(45vh, 420px) !important; width: auto !important; max-width: none !important;
    min-width: 100%; flex: none !important; object-fit: contain; }
  /* A sweep's cells two to a row (four did not fit: Gradio's tiles are at least 100 px wide, and the fourth was cut
     off); more rows scroll inside the gallery. */
  .fp-sweep-cells .grid-container { --grid-cols: 2 !important; }
  /* The phone: the action bar is one short line of estimate and one row of buttons (about 10 % of the height),
     fixed at the foot of the screen wherever the page is scrolled. Sticky, it stayed at the end of the form, which
     on a phone is above the status and the result: while a run's status was shown, Stop was 2,000 px away. */
  .fp-actions { padding: 4px 12px calc(4px + env(safe-area-inset-bottom)) !important; gap: 4px !important;
    position: fixed !important; left: 0; right: 0; bottom: 0; box-shadow: 0 -2px 6px rgba(0, 0, 0, 0.08); }
  /* The end of the page clear of the bar. (Rules in a media query reach only blocks: Gradio puts its container
     and ".contain" before each selector there, so ".gradio-container" and "html" match nothing.) */
  #history { margin-bottom: 96px !important; }
  .fp-actions .fp-estimate p { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-size: 0.8em;
    margin: 0; }
  .fp-actions .row, .fp-actions .form { flex-wrap: nowrap !important; gap: 6px !important; }
  .fp-actions button { min-width: 0 !important; min-height: 40px; padding: 4px 8px; }
  /* A result on a phone: the pane as tall as the image, its caption and thumbnails, not the desktop's 560 px (a 4:3
     image is 245 px high at 390 px wide, which left 235 px of empty pane between the status and the actions). */
  /* Not while the gallery is fullscreen: the image fills the screen there. */
  .fp-result-gallery:not(:fullscreen).block { height: auto !important; }
  .fp-result-gallery:not(:fullscreen) .gallery-container:has(> .preview) { height: auto !important; }
  .fp-result-gallery:not(:fullscreen) .gallery-container:has(> .preview) > .grid-wrap { display: none !important; }
  .fp-result-gallery:not(:fullscreen) .preview { height: auto !important; position: relative !important; inset: auto !important;
    display: flex !important; flex-direction: column !important; }
  .fp-result-gallery:not(:fullscreen) .preview .media-button { height: auto !important; flex: none !important; }
  .fp-result-gallery:not(:fullscreen) .preview .media-button img { height: auto !important; max-height: 70vh; }
  .fp-result-gallery:not(:fullscreen) .preview > .caption, .fp-result-gallery:not(:fullscreen) .preview > .thumbnails { position: static !important;
    flex: none !important; }
}
"""
# Ctrl/Cmd+Enter presses the visible tab's Generate button.
# A number box holding text the browser cannot read as a number ("12e") reports an empty value, which a form takes
# as "left empty" (a random seed): Generate (and a sweep's Plan and Run) is held back in the page and the field
# named, as the server names a refused one (the note goes with the next status, ``endpoint_tab.STATUS_SHOWN_JS``).
HEAD = """<script>
// A field's message next to it, and clearing a tab's messages: for the server's refusals (``STATUS_SHOWN_JS``)
// and the number boxes below.
window.fpFieldNotes = {
  clear(api) {
    document.querySelectorAll(`[data-fp-field-error="${api}"]`).forEach((n) => n.remove());
    document.querySelectorAll(`.fp-field-error[id^="${api}-"]`).forEach((n) => n.classList.remove("fp-field-error"));
  },
  mark(api, box, text) {
    box.classList.add("fp-field-error");
    const note = document.createElement("div");
    note.className = "fp-field-message";
    note.setAttribute("data-fp-field-error", api);
    note.textContent = `⚠ ${text}`;
    box.insertAdjacentElement("afterend", note);
  },
};
// Before the field's own keydown (capture): a number box holding "12e" empties itself on Enter, and the run went
// out with a random seed; pressed first, Generate's check below sees the box as typed and holds the run back.
document.addEventListener("keydown", (e) => {
  if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey)) return;
  const buttons = [...document.querySelectorAll("button[id$='-generate']")].filter(b => b.offsetParent !== null);
  if (buttons.length) { e.preventDefault(); e.stopPropagation(); buttons[0].click(); }
}, true);
// A sweep's values boxes: their placeholders give values the axis's field takes (window.__fpAxisExamples), set
// when a box gets the focus and after a click in the sweep (an axis picked from its list).
const fpAxisHints = (api) => {
  for (const axis of ["x", "y"]) {
    const box = document.querySelector(`#${api}-sweep-${axis}-values input`);
    const field = (document.querySelector(`#${api}-sweep-${axis}-field input`) || {}).value;
    const example = ((window.__fpAxisExamples || {})[api] || {})[field];
    if (box && example !== undefined) box.placeholder = example;
  }
};
for (const kind of ["focusin", "click"]) {
  document.addEventListener(kind, (e) => {
    const sweep = e.target instanceof Element && e.target.closest("[id$='-sweep']");
    if (sweep) setTimeout(() => fpAxisHints(sweep.id.slice(0, -"-sweep".length)), 50);
  });
}
document.addEventListener("click", (e) => {
  const button = e.target instanceof Element && e.target.closest(
    "button[id$='-generate'], button[id$='-sweep-run'], button[id$='-sweep-plan']");
  if (!button) return;
  const sweep = /-sweep-(run|plan)$/.test(button.id);
  const api = button.id.replace(/-(generate|sweep-run|sweep-plan)$/, "");
  const bad = [...document.querySelectorAll(`[id^="${api}-"] input[type=number]`)].filter(
    (input) => input.validity && input.validity.badInput && input.offsetParent !== null);
  window.fpFieldNotes.clear(api);
  if (!bad.length) return;
  e.preventDefault();
  e.stopImmediatePropagation();
  const names = bad.map((input) => {
    const box = input.closest(`[id^="${api}-"]`);
    const label = (box && box.querySelector("[data-testid='block-info']") || {}).textContent || "A number field";
    const message = `${label.trim()}: must be a number`;
    if (box) window.fpFieldNotes.mark(api, box, message);
    return message;
  });
  const status = document.getElementById(sweep ? `${api}-sweep-status` : `${api}-status`);
  if (status) {
    const note = document.createElement("div");
    note.className = "fp-failed";
    note.setAttribute("data-fp-field-error", api);
    note.textContent = `❌ Not sent: ${names.join("; ")}.`;
    status.prepend(note);
  }
  bad[0].focus();
}, true);
</script>"""


def upload_roots() -> tuple[Path, ...]:
    """Where Gradio keeps files visitors upload: the only local files a provider may send on."""
    return (Path(gr.utils.get_upload_folder()),)


def make_backends(
    settings: ProviderSettings, *, sandbox_url: str | None = None, force_sandbox: bool = False
) -> Backends:
    """Live providers on the configured URLs, plus sandbox providers when a sandbox serves at ``sandbox_url``."""
    roots = upload_roots()
    live = build_providers(settings, local_file_roots=roots)
    sandbox = None
    if sandbox_url is not None:
        sandbox = build_providers(
            sandbox_settings(sandbox_url, settings.timeouts), local_file_roots=roots, is_sandbox=True
        )
    return Backends(live=live, sandbox=sandbox, force_sandbox=force_sandbox)


def make_context(
    backends: Backends, settings: AppSettings | Mapping[str, str] | None = None, *, media: MediaStore | None = None
) -> AppContext:
    """The shared pieces: runner (prices, budgets), per-visitor limits, from ``settings`` (or an environment
    mapping, read through ``Settings``; ``None``: the process environment)."""
    if not isinstance(settings, AppSettings):
        settings = Settings.from_env(settings)
    limits = BudgetLimits(daily_usd=settings.budget_usd, visitor_daily_usd=settings.visitor_budget_usd)
    folder = data_dir(settings.data_dir, settings.platform_env)
    database_url = settings.database_url.get_secret_value() if settings.database_url else None
    store = open_store(database_url, folder)  # the ledger's and the cache's; connects lazily
    guard = None
    if not limits.unlimited:
        guard = BudgetGuard(SpendLedger(store), limits)
    cache_settings = CacheSettings(
        enabled=settings.cache, days=settings.cache_days, max_bytes=int(settings.cache_mb * 1024 * 1024)
    )
    cache = (ResultCache(store, folder / CACHE_FOLDER, cache_settings, upload_roots=upload_roots())
             if cache_settings.enabled else None)
    live_prices, sandbox_prices = PriceBook(), PriceBook()  # the sandbox publishes its own prices

    def estimate(endpoint: EndpointSpec, wire: dict[str, Any], route: ProviderRoute,
                 output_sizes: Sequence[Size] | None = None, input_sizes: Sequence[Size] | None = None) -> Cost:
        book = sandbox_prices if route.is_sandbox else live_prices
        return book.estimate(endpoint, wire, output_sizes=output_sizes, input_sizes=input_sizes)

    runner = Runner(
        media or MediaStore(),
        estimate=estimate,
        settle=lambda estimate, state, extras, provider: actual_cost(
            estimate, state=state, extras=extras, provider=provider
        ),
        guard=guard,
        cache=cache,
        upload_roots=upload_roots(),
    )
    sweep_limits = SweepLimits(
        max_cells=settings.sweep_max_cells,
        concurrency=settings.sweep_concurrency(),
        max_sweeps=settings.max_sweeps,
        max_grid_pixels=settings.sweep_max_grid_pixels,
    )
    ctx = AppContext(
        backends=backends,
        runner=runner,
        visitor_slots=VisitorSlots(settings.visitor_concurrency),
        trusted_proxies=settings.trusted_proxies,
        max_upload_bytes=settings.max_upload_bytes,
        upload_limits=settings.upload_limits,
        mcp=settings.mcp,
        sweep_limits=sweep_limits,
        sweep_slots=SweepSlots(sweep_limits.max_sweeps),
        sandbox_step_seconds=settings.sandbox_step_seconds,
        live_prices=live_prices,
        sandbox_prices=sandbox_prices,
    )
    return ctx


def build_app(ctx: AppContext, *, lazy_tabs: bool | None = None) -> gr.Blocks:
    """The page. ``lazy_tabs`` (default: on the tested Gradio, where the page's config can leave the API copies out,
    ``components.page_config``): the seed tabs after the first are drawn when first opened."""
    if lazy_tabs is None:
        lazy_tabs = fixes_active()
    cap_url_files(ctx.max_upload_bytes, ctx.upload_ledger)  # a file given by URL: the upload limit and allowance
    backends = ctx.backends
    with PlaygroundBlocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        Prose(
            f"# {TITLE}\nExplore hosted FLUX image models: pick a tab, adjust the form, press **Generate**.\n\n"
            "Status and provider logs stream in while the job runs; each image is captioned with its seed and NSFW flag.",
            elem_classes=["fp-intro"],
        )
        banner_text = sandbox_banner(backends)
        banner = Prose(banner_text, visible=bool(banner_text), elem_classes=["fp-banner"])
        badge = Prose(badge_text(backends, {}), elem_classes=["fp-badge"])
        session_keys = build_settings_panel(backends, badge, banner)
        spend = SessionSpend.build()
        now, later = (ENDPOINTS[:1], ENDPOINTS[1:]) if lazy_tabs else (ENDPOINTS, [])
        # The named API endpoints and MCP tools of the seed tabs drawn later (components.lazy_tab): built with the
        # app, never sent to the page (components.page_config).
        api_tabs = {}
        if later:
            with gr.Column(visible=False, elem_id=API_SURFACE_ID):
                api_tabs = {spec.api_name: build_tab(spec, ctx, session_keys, spend) for spec in later}
                for api_tab in api_tabs.values():
                    api_tab.after_record.wire()
        records = gr.State(None)  # each run and sweep of a tab drawn later, for the history
        # The States of tabs drawn later live outside the tabs (docs/upstream.md §10)
        lazy_states = {spec.api_name: tab_states(session_keys) for spec in later}
        picked_states = models_states(session_keys)
        drawn: list[EndpointTab] = []
        forms: dict[str, FormTarget] = {}
        with gr.Tabs(overflow_behavior="wrap", elem_id="endpoint-tabs") as tabs:
            for index, spec in enumerate(now):
                with gr.Tab(spec.label, id=spec.api_name):
                    drawn.append(build_tab(spec, ctx, session_keys, spend))
                forms[spec.api_name] = DrawnForm(drawn[-1])
                if index == 0:
                    # Second: the way to every other model, in view on a phone (whose tab row scrolls sideways).
                    with gr.Tab("Models", id=TAB_ID):
                        models = build_models_tab(ctx, session_keys, spend, picked_states, records)
            for spec in later:
                with gr.Tab(spec.label, id=spec.api_name) as item:
                    forms[spec.api_name] = build_lazy_tab(item, api_tabs[spec.api_name], lazy_states[spec.api_name],
                                                          ctx, session_keys, spend, records)
        add_model_apis(ctx)
        panel = build_history_panel(ctx, tabs, forms, drawn, models)
        for tab in drawn:
            tab.after_record.wire()  # after the history's step (components.after_record)
        refresh_on_load(demo, panel)
        wire_share_links(demo, tabs, forms, models)
    return demo


CACHED = {"Cache-Control": "public, max-age=86400, immutable"}  # a name never changes its content


def media_routes(runner: Runner) -> list[Route]:
    """``GET /media/{name}``: stored result images by name only (``<run id>/<file>`` or a hash; checked, never a
    free path), cached by browsers. A live provider's image still being copied is waited for (the page shows it by
    this URL), and served as soon as it is tagged, before its file is written; one whose copy failed sends the
    browser to the provider's own URL."""
    media = runner.media

    def stored(name: str) -> bytes | Path | None:
        """A stored file's bytes from memory when it is one of the newest (a run's image asked for right after the
        run), else its path; None when there is no such file (memory never outlives the file)."""
        path = media.path_of(name)
        if path is None:
            return None
        data = media.recent(name)
        return data if data is not None else path

    async def serve(request: Request) -> Response:
        name = request.path_params["name"]
        found = stored(name)
        if found is None:
            waited = await runner.await_image(name)
            found = waited if isinstance(waited, bytes) else stored(name)
            if found is None:
                if isinstance(waited, str) and is_provider_media(waited):  # only ever a provider's own host
                    return RedirectResponse(waited, status_code=307, headers={"Cache-Control": "no-store"})
                return Response("not found", status_code=404)
        media_type = CONTENT_TYPES.get("." + name.rsplit(".", 1)[-1], "application/octet-stream")
        if isinstance(found, bytes):
            return Response(found, media_type=media_type, headers=CACHED)
        return FileResponse(found, media_type=media_type, headers=CACHED)

    return [Route("/media/{name:path}", serve, methods=["GET"])]


def app_lifespan(ctx: AppContext):
    """While the app runs, drop idle and closed sessions; at shutdown, close the providers and remove its folders."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        reaper = asyncio.create_task(SessionReaper(app.state_holder, ctx.busy_sessions, ctx.sessions).run_forever())
        try:
            yield
        finally:
            try:
                reaper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reaper
            finally:
                await ctx.backends.aclose()
                await ctx.close_store()
                ctx.cleanup()

    return lifespan


def launch_kwargs(ctx: AppContext) -> dict[str, Any]:
    """What ``launch()`` needs besides the address: the media route, shutdown, theme and limits (uploads included).

    The media folder is a static path for Gradio, so gallery images are served from it in place instead of being
    copied into Gradio's cache (one copy per image).
    """
    gr.set_static_paths([str(ctx.runner.media.root)])
    # Uvicorn (which Gradio starts with its defaults) replaces the socket address of a connection from loopback by
    # an X-Forwarded-For entry; any local client could then pick its own identity. The app reads the header itself,
    # as far as PLAYGROUND_TRUSTED_PROXIES says (runs.visitors.client_address), so uvicorn must keep the real socket.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    trim_page_config()  # the page's embedded config without the API schemas its frontend never reads
    return {
        "css": CSS,
        "head": HEAD + axis_examples_script(all_endpoints()),
        "theme": gr.themes.Soft(),
        "footer_links": ["api"],
        # Gradio's own run history (every run's inputs and outputs, 100 of them, in this browser's localStorage, with
        # a page at /gradio_api/runs this app does not link) is off: the app has its History panel, whose Delete
        # could not reach Gradio's copy, and the page parsed and rewrote that list at each load and each run.
        # Off also deletes what an earlier version of the app left in the browser.
        "run_history": False,
        "max_threads": MAX_THREADS,
        "state_session_capacity": STATE_SESSION_CAPACITY,
        "max_file_size": ctx.max_upload_bytes,  # larger uploads are refused with HTTP 413 before they are stored
        "mcp_server": ctx.mcp,
        # Gradio's default (None) serves /monitoring/summary to anyone: every visitor's events, counted and timed
        # per function. Off: 403 (gradio_fixes' queue still makes the summary only when read).
        "enable_monitoring": False,
        "app_kwargs": {
            "lifespan": app_lifespan(ctx),
            # The media route, and Gradio's frontend files the app corrects (components/frontend_fixes.py).
            "routes": [*media_routes(ctx.runner), *frontend_routes()],
            # The page, the config and API description clients read, and Gradio's frontend files from memory
            # (components/page_cache.py), then gzip.
            # First, who is calling (components/session_owners.py: a full session store drops the sessions of the
            # address holding the most), how large a request body may be, and how much each address uploads
            # (components/upload_quota.py).
            "middleware": [Middleware(CallerAddress, trusted_proxies=ctx.trusted_proxies),
                           Middleware(BodyLimit),
                           Middleware(UploadQuota, ledger=ctx.upload_ledger, trusted_proxies=ctx.trusted_proxies),
                           Middleware(PageCache), Middleware(AssetCache, revalidated=fixed_paths()),
                           Middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)],
        },
    }


def freeze_built_objects() -> None:
    """Leave what exists once the app is built (Gradio, the blocks and their configs, the catalog: ~230,000
    objects, all kept until the process ends) out of the cyclic garbage collector's full passes. Each full pass
    otherwise walks them all while the event loop waits: up to ~200 ms at 50 visitors. Call it once, after
    ``build_app`` and before ``launch``."""
    gc.collect()
    gc.freeze()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"FLUX Playground cannot start: {exc}")
    providers = settings.provider_settings()
    force = settings.sandbox
    sandbox = None
    if force or any(providers.key(spec.name) is None for spec in CATALOG):
        from sandbox import SandboxOptions, start_sandbox  # loaded only when a sandbox runs

        sandbox = start_sandbox(SandboxOptions(step_seconds=settings.sandbox_step_seconds))
        log.info("sandbox running at %s (synthetic images)", sandbox.url)
    backends = make_backends(providers, sandbox_url=sandbox.url if sandbox else None, force_sandbox=force)
    # The model catalog (PLAYGROUND_ENDPOINTS), its documents fetched or read before the event loop starts. Catalog
    # endpoints get no tab: the tabs are the five seeds (ENDPOINTS); the catalog is endpoints.catalog_endpoints().
    catalog = load_catalog(
        settings.endpoints,
        openapi_url=settings.openapi_url,
        data_dir=data_dir(settings.data_dir, settings.platform_env),
        fetch=settings.fetch_documents(),
        seeds=ENDPOINTS,
    )
    install_catalog(catalog.specs)
    log.info("catalog: %d models (%s)", len(catalog.specs), ", ".join(sorted(set(catalog.sources.values()))) or "none")
    ctx = make_context(backends, settings)
    demo = build_app(ctx)
    demo.queue(max_size=1024, default_concurrency_limit=None)
    freeze_built_objects()
    try:
        demo.launch(**launch_kwargs(ctx))
    finally:
        if sandbox is not None:
            sandbox.stop()


if __name__ == "__main__":
    main()
