"""Sweeps pay only for new cells: at plan time, each cell is looked up in the result cache.

A cell is cached only when its input carries an explicit seed (``cache_key`` says None otherwise); the plan draws
random seeds once (``plan_sweep``), so a repeated or widened plan finds the cells it already ran. The lookup uses the
runner's own key scope (``runs.runner.cache_scope``): what the plan counts as cached is what the run will serve.
No Gradio here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from endpoints.base import EndpointSpec
from providers.routing import Route
from runs.result_cache import ResultCache
from runs.runner import cache_scope
from runs.sweep.plan import CostOf, SecondsPerJob, SweepPlan, with_cached

log = logging.getLogger(__name__)


async def cached_cells(plan: SweepPlan, cache: ResultCache | None, route_for: Callable[[EndpointSpec], Route]) -> set[int]:
    """Indices of the plan's cells the cache would serve now."""
    if cache is None or not cache.enabled:
        return set()

    async def lookup(index: int) -> int | None:
        cell = plan.cells[index]
        provider, own_key = cache_scope(route_for(cell.endpoint))
        key = await cache.key_for(cell.endpoint, provider, cell.input, own_key=own_key)
        return index if key is not None and await cache.contains(key) else None

    try:
        found = await asyncio.gather(*(lookup(i) for i in range(len(plan.cells))))
    except Exception:  # a cache that cannot be read: every cell runs (and is billed), as without a cache
        log.warning("result cache lookup failed for sweep plan %s", plan.id, exc_info=True)
        return set()
    return {i for i in found if i is not None}


async def plan_with_cache(
    plan: SweepPlan,
    cache: ResultCache | None,
    route_for: Callable[[EndpointSpec], Route],
    *,
    cost_of: CostOf,
    seconds_per_job: SecondsPerJob,
    concurrency: Mapping[str, int],
) -> SweepPlan:
    """``plan`` with its cached cells counted apart ("16 cells: 12 from cache, 4 to run · est. $0.20")."""
    found = await cached_cells(plan, cache, route_for)
    return with_cached(plan, found, cost_of, seconds_per_job, concurrency)
