"""Fault injection: the header grammar and every fault kind, per request and per server."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from sandbox import SandboxOptions, create_app
from sandbox.faults import FaultPlan, FaultRule, FaultSpecError
from tests.sandbox.support import FLUX_PRO, KEY, read_sse, stats, submit, t2i, wait_done

SEGMIND = {"x-api-key": "k"}


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("status_429:2", [FaultRule("status_429:2", "status", None, code=429, count=2)]),
        ("submit=status_503", [FaultRule("submit=status_503", "status", "submit", code=503, count=1)]),
        ("slow:0.5", [FaultRule("slow:0.5", "slow", None, seconds=0.5)]),
        ("stream=hang", [FaultRule("stream=hang", "hang", "stream")]),
        ("drop_stream:2", [FaultRule("drop_stream:2", "drop_stream", "stream", count=2)]),
        ("no_stream:405", [FaultRule("no_stream:405", "no_stream", "stream", code=405)]),
        ("fail", [FaultRule("fail", "fail", None, count=1)]),
        (
            " fail:0 , result=status_500 ",
            [
                FaultRule("fail:0", "fail", None, count=0),
                FaultRule("result=status_500", "status", "result", code=500, count=1),
            ],
        ),
        ("", []),
    ],
)
def test_grammar(spec, expected):
    assert list(FaultPlan.parse(spec).rules) == expected


@pytest.mark.parametrize(
    "spec",
    [
        "explode",
        "status_200",
        "status_429:x",
        "nowhere=hang",
        "slow",
        "slow:-1",
        "status=fail",
        "submit=drop_stream",
        "no_stream:999",
    ],
)
def test_grammar_rejects(spec):
    with pytest.raises(FaultSpecError):
        FaultPlan.parse(spec)


def test_bad_server_spec_fails_at_creation():
    with pytest.raises(FaultSpecError):
        create_app(SandboxOptions(faults="explode"))


async def test_bad_header_is_400(sbx, client):
    response = await client.post(
        f"{sbx.fal_queue_url}/{FLUX_PRO}", json=t2i(), headers={**KEY, "X-Sandbox-Fault": "explode"}
    )
    assert response.status_code == 400 and "X-Sandbox-Fault" in response.json()["detail"]


async def test_status_429_first_n_submits_then_through(sbx, client):
    fault = {**KEY, "X-Sandbox-Fault": "submit=status_429:2"}
    codes = []
    for _ in range(3):
        response = await client.post(f"{sbx.fal_queue_url}/{FLUX_PRO}", json=t2i(), headers=fault)
        codes.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["retry-after"] == "0"
    assert codes == [429, 429, 200]
    assert (await stats(client, sbx))["faults"] == {"submit:status_429": 2}


async def test_status_503_on_status_route_of_the_job_submitted_with_it(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(), **{"X-Sandbox-Fault": "status=status_503:2"})
    first = await client.get(submitted["status_url"], headers=KEY)  # no header: the job's stored plan applies
    assert first.status_code == 503
    assert first.json()["error_type"] == "runner_scheduling_failure"
    assert (
        first.headers["x-fal-retryable"] == "true" and first.headers["x-fal-error-type"] == "runner_scheduling_failure"
    )
    assert (await client.get(submitted["status_url"], headers=KEY)).status_code == 503
    assert (await wait_done(client, submitted["status_url"]))["status"] == "COMPLETED"
    other = await submit(client, sbx, FLUX_PRO, t2i())
    assert (await client.get(other["status_url"], headers=KEY)).status_code in (200, 202)


async def test_fail_ends_completed_with_error_and_result_500(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=5), **{"X-Sandbox-Fault": "fail:2"})
    done = await wait_done(client, submitted["status_url"], logs=True)
    assert done["error_type"] == "runner_server_error" and done["error"]
    assert [line["message"] for line in done["logs"] if line["message"].startswith("Step")] == ["Step 1/5", "Step 2/5"]
    result = await client.get(submitted["response_url"], headers=KEY)
    assert result.status_code == 500
    assert result.json()["error_type"] == "runner_server_error" and isinstance(result.json()["detail"], str)


async def test_drop_stream_cuts_before_completed(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=20), **{"X-Sandbox-Fault": "drop_stream:2"})
    read = await read_sse(client, f"{submitted['status_url']}/stream")
    assert not read.ended_cleanly and len(read.events) == 2
    assert all(event["status"] != "COMPLETED" for event in read.events)
    assert (await wait_done(client, submitted["status_url"]))["status"] == "COMPLETED"  # polling still works


async def test_no_stream_forces_polling(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(), **{"X-Sandbox-Fault": "no_stream"})
    assert (await read_sse(client, f"{submitted['status_url']}/stream")).status_code == 404
    assert (await wait_done(client, submitted["status_url"]))["status"] == "COMPLETED"


async def test_slow_delays_the_response(sbx, client):
    started = time.monotonic()
    response = await client.get(f"{sbx.url}/fal/cdn/files/x", headers={"X-Sandbox-Fault": "file=slow:0.2"})
    assert response.status_code == 404 and time.monotonic() - started >= 0.2


async def test_hang_times_out_the_client_and_stops_with_the_server(start):
    sbx = start()
    # A short read timeout (the hang) but room to connect: a loaded machine may take longer than 0.2 s to accept.
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.2, connect=10)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{sbx.fal_queue_url}/{FLUX_PRO}", json=t2i(), headers={**KEY, "X-Sandbox-Fault": "hang"})
        hanging = asyncio.create_task(
            client.get(f"{sbx.url}/fal/cdn/files/x", headers={"X-Sandbox-Fault": "hang"}, timeout=10)
        )
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await asyncio.to_thread(sbx.stop)
        assert time.monotonic() - started < 2
        response = await asyncio.wait_for(hanging, 2)  # released by the shutdown, not left hanging
        assert response.status_code == 503


async def test_server_level_faults_apply_to_every_request(start, client):
    sbx = start(faults="status=status_503:1, segmind=status_500, fail:0")
    submitted = await submit(client, sbx, FLUX_PRO, t2i())
    assert (await client.get(submitted["status_url"], headers=KEY)).status_code == 503
    done = await wait_done(client, submitted["status_url"])
    assert done["error_type"] == "runner_server_error"
    segmind = await client.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", json={}, headers=SEGMIND)
    assert segmind.status_code == 500 and "error" in segmind.json()
