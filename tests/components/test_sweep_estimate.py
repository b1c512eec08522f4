"""A sweep's time per cell: a guess from the steps until a job like it has run here, then what such jobs took
(BFL, polled, took 5.2 s where the guess said 1.9 s)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from components.sweep_run import seconds_per_job
from endpoints import get_endpoint
from runs.job_times import JobTimes


def test_the_estimate_starts_from_measured_times():
    ctx = SimpleNamespace(runner=SimpleNamespace(job_times=JobTimes()), sandbox_step_seconds=0.05)
    sandbox, live = SimpleNamespace(is_sandbox=True), SimpleNamespace(is_sandbox=False)
    bfl = get_endpoint("bfl_flux_pro_1_1")
    assert seconds_per_job(ctx, sandbox, bfl, {"prompt": "x"}) == pytest.approx(28 * 0.05 + 0.5)
    ctx.runner.job_times.add(bfl.id, True, None, 5.2)
    assert seconds_per_job(ctx, sandbox, bfl, {"prompt": "x"}) == 5.2
    assert seconds_per_job(ctx, live, bfl, {"prompt": "x"}) == pytest.approx(28 * 0.2 + 4.0)
    flux = get_endpoint("flux_pro")
    ctx.runner.job_times.add(flux.id, True, 10, 1.5)
    assert seconds_per_job(ctx, sandbox, flux, {"num_inference_steps": 10}) == 1.5
    assert seconds_per_job(ctx, sandbox, flux, {"num_inference_steps": 20}) == pytest.approx(20 * 0.05 + 0.5)
