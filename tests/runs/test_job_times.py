"""Measured job times: what a sweep's time estimate starts from once a job like it has run."""

from __future__ import annotations

from runs.job_times import JobTimes
from tests.runs.test_runner import FLUX_PRO, collect, small


def test_the_median_of_jobs_with_the_same_endpoint_route_and_steps():
    times = JobTimes(keep=3)
    assert times.typical("fal-ai/flux-pro", True, 28) is None
    for seconds in (9.0, 1.0, 2.0, 3.0):  # the oldest (9.0) falls out
        times.add("fal-ai/flux-pro", True, 28, seconds)
    assert times.typical("fal-ai/flux-pro", True, 28) == 2.0
    assert times.typical("fal-ai/flux-pro", False, 28) is None  # live is not the sandbox
    assert times.typical("fal-ai/flux-pro", True, 4) is None  # other steps: not comparable


async def test_a_finished_run_is_measured(rig):
    first = (await collect(rig, FLUX_PRO, small()))[-1].record
    assert first is not None and first.state == "done"
    seen = rig.runner.job_times.typical(FLUX_PRO.id, True, 4)
    assert seen == first.timings.finished - first.timings.submitted and seen > 0
    assert rig.runner.job_times.typical(FLUX_PRO.id, True, 28) is None
