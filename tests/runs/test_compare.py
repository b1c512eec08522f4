"""Comparing hosts: the ``provider`` sweep axis and each provider's latency and cost figures (runs/compare.py)."""

from __future__ import annotations

import pytest

from endpoints import get_endpoint
from endpoints.models import serving_endpoints
from runs.compare import host_caption, host_figures, latency_of
from runs.pricing import estimate_cost
from runs.record import Cost, RunRecord, Timings
from runs.sweep import (
    PROVIDER_FIELD,
    SweepError,
    parse_axis,
    parse_json_axis,
    plan_sweep,
    sweepable_fields,
)

FAL_11 = "fal-ai/flux-pro/v1.1"
BFL_11 = "flux-pro-1.1"


def base() -> dict:
    return {"prompt": "a red fox in fresh snow", "image_size": "landscape_4_3", "seed": 5, "safety_tolerance": "3"}


def plan(x, y=None):
    spec = get_endpoint(FAL_11)
    return plan_sweep(spec, base(), x, y, cost_of=lambda s, w: estimate_cost(s, w, s.price),
                      seconds_per_job=lambda s, w: 5.0)


def test_the_provider_axis_is_offered_only_where_several_hosts_sell_the_model():
    assert PROVIDER_FIELD in sweepable_fields(get_endpoint(FAL_11))
    assert PROVIDER_FIELD in sweepable_fields(get_endpoint(BFL_11))
    assert PROVIDER_FIELD not in sweepable_fields(get_endpoint("flux_pro"))  # FLUX.1 [pro]: fal only here
    assert [s.provider for s in serving_endpoints(get_endpoint(FAL_11))] == ["fal", "bfl"]


@pytest.mark.parametrize("text", ["all", "fal, bfl", "fal.ai, Black Forest Labs", "fal-ai/flux-pro/v1.1, flux-pro-1.1"])
def test_providers_by_name_title_id_or_all(text):
    spec = get_endpoint(FAL_11)
    axis = parse_axis(spec, PROVIDER_FIELD, text, base())
    assert axis.kind == "endpoint" and axis.values == (FAL_11, BFL_11)
    assert axis.labels == ("fal.ai", "Black Forest Labs")


def test_a_host_that_does_not_sell_the_model_and_a_model_one_host_sells_are_refused_by_name():
    with pytest.raises(SweepError, match="'segmind' does not sell FLUX1.1"):
        parse_axis(get_endpoint(FAL_11), PROVIDER_FIELD, "fal, segmind", base())
    with pytest.raises(SweepError, match="sold by one provider"):
        parse_axis(get_endpoint("flux_pro"), PROVIDER_FIELD, "all", {"prompt": "x"})


def test_each_cell_gets_the_same_seed_in_its_own_providers_schema():
    spec = get_endpoint(FAL_11)
    x = parse_axis(spec, PROVIDER_FIELD, "all", base())
    y = parse_json_axis(spec, "seed", [5, 6], base(), axis="Y")
    swept = plan(x, y)
    assert swept.jobs == 4
    for cell in swept.cells:
        assert cell.seed == (5, 6)[cell.y_index]
        if cell.endpoint.id == BFL_11:  # image_size → width/height, "3" → 3
            assert (cell.input["width"], cell.input["height"]) == (1024, 768) and "image_size" not in cell.input
            assert cell.input["safety_tolerance"] == 3
        else:
            assert cell.input["image_size"] == "landscape_4_3" and cell.input["safety_tolerance"] == "3"
    assert set(swept.unmapped) == {BFL_11}  # fal's fields BFL lacks are named, never dropped silently


def test_two_axes_that_both_change_the_endpoint_are_refused():
    spec = get_endpoint(FAL_11)
    x = parse_axis(spec, PROVIDER_FIELD, "all", base())
    y = parse_json_axis(spec, "endpoint", [FAL_11], base(), axis="Y")
    with pytest.raises(SweepError, match="only one axis may change the endpoint"):
        plan(x, y)


def record(endpoint_id: str, provider: str, submitted: float, started: float | None, finished: float | None,
           usd: float | None, *, state: str = "done", images: int = 1, cached: bool = False) -> RunRecord:
    return RunRecord(
        id=f"{endpoint_id}-{submitted}", endpoint_id=endpoint_id, api_name="x", provider=provider, route="sandbox",
        input={}, state=state,  # type: ignore[arg-type]
        result={"images": [{"url": "https://x/y.png"}] * images, "seed": 1} if state == "done" else None,
        timings=Timings(submitted=submitted, started=started, finished=finished),
        cost=Cost(usd, "test"), cached=cached,
    )


def test_latency_splits_queued_and_running_and_says_what_is_unknown():
    latency = latency_of(record(FAL_11, "fal", 100.0, 100.5, 103.0, 0.04))
    assert (latency.queued, latency.running, latency.total) == (0.5, 2.5, 3.0)
    assert latency.text() == "3.0 s (queued 0.5 s, running 2.5 s)"
    assert latency_of(record(FAL_11, "fal", 100.0, None, 102.0, 0.04)).text() == "2.0 s"
    assert latency_of(record(FAL_11, "fal", 100.0, None, None, None, state="failed")).text() == "time unknown"
    assert host_caption(record(BFL_11, "bfl", 0.0, 1.0, 4.0, 0.04)) == (
        "Black Forest Labs · 4.0 s (queued 1.0 s, running 3.0 s) · $0.04")


def test_host_figures_give_medians_and_cost_per_image_per_provider():
    records = [
        record(FAL_11, "fal", 0.0, 0.2, 2.0, 0.04),
        record(BFL_11, "bfl", 0.0, 1.0, 5.0, 0.08, images=2),
        record(FAL_11, "fal", 0.0, 0.4, 4.0, 0.04),
        record(BFL_11, "bfl", 0.0, 1.0, 3.0, 0.04),
        record(FAL_11, "fal", 0.0, 0.1, 0.1, 0.0, cached=True),  # a cache hit says nothing of the host's speed or price
        record(BFL_11, "bfl", 0.0, None, None, 0.0, state="failed"),
    ]
    fal, bfl = host_figures(records)
    assert (fal.provider, fal.cells, fal.done, fal.cached) == ("fal.ai", 3, 3, 1)
    assert fal.median_total == 3.0 and fal.median_queued == pytest.approx(0.3)
    assert fal.usd_per_image == pytest.approx(0.04)
    assert (bfl.provider, bfl.cells, bfl.done, bfl.cached) == ("Black Forest Labs", 3, 2, 0)
    assert bfl.median_total == 4.0 and bfl.median_running == 3.0
    assert bfl.usd_per_image == pytest.approx(0.12 / 3)
    assert fal.to_json()["median_total_s"] == 3.0
