"""The sandbox ASGI app: fal queue, fal storage, fal CDN, Segmind v1 and test introspection under one server.

{base}/fal/queue   fal queue API (FAL_QUEUE_URL)        sandbox/fal_queue.py
{base}/fal/rest    storage token and upload initiation  sandbox/storage.py   (FAL_REST_URL)
{base}/fal/cdn     uploads and file serving             sandbox/storage.py
{base}/segmind     Segmind v1 (SEGMIND_API_URL)         sandbox/segmind.py
{base}/fal/api     fal platform API: model pricing      sandbox/pricing_routes.py   (FAL_API_URL)
{base}/bfl         Black Forest Labs API (BFL_API_URL)  sandbox/bfl.py
{base}/_sandbox    GET stats, POST reset                (for tests)
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from endpoints import catalog_endpoints
from providers.catalog import CATALOG, ProviderSpec
from sandbox.http import json_response, server_base
from sandbox.options import SandboxOptions
from sandbox.state import SandboxState


def base_urls(base: str) -> dict[str, str]:
    """The environment the app needs to talk to a sandbox at ``base``: every catalog provider's URLs."""
    return {k: v for spec in CATALOG for k, v in spec.sandbox_urls(base).items()}


def provider_mounts(spec: ProviderSpec) -> Callable[[SandboxState], list[BaseRoute]]:
    """The function ``spec.sandbox`` names (``"sandbox.bfl:mounts"``)."""
    module, _, name = (spec.sandbox or "").partition(":")
    found: Callable[[SandboxState], list[BaseRoute]] = getattr(importlib.import_module(module), name)
    return found


def create_app(options: SandboxOptions | None = None) -> Starlette:
    """A fresh sandbox (its state is ``app.state.sandbox``). Raises FaultSpecError for bad ``options.faults``."""
    state = SandboxState(options or SandboxOptions())
    catalog_endpoints()  # the catalog's models are built here, not on the event loop at the first request

    async def index(request: Request) -> Response:
        return json_response(
            {"sandbox": "FLUX Playground sandbox: synthetic images only", **base_urls(server_base(request))}
        )

    async def stats(request: Request) -> Response:
        return json_response(
            {
                **state.stats.to_json(),
                "jobs": state.jobs.counts(),
                "queue": [job.request_id for job in state.jobs.waiting],
                "runners_busy": len(state.jobs.running),  # of ``capacity``: a leaked runner would stall the queue
                "segmind_credits": state.segmind.credits,
                "stored_files": len(state.storage.files),
                "stored_bytes": state.storage.files.total_bytes,
            }
        )

    async def reset(request: Request) -> Response:
        await state.reset()
        return json_response({"reset": True})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await state.aclose()

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            *(route for spec in CATALOG if spec.sandbox for route in provider_mounts(spec)(state)),
            Route("/_sandbox/stats", stats, methods=["GET"]),
            Route("/_sandbox/reset", reset, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.state.sandbox = state
    return app
