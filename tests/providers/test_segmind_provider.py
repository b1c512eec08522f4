"""Segmind v1 provider over httpx.MockTransport."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image

from endpoints import get_endpoint
from providers.base import Completed, Credentials, Running
from providers.errors import AuthenticationError, InsufficientCreditsError, ProviderFailure, ValidationFailed
from providers.retry import RetryPolicy
from providers.segmind import SegmindProvider

SPEC = get_endpoint("segmind_flux_depth_pro")
KEY = Credentials("sg-secret-key-abcdef", "environment")
FAST = RetryPolicy(attempts=3, wait_initial=0.001, wait_max=0.01, wait_jitter=0.0)


def jpeg(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "navy").save(buffer, "JPEG")
    return buffer.getvalue()


def make(handler, tmp_path, **kwargs) -> SegmindProvider:
    return SegmindProvider(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        api_url="https://segmind.test",
        retry=FAST,
        local_file_roots=(tmp_path,),
        **kwargs,
    )


async def run(provider, **overrides):
    job = await provider.submit(SPEC, SPEC.build_input({**SPEC.example, **overrides}), KEY)
    return [event async for event in job.events()]


async def test_url_control_image_goes_as_json_and_bytes_come_back(tmp_path):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            content=jpeg(),
            headers={"content-type": "image/jpeg", "x-remaining-credits": "9.5", "x-request-id": "sg-1"},
        )

    events = await run(make(handler, tmp_path))
    assert isinstance(events[0], Running) and isinstance(events[-1], Completed)
    result = events[-1].result
    assert result.extras == {"remaining_credits": 9.5}
    assert result.has_nsfw_concepts is None, "Segmind reports no NSFW flag; never a made-up False"
    assert result.seed == 96522 and result.request_id == "sg-1"
    image = result.images[0]
    assert (image.width, image.height, image.content_type) == (40, 30, "image/jpeg")
    assert image.inline == jpeg() and image.url == ""
    request = seen[0]
    assert request.url.path == "/v1/flux-depth-pro" and request.headers["x-api-key"] == KEY.key
    body = json.loads(request.content)
    assert body["control_image"] == SPEC.example["control_image"] and body["steps"] == 40


async def test_uploaded_control_image_goes_as_a_file_part(tmp_path):
    upload = tmp_path / "control.png"
    Image.new("RGB", (16, 16), "white").save(upload)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=jpeg(), headers={"content-type": "image/jpeg"})

    await run(make(handler, tmp_path), control_image=str(upload))
    request = seen[0]
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="control_image"; filename="control.png"' in request.content
    assert b'name="prompt_upsampling"\r\n\r\nfalse' in request.content


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, {"error": "Invalid API key"}, AuthenticationError),
        (406, {"error": "Not enough credits"}, InsufficientCreditsError),
        (400, {"error": "steps: must be <= 50"}, ValidationFailed),
        (500, {"error": "Server error"}, ProviderFailure),
    ],
)
async def test_errors_are_typed_and_never_retried(tmp_path, status, body, error):
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status, json=body)

    with pytest.raises(error) as info:
        await run(make(handler, tmp_path))
    assert calls == 1, "a POST that reached Segmind is never sent twice"
    assert KEY.key not in str(info.value)


async def test_missing_key(tmp_path):
    with pytest.raises(AuthenticationError, match="SEGMIND_API_KEY"):
        await make(lambda r: httpx.Response(200), tmp_path).submit(SPEC, SPEC.build_input(SPEC.example), None)


async def test_non_image_answer_is_a_failure(tmp_path):
    handler = lambda r: httpx.Response(200, json={"status": "ok"})
    with pytest.raises(ProviderFailure, match="instead of an image"):
        await run(make(handler, tmp_path))


async def test_local_path_outside_roots_refused(tmp_path):
    provider = make(lambda r: httpx.Response(200), tmp_path)
    with pytest.raises(ValidationFailed, match="control_image"):
        await provider.submit(SPEC, SPEC.build_input({**SPEC.example, "control_image": "/etc/passwd"}), KEY)
