"""FLUX Playground: a tab per hosted FLUX endpoint, forms from schemas, live provider status and logs.

``build_app(backends)`` returns the Blocks with no side effects; ``python app.py`` starts the embedded sandbox
when a provider has no key (or ``PLAYGROUND_SANDBOX=1``), builds the providers and launches.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import gradio as gr

from components.endpoint_tab import build_endpoint_tab
from components.settings_panel import badge_text, build_settings_panel, sandbox_banner
from endpoints import ENDPOINTS
from providers.config import ProviderSettings
from providers.media import MediaStore
from providers.registry import build_providers
from providers.routing import Backends

log = logging.getLogger("flux_playground")

TITLE = "FLUX Playground"
CSS = """
.fp-banner { border-left: 4px solid #f59e0b; padding: 6px 12px; background: rgba(245, 158, 11, 0.08); }
.fp-badge { font-size: 0.95em; }
"""


def upload_roots() -> tuple[Path, ...]:
    """Where Gradio keeps files visitors upload: the only local files a provider may send on."""
    return (Path(gr.utils.get_upload_folder()),)


def make_backends(
    settings: ProviderSettings,
    *,
    sandbox_urls: tuple[str, str, str] | None = None,
    force_sandbox: bool = False,
    media: MediaStore | None = None,
) -> Backends:
    """Live providers on the configured URLs, plus sandbox providers when ``sandbox_urls`` (queue, rest, segmind)."""
    media = media or MediaStore()
    roots = upload_roots()
    live = build_providers(settings, media=media, local_file_roots=roots)
    sandbox = None
    if sandbox_urls is not None:
        queue, rest, segmind = sandbox_urls
        sandbox_settings = ProviderSettings(
            fal_queue_url=queue, fal_rest_url=rest, segmind_api_url=segmind, timeouts=settings.timeouts
        )
        sandbox = build_providers(
            sandbox_settings, media=media, local_file_roots=roots, fal_is_sandbox=True, segmind_is_sandbox=True
        )
    return Backends(live=live, sandbox=sandbox, force_sandbox=force_sandbox)


def build_app(backends: Backends) -> gr.Blocks:
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.Markdown(
            f"# {TITLE}\nExplore hosted FLUX image models: pick a tab, adjust the form, press **Generate**. "
            "Status and provider logs stream in while the job runs; each image is captioned with its seed and NSFW flag."
        )
        banner = sandbox_banner(backends)
        if banner:
            gr.Markdown(banner, elem_classes=["fp-banner"])
        badge = gr.Markdown(badge_text(backends, {}), elem_classes=["fp-badge"])
        session_keys = build_settings_panel(backends, badge)
        with gr.Tabs():
            for spec in ENDPOINTS:
                with gr.Tab(spec.label, id=spec.api_name):
                    build_endpoint_tab(spec, backends, session_keys)
    return demo


def lifespan_closing(backends: Backends):
    @contextlib.asynccontextmanager
    async def lifespan(app) -> AsyncIterator[None]:
        yield
        await backends.aclose()

    return lifespan


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = ProviderSettings.from_env()
    force = _truthy(os.environ.get("PLAYGROUND_SANDBOX"))
    sandbox = None
    if force or not settings.fal_key or not settings.segmind_key:
        from sandbox import SandboxOptions, start_sandbox

        sandbox = start_sandbox(SandboxOptions(step_seconds=float(os.environ.get("SANDBOX_STEP_SECONDS", "0.15"))))
        log.info("sandbox running at %s (synthetic images)", sandbox.url)
    backends = make_backends(
        settings,
        sandbox_urls=(sandbox.fal_queue_url, sandbox.fal_rest_url, sandbox.segmind_api_url) if sandbox else None,
        force_sandbox=force,
    )
    demo = build_app(backends)
    demo.queue(max_size=256, default_concurrency_limit=None)
    try:
        demo.launch(
            css=CSS,
            theme=gr.themes.Soft(),
            footer_links=["api"],
            app_kwargs={"lifespan": lifespan_closing(backends)},
            allowed_paths=[str(backends.live.media.root)],
        )
    finally:
        if sandbox is not None:
            sandbox.stop()


if __name__ == "__main__":
    main()
