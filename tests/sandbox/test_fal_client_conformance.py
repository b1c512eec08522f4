"""The official ``fal_client`` package, pointed at the sandbox, works end to end.

If this passes, the sandbox speaks the queue and storage protocol the way fal's own client expects it
(including ``logs`` always present on IN_PROGRESS/COMPLETED, and retries on 429).
"""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.support import DEPTH, FLUX_PRO, data_uri, png_bytes, t2i

fal_client = pytest.importorskip("fal_client", reason="the official fal_client package is not installed")
from fal_client import client as fal_client_module


@pytest.fixture
def fal(sbx, monkeypatch):
    monkeypatch.setattr(fal_client_module, "QUEUE_URL_FORMAT", f"{sbx.fal_queue_url}/")
    monkeypatch.setattr(fal_client_module, "REST_URL", sbx.fal_rest_url)
    monkeypatch.setattr(fal_client_module, "CDN_URL", f"{sbx.url}/fal/cdn")
    return fal_client.AsyncClient(key="sandbox-key")


async def test_submit_status_with_logs_and_result(fal):
    handle = await fal.submit(FLUX_PRO, arguments=t2i(seed=11))
    first = await handle.status(with_logs=True)
    assert isinstance(first, fal_client.Queued | fal_client.InProgress | fal_client.Completed)
    events = [event async for event in handle.iter_events(with_logs=True, interval=0.01)]
    assert isinstance(events[-1], fal_client.Completed) and events[-1].error is None
    assert any(line["message"] == "Step 3/3" for line in events[-1].logs)
    assert "inference_time" in events[-1].metrics
    without_logs = await handle.status(with_logs=False)
    assert isinstance(without_logs, fal_client.Completed) and without_logs.logs is None
    result = await handle.get()
    assert result["seed"] == 11 and result["images"][0]["width"] == 64
    assert await fal.result(FLUX_PRO, handle.request_id) == result


async def test_subscribe_reports_queued_and_in_progress_with_logs(start, monkeypatch):
    sbx = start(capacity=1)
    monkeypatch.setattr(fal_client_module, "QUEUE_URL_FORMAT", f"{sbx.fal_queue_url}/")
    fal = fal_client.AsyncClient(key="sandbox-key")
    await fal.submit(FLUX_PRO, arguments=t2i(num_inference_steps=10))  # occupies the only runner
    updates = []
    enqueued = []
    result = await fal.subscribe(
        FLUX_PRO,
        arguments=t2i(num_inference_steps=5),
        with_logs=True,
        interval=0.01,
        on_enqueue=enqueued.append,
        on_queue_update=updates.append,
    )
    kinds = [type(update) for update in updates]
    assert fal_client.Queued in kinds and fal_client.InProgress in kinds and kinds[-1] is fal_client.Completed
    assert updates[kinds.index(fal_client.Queued)].position == 0
    in_progress = [update for update in updates if isinstance(update, fal_client.InProgress)]
    assert all(isinstance(update.logs, list) for update in in_progress) and any(update.logs for update in in_progress)
    assert len(enqueued) == 1 and result["images"]


async def test_cancel(fal):
    handle = await fal.submit(FLUX_PRO, arguments=t2i(num_inference_steps=50))
    await handle.cancel()
    status = await handle.status()
    assert isinstance(status, fal_client.Completed) and status.error_type == "client_cancelled"
    with pytest.raises(fal_client.FalClientHTTPError) as raised:
        await fal.cancel(FLUX_PRO, handle.request_id)
    assert raised.value.status_code == 400


async def test_sub_path_endpoint_by_request_id(fal):
    arguments = {
        "prompt": "p",
        "image_size": "square",
        "num_inference_steps": 2,
        "control_image_url": data_uri(png_bytes()),
        "finetune_id": "ft",
        "finetune_strength": 1,
    }
    handle = await fal.submit(DEPTH, arguments=arguments)
    result = await fal.result(DEPTH, handle.request_id)  # URL built by the client from owner/alias
    assert result["images"][0]["width"] == 512


async def test_client_retries_injected_429_on_submit(fal):
    handle = await fal.submit(FLUX_PRO, arguments=t2i(), headers={"X-Sandbox-Fault": "submit=status_429:2"})
    assert (await handle.get())["images"]


async def test_validation_error_surfaces_as_http_error(fal):
    with pytest.raises(fal_client.FalClientHTTPError) as raised:
        await fal.submit(FLUX_PRO, arguments={"num_inference_steps": 2})
    assert raised.value.status_code == 422


@pytest.mark.parametrize("repository", ["fal_v3", "fal"])
async def test_upload_both_flows(fal, repository):
    data = png_bytes()
    url = await fal.upload(data, "image/png", "control.png", repository=repository)
    async with httpx.AsyncClient() as http:
        served = await http.get(url)
    assert served.content == data and served.headers["content-type"] == "image/png"
