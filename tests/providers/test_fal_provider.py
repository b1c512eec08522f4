"""fal provider over httpx.MockTransport: events, errors, retries, cancel, uploads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from PIL import Image

from endpoints import get_endpoint
from providers.base import Completed, Credentials, Queued, Running
from providers.config import Timeouts
from providers.errors import (
    AuthenticationError,
    Cancelled,
    EndpointUnavailable,
    ProviderFailure,
    ProviderTimeout,
    RateLimited,
    ValidationFailed,
)
from providers.fal import FalQueueProvider, parse_status
from providers.retry import RetryPolicy
from tests.providers.fake_fal import (
    DONE,
    QUEUE,
    QUEUED,
    REST,
    RUNNING_1,
    RUNNING_2,
    FakeFal,
    log,
    stream_response,
)


def _noisy_png() -> bytes:
    import io
    import random

    pixels = random.Random(7).randbytes(48 * 48 * 3)  # noise: the PNG stays > 4 KB once in base64
    out = io.BytesIO()
    Image.frombytes("RGB", (48, 48), pixels).save(out, "PNG")
    return out.getvalue()


PNG_BYTES = _noisy_png()
KEY = Credentials("fal-secret-key-123456789", "session")
FAST = RetryPolicy(attempts=4, wait_initial=0.001, wait_max=0.01, wait_jitter=0.0, timeout=5)
FLUX_PRO = get_endpoint("flux_pro")
I2I = get_endpoint("flux_dev_image_to_image")


def provider(fake: FakeFal, tmp_path: Path | None = None, **kwargs) -> FalQueueProvider:
    return FalQueueProvider(
        httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)),
        queue_url=QUEUE,
        rest_url=REST,
        retry=FAST,
        local_file_roots=(tmp_path,) if tmp_path else (),
        poll_interval=0.001,
        **kwargs,
    )


async def collect(job) -> list:
    return [event async for event in job.events()]


def payload(spec=FLUX_PRO, **overrides):
    return spec.build_input({**spec.example, **overrides})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"status": "IN_QUEUE", "queue_position": 3}, ("IN_QUEUE", 3, [])),
        ({"status": "IN_PROGRESS", "logs": None}, ("IN_PROGRESS", None, [])),
        ({"status": "IN_PROGRESS", "logs": [log("a")]}, ("IN_PROGRESS", None, ["a"])),
        ({"status": "COMPLETED", "logs": [log("a"), log("b")], "metrics": {}}, ("COMPLETED", None, ["a", "b"])),
        ({"status": "COMPLETED"}, ("COMPLETED", None, [])),  # no logs key at all: tolerated
    ],
)
def test_parse_status_table(body, expected):
    status, position, logs = parse_status(body)
    assert (status, position, [line.message for line in logs]) == expected


async def test_stream_yields_queue_logs_once_and_result():
    fake = FakeFal(streams=[stream_response(QUEUED, RUNNING_1, RUNNING_2, DONE)])
    p = provider(fake)
    job = await p.submit(FLUX_PRO, payload(), KEY)
    events = await collect(job)
    assert events[0] == Queued(1)  # from the submit response
    assert events[1] == Queued(0)
    running = [e for e in events if isinstance(e, Running)]
    assert [line.message for e in running for line in e.logs] == ["starting", "step 1/2", "step 2/2"]
    result = events[-1].result
    assert isinstance(events[-1], Completed)
    assert result.seed == 42 and result.has_nsfw_concepts == [False] and result.request_id == "r1"
    assert result.timings == {"inference": 1.5, "inference_time": 1.2}
    assert fake.count("GET", "/status") == 0, "no polling when the stream works"
    submit = next(r for r in fake.requests if r.method == "POST")
    assert submit.headers["authorization"] == f"Key {KEY.key}"
    assert submit.url.path == "/fal-ai/flux-pro"


async def test_status_streams_go_through_their_own_pool_and_short_calls_through_the_main_one():
    fake = FakeFal(streams=[stream_response(QUEUED, RUNNING_1, DONE)])
    seen: dict[str, list[str]] = {"main": [], "streams": []}

    def through(pool: str):
        def handler(request: httpx.Request) -> httpx.Response:
            seen[pool].append(f"{request.method} {request.url.path}")
            return fake.handler(request)
        return handler

    p = FalQueueProvider(httpx.AsyncClient(transport=httpx.MockTransport(through("main"))), queue_url=QUEUE,
                         rest_url=REST, retry=FAST, poll_interval=0.001,
                         stream_client=httpx.AsyncClient(transport=httpx.MockTransport(through("streams"))))
    job = await p.submit(FLUX_PRO, payload(), KEY)
    assert isinstance((await collect(job))[-1], Completed)
    assert seen["streams"] and all(call.endswith("/status/stream") for call in seen["streams"])
    assert seen["main"][0] == "POST /fal-ai/flux-pro" and len(seen["main"]) >= 2  # the submit, then the result
    assert not any(call.endswith("/status/stream") for call in seen["main"])
    await p.aclose()
    assert p.stream_client.is_closed and p.client.is_closed


async def test_dropped_stream_reconnects_without_repeating_logs():
    fake = FakeFal(streams=[stream_response(RUNNING_1), stream_response(RUNNING_2, DONE)])
    job = await provider(fake).submit(FLUX_PRO, payload(), KEY)
    events = await collect(job)
    messages = [line.message for e in events if isinstance(e, Running) for line in e.logs]
    assert messages == ["starting", "step 1/2", "step 2/2"]
    assert isinstance(events[-1], Completed)
    assert fake.count("GET", "/status/stream") == 2


async def test_stream_that_keeps_dropping_falls_back_to_polling():
    fake = FakeFal(streams=[stream_response(RUNNING_1)], polls=[RUNNING_2, DONE])
    job = await provider(fake, max_stream_reconnects=2).submit(FLUX_PRO, payload(), KEY)
    events = await collect(job)
    assert isinstance(events[-1], Completed) and job.used_polling
    assert fake.count("GET", "/status/stream") == 3


async def test_stream_route_missing_falls_back_to_polling():
    fake = FakeFal(streams=[httpx.Response(405)], polls=[QUEUED, RUNNING_1, DONE])
    job = await provider(fake).submit(FLUX_PRO, payload(), KEY)
    events = await collect(job)
    assert isinstance(events[-1], Completed) and job.used_polling
    assert fake.count("GET", "/status/stream") == 1
    status_calls = [r for r in fake.requests if r.url.path.endswith("/status")]
    assert all(r.url.params["logs"] == "1" for r in status_calls)


async def test_transport_error_on_stream_reconnects():
    def broken() -> httpx.Response:
        raise httpx.ReadError("connection reset")

    fake = FakeFal(streams=[broken, stream_response(DONE)])
    events = await collect(await provider(fake).submit(FLUX_PRO, payload(), KEY))
    assert isinstance(events[-1], Completed)


async def test_status_retries_on_429_honouring_retry_after():
    fake = FakeFal(streams=[httpx.Response(404)])
    responses = iter([httpx.Response(429, headers={"retry-after": "0"}), httpx.Response(503)])
    original = fake.handler

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status"):
            try:
                fake.requests.append(request)
                return next(responses)
            except StopIteration:
                fake.requests.pop()
        return original(request)

    fake.polls = [DONE]
    p = FalQueueProvider(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)), queue_url=QUEUE, rest_url=REST, retry=FAST
    )
    events = await collect(await p.submit(FLUX_PRO, payload(), KEY))
    assert isinstance(events[-1], Completed)
    assert fake.count("GET", "/status") == 3


@pytest.mark.parametrize(
    ("first", "posts", "error"),
    [
        (httpx.ConnectError("refused"), 2, None),  # never reached the server: retried once, then submitted
        (httpx.ReadTimeout("slow"), 1, ProviderTimeout),  # may have reached it: never resent
        (httpx.Response(503, json={"detail": "busy"}), 1, ProviderFailure),
        (httpx.Response(429, json={"detail": "slow down"}), 1, RateLimited),
    ],
)
async def test_submit_is_retried_only_when_it_never_left(first, posts, error):
    fake = FakeFal(streams=[stream_response(DONE)], submit_responses=[first])
    p = provider(fake)
    if error is None:
        await collect(await p.submit(FLUX_PRO, payload(), KEY))
    else:
        with pytest.raises(error):
            await p.submit(FLUX_PRO, payload(), KEY)
    assert fake.count("POST", "/fal-ai/flux-pro") == posts


@pytest.mark.parametrize(
    ("response", "error", "text"),
    [
        (httpx.Response(401, json={"detail": "Invalid key"}), AuthenticationError, "rejected the API key"),
        (httpx.Response(404, json={"detail": "App not found"}), EndpointUnavailable, "may be retired"),
        (
            httpx.Response(422, json={"detail": [{"loc": ["body", "num_images"], "msg": "too many", "type": "x"}]}),
            ValidationFailed,
            "num_images: too many",
        ),
    ],
)
async def test_submit_errors_are_typed(response, error, text):
    fake = FakeFal(submit_responses=[response])
    with pytest.raises(error) as info:
        await provider(fake).submit(FLUX_PRO, payload(), KEY)
    assert text in str(info.value)
    assert KEY.key not in str(info.value)


async def test_missing_key_says_how_to_fix():
    with pytest.raises(AuthenticationError, match="FAL_KEY"):
        await provider(FakeFal()).submit(FLUX_PRO, payload(), None)


async def test_completed_with_error_surfaces_the_detail():
    failed = {**DONE, "error": "Internal error", "error_type": "runner_server_error"}
    fake = FakeFal(
        streams=[stream_response(failed)],
        result=httpx.Response(500, json={"detail": "CUDA out of memory", "error_type": "runner_server_error"}),
    )
    with pytest.raises(ProviderFailure, match="CUDA out of memory"):
        await collect(await provider(fake).submit(FLUX_PRO, payload(), KEY))


async def test_completed_with_late_validation_error_names_the_field():
    failed = {**DONE, "error": "Unprocessable", "error_type": "validation_error"}
    detail = [{"loc": ["body", "image_url"], "msg": "could not download", "type": "file_download_error"}]
    fake = FakeFal(streams=[stream_response(failed)], result=httpx.Response(422, json={"detail": detail}))
    with pytest.raises(ValidationFailed) as info:
        await collect(await provider(fake).submit(FLUX_PRO, payload(), KEY))
    assert info.value.fields == [("image_url", "could not download")]


async def test_deadline_cancels_the_remote_job():
    async def never(request):
        await asyncio.sleep(30)

    fake = FakeFal()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status/stream"):
            fake.requests.append(request)
            await asyncio.sleep(30)
        return fake.handler(request)

    p = FalQueueProvider(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        queue_url=QUEUE,
        rest_url=REST,
        retry=FAST,
        timeouts=Timeouts(deadline=0.2),
    )
    job = await p.submit(FLUX_PRO, payload(), KEY)
    with pytest.raises(ProviderTimeout, match="cancelled"):
        await asyncio.wait_for(collect(job), 5)
    assert fake.count("PUT", "/requests/r1/cancel") == 1


async def test_cancel_reaches_the_server_and_tolerates_already_completed():
    fake = FakeFal(streams=[stream_response(DONE)])
    job = await provider(fake).submit(FLUX_PRO, payload(), KEY)
    await job.cancel()
    await job.cancel()  # idempotent
    cancels = [r for r in fake.requests if r.method == "PUT"]
    assert [r.url.path for r in cancels] == ["/fal-ai/flux-pro/requests/r1/cancel"]
    assert cancels[0].headers["authorization"] == f"Key {KEY.key}"

    done = FakeFal()
    original = done.handler
    done.handler = lambda r: httpx.Response(400, json={"status": "ALREADY_COMPLETED"}) if r.method == "PUT" else original(r)
    job = await provider(done).submit(FLUX_PRO, payload(), KEY)
    await job.cancel()  # no exception


async def test_local_image_uploaded_once_per_content_and_urls_pass_through(tmp_path):
    image = tmp_path / "in.png"
    Image.new("RGB", (8, 8), "red").save(image)
    fake = FakeFal(streams=[stream_response(DONE)])
    p = provider(fake, tmp_path)
    jobs = await asyncio.gather(*(p.submit(I2I, payload(I2I, image_url=str(image)), KEY) for _ in range(5)))
    assert fake.count("POST", "/files/upload") == 1
    assert fake.count("POST", "/storage/auth/token") == 1
    bodies = [r for r in fake.requests if r.url.path == "/fal-ai/flux/dev/image-to-image"]
    assert len(bodies) == 5 and all(b"https://cdn.test/files/" in b.content for b in bodies)
    assert len({j.request_id for j in jobs}) == 1

    await p.submit(I2I, payload(I2I, image_url="https://example.test/cat.png"), KEY)
    last = [r for r in fake.requests if r.url.path == "/fal-ai/flux/dev/image-to-image"][-1]
    assert b'"image_url":"https://example.test/cat.png"' in last.content
    assert fake.count("POST", "/files/upload") == 1


async def test_large_data_uris_anywhere_in_the_input_go_to_fal_storage_once_per_content():
    import base64
    import json

    png = base64.b64encode(PNG_BYTES).decode()
    big = "data:image/png;base64," + png
    tiny = "data:image/png;base64," + base64.b64encode(b"\x89PNG tiny").decode()
    rf = get_endpoint("flux_general_rf_inversion")
    fake = FakeFal(streams=[stream_response(DONE)])
    p = provider(fake)
    controlnets = [{"path": "https://example.test/cn.safetensors", "control_image_url": big, "conditioning_scale": 1.0}]
    prepared = await p.prepare(rf, payload(rf, image_url=big, reference_image_url=tiny, controlnets=controlnets), KEY)

    assert prepared.uploads == {"image_url": prepared.body["image_url"],
                                "controlnets[0].control_image_url": prepared.body["controlnets"][0]["control_image_url"]}
    assert prepared.body["image_url"].startswith("https://cdn.test/files/")
    assert prepared.body["controlnets"][0]["control_image_url"] == prepared.body["image_url"]  # same content
    assert prepared.body["reference_image_url"] == tiny  # small ones stay inline
    assert fake.count("POST", "/files/upload") == 1
    upload = next(r for r in fake.requests if r.url.path == "/files/upload")
    assert upload.content == PNG_BYTES and upload.headers["content-type"] == "image/png"
    assert "data:" not in json.dumps(prepared.body).replace(tiny, "")


async def test_a_data_uri_is_uploaded_only_if_it_holds_an_image_and_as_the_image_it_is():
    """Uploads go to fal storage on the route's key (the server's, without a visitor's own) before the job is sent
    and paid for: a data: URI that is no image (an HTML page declared as a PNG) is refused by field, nothing
    uploaded; an image declared as another type is uploaded with its own type."""
    import base64

    page = b"<html><script>alert(1)</script>" + b"<p>x</p>" * 800
    fake = FakeFal()
    for declared in ("text/html", "image/png"):
        uri = f"data:{declared};base64," + base64.b64encode(page).decode()
        with pytest.raises(ValidationFailed, match="image_url: not a PNG, JPEG or WebP image"):
            await provider(fake).prepare(I2I, payload(I2I, image_url=uri), KEY)
    assert not fake.requests
    uri = "data:text/html;base64," + base64.b64encode(PNG_BYTES).decode()
    prepared = await provider(fake).prepare(I2I, payload(I2I, image_url=uri), KEY)
    upload = next(r for r in fake.requests if r.url.path == "/files/upload")
    assert upload.headers["content-type"] == "image/png" and prepared.body["image_url"].endswith(".png")


async def test_a_phones_multi_picture_jpeg_is_uploaded_and_a_config_file_stays_inline():
    """A JPEG with a second picture (Pillow: MPO, as phones write Ultra HDR photos) is a JPEG; a large data: URI in
    a field that takes another kind of file (a ControlNet's ``config_url``) is sent as given, never stored."""
    import base64
    import io
    import random

    pictures = [Image.frombytes("RGB", (48, 48), random.Random(n).randbytes(48 * 48 * 3)) for n in (1, 2)]
    mpo = io.BytesIO()
    pictures[0].save(mpo, "MPO", save_all=True, append_images=pictures[1:])
    assert Image.open(io.BytesIO(mpo.getvalue())).format == "MPO"
    rf = get_endpoint("flux_general_rf_inversion")
    config = "data:application/json;base64," + base64.b64encode(b'{"x": "' + b"y" * 6000 + b'"}').decode()
    controlnets = [{"path": "https://example.test/cn.safetensors", "config_url": config,
                    "control_image_url": "https://example.test/depth.png"}]
    fake = FakeFal()
    image = "data:image/jpeg;base64," + base64.b64encode(mpo.getvalue()).decode()
    prepared = await provider(fake).prepare(rf, payload(rf, image_url=image, controlnets=controlnets), KEY)
    upload = next(r for r in fake.requests if r.url.path == "/files/upload")
    assert upload.headers["content-type"] == "image/jpeg" and fake.count("POST", "/files/upload") == 1
    assert prepared.body["controlnets"][0]["config_url"] == config


async def test_an_upload_is_not_reused_across_keys():
    """The storage's cache of uploads is per key: the same image under another key is uploaded again (its URL,
    on the first key's storage, would tell the second caller the file was uploaded before)."""
    import base64

    uri = "data:image/png;base64," + base64.b64encode(PNG_BYTES).decode()
    fake = FakeFal()
    p = provider(fake)
    first = await p.prepare(I2I, payload(I2I, image_url=uri), KEY)
    again = await p.prepare(I2I, payload(I2I, image_url=uri), KEY)
    other = await p.prepare(I2I, payload(I2I, image_url=uri), Credentials("another-key-987654321", "session"))
    assert first.body["image_url"] == again.body["image_url"]
    assert fake.count("POST", "/files/upload") == 2 and other.body["image_url"].startswith("https://cdn.test/files/")


async def test_a_malformed_data_uri_is_refused_by_field_before_anything_is_sent():
    rf = get_endpoint("flux_general_rf_inversion")
    fake = FakeFal()
    bad = "data:image/png;base64," + "A" * 5001 + "!"
    controlnets = [{"path": "https://example.test/cn.safetensors", "control_image_url": bad}]
    with pytest.raises(ValidationFailed, match=r"controlnets\[0\]\.control_image_url"):
        await provider(fake).prepare(rf, payload(rf, controlnets=controlnets), KEY)
    assert not fake.requests


async def test_an_uploaded_file_that_is_no_image_is_refused_by_field_before_anything_is_sent(tmp_path):
    """A file in the upload folder (an API caller's upload, for a model whose form has no image check of its own)
    goes to fal storage only if it is an image, sent with the type its bytes show."""
    page = tmp_path / "page.png"
    page.write_bytes(b"<html><script>alert(1)</script></html>")
    fake = FakeFal()
    with pytest.raises(ValidationFailed, match="image_url: not a PNG, JPEG or WebP image"):
        await provider(fake, tmp_path).prepare(I2I, payload(I2I, image_url=str(page)), KEY)
    assert not fake.requests
    image = tmp_path / "image.bin"
    image.write_bytes(PNG_BYTES)
    await provider(fake, tmp_path).prepare(I2I, payload(I2I, image_url=str(image)), KEY)
    upload = next(r for r in fake.requests if r.url.path == "/files/upload")
    assert upload.headers["content-type"] == "image/png"


async def test_local_path_outside_upload_roots_is_refused(tmp_path):
    fake = FakeFal()
    with pytest.raises(ValidationFailed, match="image_url"):
        await provider(fake, tmp_path).submit(I2I, payload(I2I, image_url="/etc/hostname"), KEY)
    assert not fake.requests


def test_credentials_repr_hides_the_key():
    assert KEY.key not in repr(KEY)


async def test_job_cancelled_upstream_is_reported_as_cancelled_without_fetching_a_result():
    cancelled = {**DONE, "error": "cancelled", "error_type": "client_cancelled"}
    fake = FakeFal(streams=[stream_response(cancelled)])
    with pytest.raises(Cancelled, match="cancelled"):
        await collect(await provider(fake).submit(FLUX_PRO, payload(), KEY))
    assert fake.count("GET", "/requests/r1") == 0
