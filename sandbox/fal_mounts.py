"""fal's side of the sandbox: the queue, storage (REST and CDN) and the platform API's pricing, mounted where the
catalog's fal URLs point (``FAL_QUEUE_URL``, ``FAL_REST_URL``, ``FAL_API_URL``)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from sandbox.fal_queue import QUEUE_PREFIX, fal_queue_routes
from sandbox.pricing_routes import API_PREFIX, pricing_routes
from sandbox.state import SandboxState
from sandbox.storage import CDN_PREFIX
from sandbox.storage_routes import cdn_routes, storage_rest_routes

REST_PREFIX = "/fal/rest"


def mounts(state: SandboxState) -> list[BaseRoute]:
    return [
        Mount(QUEUE_PREFIX, routes=fal_queue_routes(state)),
        Mount(REST_PREFIX, routes=storage_rest_routes(state)),
        Mount(CDN_PREFIX, routes=cdn_routes(state)),
        Mount(API_PREFIX, routes=pricing_routes(state)),
    ]
