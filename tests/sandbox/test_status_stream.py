"""The SSE status stream, read as raw bytes over loopback."""

from __future__ import annotations

from tests.sandbox.support import FLUX_PRO, KEY, read_sse, stats, submit, t2i, wait_done


async def test_stream_events_in_order_and_closes_after_completed(start, client):
    sbx = start(capacity=1)
    blocker = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=15))
    submitted = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=4))
    read = await read_sse(client, f"{submitted['status_url']}/stream")
    assert read.status_code == 200 and read.content_type.startswith("text/event-stream") and read.ended_cleanly
    statuses = [event["status"] for event in read.events]
    assert statuses[0] == "IN_QUEUE" and statuses[-1] == "COMPLETED"
    assert statuses == sorted(statuses, key=["IN_QUEUE", "IN_PROGRESS", "COMPLETED"].index)
    assert read.events[0]["queue_position"] == 0 and read.events[0]["request_id"] == submitted["request_id"]
    log_counts = [len(event["logs"]) for event in read.events if event["status"] == "IN_PROGRESS"]
    assert log_counts == sorted(log_counts) and len(set(log_counts)) == len(log_counts)  # one event per new line
    assert [line["message"] for line in read.events[-1]["logs"]][-4:] == [f"Step {i}/4" for i in range(1, 5)]
    assert read.events[-1]["metrics"]["inference_time"] >= 0
    await wait_done(client, blocker["status_url"])


async def test_stream_without_logs_sends_status_changes_only(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=5))
    read = await read_sse(client, f"{submitted['status_url']}/stream", logs=False)
    assert [event["status"] for event in read.events][-2:] == ["IN_PROGRESS", "COMPLETED"]
    assert all(event["logs"] is None for event in read.events if event["status"] != "IN_QUEUE")
    assert len(read.events) <= 3


async def test_stream_of_finished_job_sends_completed_once(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i())
    await wait_done(client, submitted["status_url"])
    read = await read_sse(client, f"{submitted['status_url']}/stream")
    assert [event["status"] for event in read.events] == ["COMPLETED"] and read.ended_cleanly


async def test_keepalive_comment_when_quiet(start, client):
    sbx = start(keepalive_seconds=0.02, step_seconds=0.1)
    submitted = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=3))
    read = await read_sse(client, f"{submitted['status_url']}/stream")
    assert ": ping" in read.comments and read.events[-1]["status"] == "COMPLETED"
    counters = await stats(client, sbx)
    assert counters["stream_connections"] == 1 and counters["open_streams"] == 0


async def test_stream_needs_key_and_known_request(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i())
    assert (await client.get(f"{submitted['status_url']}/stream")).status_code == 401
    unknown = f"{sbx.fal_queue_url}/fal-ai/flux-pro/requests/nope/status/stream"
    assert (await client.get(unknown, headers=KEY)).status_code == 404
