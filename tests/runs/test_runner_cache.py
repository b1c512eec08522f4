"""The run engine with the result cache, on the sandbox: a hit sends nothing and bills nothing, "run again" does,
unseeded runs are never cached, own-key runs stay with their key, and a hit never hands out a provider URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from endpoints import get_endpoint
from providers.base import Credentials
from providers.routing import Route
from runs.record import Cost, RunRecord
from runs.result_cache import ResultCache
from runs.storage import SqliteStore

FLUX_PRO = get_endpoint("flux_pro")
MEDIA = "http://app.test/media/"
VALUES = {"prompt": "a lighthouse at dusk", "image_size": {"width": 64, "height": 48}, "num_inference_steps": 4,
          "seed": 7}


class CountingGuard:
    def __init__(self) -> None:
        self.reserved: list[Cost] = []

    async def reserve(self, visitor: str, estimate: Cost) -> object:
        self.reserved.append(estimate)
        return object()

    async def settle(self, reservation: object, actual: Cost) -> None:
        return None


@pytest.fixture
def cached_rig(rig, tmp_path: Path):
    rig.runner.cache = ResultCache(SqliteStore(tmp_path / "state.sqlite3"), tmp_path / "cache")
    return rig


async def run(rig, values=VALUES, route: Route | None = None, **kwargs) -> RunRecord:
    payload = FLUX_PRO.input_model.model_validate(values)
    async with asyncio.timeout(20):
        updates = [u async for u in rig.runner.run(FLUX_PRO, payload, route or rig.route("fal"),
                                                    media_url=lambda n: MEDIA + n, **kwargs)]
    await rig.runner.drain()  # the entry is written off the critical path
    record = updates[-1].record
    assert record is not None and record.state == "done", record
    return record


def submits(rig) -> int:
    return int(rig.stats()["submits"].get(FLUX_PRO.id, 0))


async def test_a_hit_sends_nothing_and_costs_nothing(cached_rig) -> None:
    first = await run(cached_rig)
    assert not first.cached and submits(cached_rig) == 1
    second = await run(cached_rig)
    assert submits(cached_rig) == 1  # nothing reached the provider
    assert second.cached and second.request_id == first.request_id and second.result["cached"] is True
    assert second.cost.usd == 0.0
    assert second.cost.basis.startswith("from cache (first run ") and f"request {first.request_id})" in second.cost.basis
    assert second.request is not None and second.request.body == first.request.body  # the code for it still exists
    image = second.result["images"][0]
    path = cached_rig.runner.media.path_of(image["file"])
    assert image["url"] == MEDIA + image["file"] and path is not None
    assert path.read_bytes() == cached_rig.runner.media.path_of(first.result["images"][0]["file"]).read_bytes()
    assert RunRecord.from_json(second.to_json()) == second


async def test_run_again_anyway_goes_to_the_provider_and_replaces_the_entry(cached_rig) -> None:
    first = await run(cached_rig)
    again = await run(cached_rig, no_cache=True)
    assert not again.cached and submits(cached_rig) == 2 and again.request_id != first.request_id
    hit = await run(cached_rig)
    assert hit.cached and hit.request_id == again.request_id


async def test_an_unseeded_run_is_never_cached(cached_rig) -> None:
    values = {k: v for k, v in VALUES.items() if k != "seed"}
    await run(cached_rig, values)
    second = await run(cached_rig, values)
    assert not second.cached and submits(cached_rig) == 2
    assert await cached_rig.runner.cache.store.cache_stats() == (0, 0)


async def test_an_own_key_run_is_served_to_that_key_only(cached_rig) -> None:
    provider = cached_rig.providers.get("fal")
    mine = Route(provider, Credentials("visitor-a:secret", source="session"), "session_key")
    theirs = Route(provider, Credentials("visitor-b:secret", source="session"), "session_key")
    await run(cached_rig, route=mine)
    assert not (await run(cached_rig, route=theirs)).cached
    assert not (await run(cached_rig)).cached  # nor to the server's key
    assert (await run(cached_rig, route=mine)).cached
    assert submits(cached_rig) == 3


async def test_a_hit_is_not_charged_to_the_budget(cached_rig) -> None:
    guard = cached_rig.runner.guard = CountingGuard()
    provider = cached_rig.providers.get("fal")
    server = Route(provider, Credentials("server:key"), "server_key")
    await run(cached_rig, route=server)
    await run(cached_rig, route=server)
    assert len(guard.reserved) == 1


async def test_a_hit_never_hands_out_the_provider_url(cached_rig) -> None:
    first = await run(cached_rig)
    cached_rig.sandbox.stop()  # every URL the provider gave is dead now
    second = await run(cached_rig)
    assert second.cached and second.result["images"][0]["url"].startswith(MEDIA)
    assert first.result["images"][0]["file"] != "" and submits is not None
