"""The fal queue API over real loopback HTTP: submit, status, result, queue positions, cancel, failures."""

from __future__ import annotations

import asyncio
import base64

import pytest

from endpoints import get_endpoint
from endpoints.base import FalImageOutput
from tests.sandbox.support import (
    DEPTH,
    FLUX_PRO,
    I2I,
    KEY,
    data_uri,
    png_bytes,
    stats,
    submit,
    t2i,
    wait_done,
    wait_for,
)


async def test_submit_status_result_round_trip(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(seed=7, num_images=2))
    request_id = submitted["request_id"]
    base = f"{sbx.fal_queue_url}/fal-ai/flux-pro/requests/{request_id}"
    assert submitted == {
        "request_id": request_id,
        "response_url": base,
        "status_url": f"{base}/status",
        "cancel_url": f"{base}/cancel",
        "status": "IN_QUEUE",
        "queue_position": 0,
    }

    done = await wait_done(client, submitted["status_url"], logs=True)
    assert done["request_id"] == request_id and done["response_url"] == base
    assert set(done["metrics"]) == {"inference_time"} and "error" not in done
    messages = [line["message"] for line in done["logs"]]
    assert messages[-3:] == ["Step 1/3", "Step 2/3", "Step 3/3"]
    assert {line["level"] for line in done["logs"]} == {"INFO"} and {line["source"] for line in done["logs"]} == {
        "USER"
    }
    assert all("T" in line["timestamp"] for line in done["logs"])

    response = await client.get(submitted["response_url"], headers=KEY)
    assert response.status_code == 200 and response.headers["x-fal-request-id"] == request_id
    output = FalImageOutput.model_validate(response.json())
    assert output.seed == 7 and output.prompt == "a lighthouse at dusk" and output.has_nsfw_concepts == [False, False]
    assert [(i.width, i.height, i.content_type) for i in output.images] == [(64, 48, "image/jpeg")] * 2
    assert set(response.json()["timings"]) == {"inference"}
    files = [await client.get(image.url) for image in output.images]
    assert [f.headers["content-type"] for f in files] == ["image/jpeg"] * 2
    assert files[0].content[:3] == b"\xff\xd8\xff" and files[0].content != files[1].content


async def test_status_carries_logs_key_null_without_logs(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=30))
    await asyncio.sleep(0.05)
    running = await client.get(submitted["status_url"], headers=KEY)
    assert running.status_code == 202
    assert running.json()["status"] == "IN_PROGRESS" and running.json()["logs"] is None
    with_logs = await client.get(submitted["status_url"], params={"logs": "true"}, headers=KEY)
    assert isinstance(with_logs.json()["logs"], list) and with_logs.json()["logs"]
    done = await wait_done(client, submitted["status_url"], logs=False)
    assert "logs" in done and done["logs"] is None


@pytest.mark.parametrize(
    "flag, expect_list", [("1", True), ("true", True), ("True", True), ("0", False), ("false", False)]
)
async def test_logs_query_flag(sbx, client, flag, expect_list):
    submitted = await submit(client, sbx, FLUX_PRO, t2i())
    await wait_done(client, submitted["status_url"])
    body = (await client.get(submitted["status_url"], params={"logs": flag}, headers=KEY)).json()
    assert isinstance(body["logs"], list) is expect_list


async def test_sub_path_endpoint_urls_live_under_owner_alias(sbx, client):
    body = {
        "prompt": "a blackhole",
        "image_size": "square",
        "num_inference_steps": 2,
        "control_image_url": data_uri(png_bytes()),
        "finetune_id": "ft-1",
        "finetune_strength": 1.0,
    }
    submitted = await submit(client, sbx, DEPTH, body)
    assert submitted["status_url"] == f"{sbx.fal_queue_url}/fal-ai/flux-pro/requests/{submitted['request_id']}/status"
    await wait_done(client, submitted["status_url"])
    output = (await client.get(submitted["response_url"], headers=KEY)).json()
    assert (output["images"][0]["width"], output["images"][0]["height"]) == (512, 512)
    other_alias = submitted["status_url"].replace("/fal-ai/flux-pro/", "/fal-ai/flux/")
    assert (await client.get(other_alias, headers=KEY)).status_code == 404


async def test_missing_key_is_401(sbx, client):
    for headers in ({}, {"Authorization": "Key"}, {"Authorization": "Bearer x"}):
        response = await client.post(f"{sbx.fal_queue_url}/{FLUX_PRO}", json=t2i(), headers=headers)
        assert response.status_code == 401 and isinstance(response.json()["detail"], str)
    submitted = await submit(client, sbx, FLUX_PRO, t2i())
    assert (await client.get(submitted["status_url"])).status_code == 401


async def test_validation_error_is_422_with_model_detail(sbx, client):
    response = await client.post(
        f"{sbx.fal_queue_url}/{FLUX_PRO}", json={"num_inference_steps": 99, "colour": "red"}, headers=KEY
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    by_field = {tuple(item["loc"]): item for item in detail}
    assert by_field[("body", "prompt")]["type"] == "missing"
    assert by_field[("body", "num_inference_steps")]["type"] == "less_than_equal"
    assert by_field[("body", "num_inference_steps")]["ctx"] == {"le": 50}
    assert by_field[("body", "colour")]["type"] == "extra_forbidden"
    assert all(isinstance(item["msg"], str) for item in detail)
    bad_json = await client.post(f"{sbx.fal_queue_url}/{FLUX_PRO}", content=b"{nope", headers=KEY)
    assert bad_json.status_code == 422 and bad_json.json()["detail"][0]["type"] == "json_invalid"


async def test_unknown_endpoints_are_404(sbx, client):
    for endpoint in ("fal-ai/not-a-model", "flux-depth-pro/x", "fal-ai/flux-pro/v1/unknown"):
        response = await client.post(f"{sbx.fal_queue_url}/{endpoint}", json=t2i(), headers=KEY)
        assert response.status_code == 404 and "detail" in response.json()
    unknown = f"{sbx.fal_queue_url}/fal-ai/flux-pro/requests/nope"
    assert (await client.get(f"{unknown}/status", headers=KEY)).status_code == 404
    assert (await client.get(unknown, headers=KEY)).status_code == 404


async def test_result_before_completion_is_400(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=40))
    response = await client.get(submitted["response_url"], headers=KEY)
    assert response.status_code == 400 and response.json() == {"detail": "Request is still in progress"}


async def test_queue_positions_are_true_and_shift_after_cancel(start, client):
    sbx = start(capacity=1, step_seconds=0.02)
    jobs = [await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=50)) for _ in range(4)]
    assert [job["queue_position"] for job in jobs] == [0, 0, 1, 2]

    async def status(job):
        return (await client.get(job["status_url"], headers=KEY)).json()

    assert (await status(jobs[0]))["status"] == "IN_PROGRESS"
    assert [(await status(job))["queue_position"] for job in jobs[1:]] == [0, 1, 2]
    cancelled = await client.put(jobs[1]["cancel_url"], headers=KEY)
    assert cancelled.status_code == 202 and cancelled.json() == {"status": "CANCELLATION_REQUESTED"}
    assert [(await status(job))["queue_position"] for job in jobs[2:]] == [0, 1]
    gone = await status(jobs[1])
    assert gone["status"] == "COMPLETED" and gone["error"] == "cancelled" and gone["error_type"] == "client_cancelled"
    assert (await client.put(jobs[0]["cancel_url"], headers=KEY)).status_code == 202
    assert (await status(jobs[2]))["status"] == "IN_PROGRESS"
    assert (await status(jobs[3]))["queue_position"] == 0


async def test_cancel_outcomes(start, client):
    sbx = start(capacity=1)
    done = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=1))
    await wait_done(client, done["status_url"])
    running = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=50))
    queued = await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=50))

    outcomes = {}
    for name, job in (("queued", queued), ("running", running), ("done", done)):
        response = await client.put(job["cancel_url"], headers=KEY)
        outcomes[name] = (response.status_code, response.json()["status"])
    unknown = await client.put(f"{sbx.fal_queue_url}/fal-ai/flux-pro/requests/nope/cancel", headers=KEY)
    assert outcomes == {
        "running": (202, "CANCELLATION_REQUESTED"),
        "queued": (202, "CANCELLATION_REQUESTED"),
        "done": (400, "ALREADY_COMPLETED"),
    }
    assert (unknown.status_code, unknown.json()) == (404, {"status": "NOT_FOUND"})

    stopped = await wait_done(client, running["status_url"], logs=True)
    assert stopped["error_type"] == "client_cancelled" and not any(
        "Step 50" in line["message"] for line in stopped["logs"]
    )
    result = await client.get(running["response_url"], headers=KEY)
    assert result.status_code == 499 and result.json()["error_type"] == "client_cancelled"
    recorded = (await stats(client, sbx))["cancels"]
    assert [(c["outcome"], c["state"]) for c in recorded] == [
        ("CANCELLATION_REQUESTED", "IN_QUEUE"),
        ("CANCELLATION_REQUESTED", "IN_PROGRESS"),
        ("ALREADY_COMPLETED", "COMPLETED"),
        ("NOT_FOUND", "UNKNOWN"),
    ]
    assert recorded[1]["request_id"] == running["request_id"]


async def test_unreadable_input_image_fails_late_with_422_detail(sbx, client):
    body = {
        "prompt": "x",
        "image_url": "data:image/png;base64," + base64.b64encode(b"not a png").decode(),
        "num_inference_steps": 10,
    }
    submitted = await submit(client, sbx, I2I, body)
    done = await wait_done(client, submitted["status_url"])
    assert done["error"] and done["error_type"]
    result = await client.get(submitted["response_url"], headers=KEY)
    assert result.status_code == 422
    assert result.json()["detail"][0]["loc"] == ["body", "image_url"]


async def test_unreachable_url_uses_placeholder_and_says_so(sbx, client):
    body = {"prompt": "x", "image_url": "https://example.com/cat.png", "num_inference_steps": 10}
    submitted = await submit(client, sbx, I2I, body)
    done = await wait_done(client, submitted["status_url"], logs=True)
    assert "error" not in done
    assert any("Could not fetch https://example.com/cat.png" in line["message"] for line in done["logs"])
    output = (await client.get(submitted["response_url"], headers=KEY)).json()
    assert (output["images"][0]["width"], output["images"][0]["height"]) == (1024, 768)


async def test_image_to_image_reads_own_files_from_memory_never_loopback(sbx, client):
    own = await submit(client, sbx, FLUX_PRO, t2i(image_size={"width": 80, "height": 40}))
    await wait_done(client, own["status_url"])
    own_url = (await client.get(own["response_url"], headers=KEY)).json()["images"][0]["url"]
    submitted = await submit(client, sbx, I2I, {"prompt": "y", "image_url": own_url, "num_inference_steps": 10})
    done = await wait_done(client, submitted["status_url"], logs=True)
    assert "error" not in done and not any("placeholder" in line["message"] for line in done["logs"])
    image = (await client.get(submitted["response_url"], headers=KEY)).json()["images"][0]
    assert (image["width"], image["height"]) == (80, 40)  # the stored image's size: it was read

    # The same server under another loopback name is not "own storage": it is a loopback URL, never fetched.
    loopback_url = own_url.replace("127.0.0.1", "localhost")
    submitted = await submit(client, sbx, I2I, {"prompt": "y", "image_url": loopback_url, "num_inference_steps": 10})
    done = await wait_done(client, submitted["status_url"], logs=True)
    assert any("Not fetching" in line["message"] and "local name" in line["message"] for line in done["logs"])
    image = (await client.get(submitted["response_url"], headers=KEY)).json()["images"][0]
    assert (image["width"], image["height"]) == (1024, 768)  # the placeholder's size


async def test_sync_mode_returns_data_uris_and_png(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i(sync_mode=True, output_format="png"))
    await wait_done(client, submitted["status_url"])
    image = (await client.get(submitted["response_url"], headers=KEY)).json()["images"][0]
    assert image["url"].startswith("data:image/png;base64,") and image["content_type"] == "image/png"
    assert base64.b64decode(image["url"].split(",", 1)[1])[:4] == b"\x89PNG"


async def test_unsafe_prompt_is_flagged_by_tolerance_and_checker(sbx, client):
    cases = [
        (FLUX_PRO, t2i("nsfw portrait", safety_tolerance="2"), True),
        (FLUX_PRO, t2i("nsfw portrait", safety_tolerance="5"), False),
        (FLUX_PRO, t2i("harmless portrait", safety_tolerance="1"), False),
        (I2I, {"prompt": "gore", "image_url": data_uri(png_bytes()), "num_inference_steps": 10}, True),
        (
            I2I,
            {
                "prompt": "gore",
                "image_url": data_uri(png_bytes()),
                "num_inference_steps": 10,
                "enable_safety_checker": False,
            },
            False,
        ),
    ]

    async def flags(endpoint, body):
        submitted = await submit(client, sbx, endpoint, body)
        await wait_done(client, submitted["status_url"])
        return (await client.get(submitted["response_url"], headers=KEY)).json()["has_nsfw_concepts"]

    results = await asyncio.gather(*(flags(endpoint, body) for endpoint, body, _ in cases))
    assert results == [[flagged] for _, _, flagged in cases]


async def test_random_seed_is_returned_and_submits_counted(sbx, client):
    submitted = await submit(client, sbx, FLUX_PRO, t2i())
    await wait_done(client, submitted["status_url"])
    assert isinstance((await client.get(submitted["response_url"], headers=KEY)).json()["seed"], int)
    counters = await stats(client, sbx)
    assert counters["submits"] == {FLUX_PRO: 1} and counters["jobs"]["COMPLETED"] == 1
    assert counters["status_requests"] >= 1 and counters["result_requests"] == 1


async def test_start_timeout_expires_queued_request(start, client):
    sbx = start(capacity=1)
    await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=50))
    late = await submit(client, sbx, FLUX_PRO, t2i(), **{"X-Fal-Request-Timeout": "0.05"})
    done = await wait_done(client, late["status_url"])
    assert done["error_type"] == "request_timeout"
    result = await client.get(late["response_url"], headers=KEY)
    assert result.status_code == 504 and result.headers["x-fal-request-timeout-type"] == "user"


async def test_reset_clears_jobs_and_counters(sbx, client):
    await submit(client, sbx, FLUX_PRO, t2i(num_inference_steps=50))
    assert (await client.post(f"{sbx.url}/_sandbox/reset")).json() == {"reset": True}

    async def idle():
        counters = await stats(client, sbx)
        return counters["jobs"] == {"IN_QUEUE": 0, "IN_PROGRESS": 0, "COMPLETED": 0} and counters["submits"] == {}

    await wait_for(idle)
    submitted = await submit(client, sbx, FLUX_PRO, t2i())
    assert (await wait_done(client, submitted["status_url"]))["status"] == "COMPLETED"


def test_every_fal_endpoint_example_is_accepted():
    for endpoint_id in (FLUX_PRO, DEPTH, I2I, "fal-ai/flux-general/rf-inversion"):
        spec = get_endpoint(endpoint_id)
        spec.input_model.model_validate(spec.example)
