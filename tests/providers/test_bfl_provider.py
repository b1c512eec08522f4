"""The Black Forest Labs provider against the sandbox's BFL API over loopback: submit and poll to Ready, every
status, 402/403/429, both moderation statuses, a poll that fails once, the key kept to BFL's hosts, credits, and a
result URL that expires (the run engine saved the image before it died)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from endpoints import get_endpoint
from providers.base import Completed, Credentials, Queued, Running
from providers.bfl import BflProvider
from providers.errors import (
    AuthenticationError,
    InsufficientCreditsError,
    ProviderFailure,
    RateLimited,
    ValidationFailed,
)
from providers.media import MediaStore
from providers.registry import build_providers, sandbox_settings
from providers.routing import Route
from runs.runner import Runner
from sandbox import RunningSandbox, SandboxOptions, start_sandbox
from tests.one_image_provider import OneImageProvider

PRO = get_endpoint("bfl_flux_pro_1_1")
KONTEXT_MAX = get_endpoint("bfl_flux_kontext_max")
FLEX = get_endpoint("bfl_flux_2_flex")
KEY = Credentials("bfl-test-key")
SMALL = {"prompt": "a lighthouse at dusk", "width": 256, "height": 256, "seed": 11}


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator:
    started: list[tuple[RunningSandbox, BflProvider]] = []

    def start(**options) -> tuple[RunningSandbox, BflProvider]:
        sandbox = start_sandbox(SandboxOptions(**{"step_seconds": 0.01, "startup_seconds": 0.0, **options}))
        provider = build_providers(sandbox_settings(sandbox.url)).get("bfl")
        assert isinstance(provider, BflProvider)
        started.append((sandbox, provider))
        return sandbox, provider

    yield start
    for sandbox, provider in started:
        await provider.aclose()
        sandbox.stop()


async def fetch(method: str, url: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.request(method, url, **kwargs)


async def events(provider: BflProvider, spec, values, key: Credentials | None = KEY) -> list:
    job = await provider.submit(spec, spec.input_model.model_validate(values), key)
    async with asyncio.timeout(20):
        return [event async for event in job.events()]


async def test_submit_and_poll_until_ready_with_progress(make) -> None:
    _, provider = make()
    seen = await events(provider, PRO, SMALL)
    assert isinstance(seen[0], Queued) and seen[0].position is None  # BFL's Pending has no position
    progress = [e.logs[0].message for e in seen if isinstance(e, Running)]
    assert progress and progress[0].startswith("Progress ") and progress[-2].endswith("%")
    assert progress[-1] == "Ready: 100%"  # the logs end on the job's end, not on the last progress polled
    result = seen[-1].result
    assert isinstance(seen[-1], Completed) and result.seed == 11 and result.prompt == "a lighthouse at dusk"
    assert "/bfl/delivery/" in result.images[0].url and "exp=" in result.images[0].url
    assert (await fetch("GET", result.images[0].url)).status_code == 200


async def test_a_missing_or_refused_key(make) -> None:
    sandbox, provider = make()
    with pytest.raises(AuthenticationError, match="BFL_API_KEY"):
        await events(provider, PRO, SMALL, key=None)
    provider.credentials = None
    response = await fetch("POST", f"{sandbox.url}/bfl/v1/flux-pro-1.1", json=SMALL)
    assert response.status_code == 403


async def test_out_of_credits_is_402_said_plainly(make) -> None:
    _, provider = make(bfl_credits=3.0)  # FLUX1.1 [pro] takes 4 credits ($0.04)
    with pytest.raises(InsufficientCreditsError, match="not enough credits"):
        await events(provider, PRO, SMALL)


async def test_too_many_active_tasks_waits_then_says_so(make, monkeypatch) -> None:
    monkeypatch.setattr("providers.bfl.SUBMIT_BUSY_WAIT", 1.5)
    _, provider = make(bfl_active_tasks=1, step_seconds=0.5)
    first = await provider.submit(PRO, PRO.input_model.model_validate(SMALL), KEY)
    with pytest.raises(RateLimited, match="as many tasks as this key may have at once"):
        await provider.submit(PRO, PRO.input_model.model_validate(SMALL), KEY)
    assert first.request_id


async def test_a_429_is_waited_out_when_a_slot_frees(make) -> None:
    _, provider = make(bfl_active_tasks=1, step_seconds=0.05)
    first = await provider.submit(PRO, PRO.input_model.model_validate({**SMALL, "seed": 1}), KEY)
    second = await asyncio.wait_for(provider.submit(PRO, PRO.input_model.model_validate(SMALL), KEY), 30)
    assert first.request_id != second.request_id


@pytest.mark.parametrize(("tolerance", "status", "what"), [(1, "Request Moderated", "your request"),
                                                            (2, "Content Moderated", "the generated image")])
async def test_moderation_is_said_plainly_with_reasons(make, tolerance: int, status: str, what: str) -> None:
    _, provider = make()
    with pytest.raises(ProviderFailure) as caught:
        await events(provider, PRO, {**SMALL, "prompt": "an nsfw scene", "safety_tolerance": tolerance})
    message = caught.value.message
    assert message.startswith("Moderated:") and what in message and status in message and "Reasons: Sandbox" in message


async def test_an_unknown_task_is_task_not_found(make) -> None:
    sandbox, provider = make()
    job = await provider.submit(PRO, PRO.input_model.model_validate(SMALL), KEY)
    job.polling_url = f"{sandbox.url}/bfl/v1/get_result?id=no-such-task"
    with pytest.raises(ProviderFailure, match="Task not found"):
        async with asyncio.timeout(10):
            [e async for e in job.events()]


async def test_a_poll_that_fails_once_is_retried(make) -> None:
    sandbox, provider = make(faults="poll=status_503:1")
    seen = await events(provider, PRO, SMALL)
    assert isinstance(seen[-1], Completed)
    assert (await fetch("GET", f"{sandbox.url}/_sandbox/stats")).json()["faults"]


def test_the_key_goes_only_to_bfl_hosts() -> None:
    provider = BflProvider(httpx.AsyncClient(), api_url="https://api.bfl.ai")
    assert provider.may_receive_key("https://api.bfl.ai/v1/get_result?id=1")
    assert provider.may_receive_key("https://api.eu.bfl.ai/v1/get_result?id=1")
    assert provider.may_receive_key("https://api.us.bfl.ai/v1/get_result?id=1")
    assert not provider.may_receive_key("https://evil.example/v1/get_result?id=1")
    assert not provider.may_receive_key("https://api.bfl.ai.evil.example/v1/get_result")
    assert not provider.may_receive_key("http://api.eu.bfl.ai/v1/get_result?id=1")  # never over plain http


async def test_a_polling_url_elsewhere_never_gets_the_key(make) -> None:
    _, provider = make()
    seen: list[httpx.Request] = []

    def elsewhere(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "x", "status": "Task not found"})

    job = await provider.submit(PRO, PRO.input_model.model_validate(SMALL), KEY)
    job.polling_url = "https://poll.example/v1/get_result?id=x"
    real = provider.client
    provider.client = httpx.AsyncClient(transport=httpx.MockTransport(elsewhere))
    try:
        with pytest.raises(ProviderFailure):
            [e async for e in job.events()]
    finally:
        await provider.client.aclose()
        provider.client = real
    assert seen and all("x-key" not in request.headers for request in seen)


async def test_credits_are_read(make) -> None:
    _, provider = make(bfl_credits=250.0)
    assert await provider.credits(KEY) == 250.0
    await events(provider, PRO, SMALL)
    assert await provider.credits(KEY) == 246.0  # $0.04 = 4 credits


async def test_flux2_input_is_validated_by_the_model_with_field_names(make) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="multiple of 16"):
        FLEX.input_model.model_validate({**SMALL, "width": 250})
    with pytest.raises(ValidationError, match="at most 4 MP"):
        FLEX.input_model.model_validate({**SMALL, "width": 4096, "height": 4096})


async def test_an_expiring_result_url_is_saved_before_it_dies(make, tmp_path: Path) -> None:
    sandbox, provider = make(bfl_url_seconds=2.0)
    runner = Runner(MediaStore(tmp_path / "media"))
    route = Route(provider, KEY, "server_key")  # a live route: stable URLs would only be copied later
    async with asyncio.timeout(20):
        updates = [u async for u in runner.run(PRO, PRO.input_model.model_validate(SMALL), route)]
    record = updates[-1].record
    assert record is not None and record.state == "done", record
    image = record.result["images"][0]
    assert image["url"].startswith("/media/") and runner.media.path_of(image["file"]) is not None
    await asyncio.sleep(2.5)
    sample = f"{sandbox.url}/bfl/delivery/"
    assert not image["url"].startswith(sample)
    stats = (await fetch("GET", f"{sandbox.url}/_sandbox/stats")).json()
    assert stats["submits"]["flux-pro-1.1"] == 1


@pytest.mark.parametrize(("provider", "saved_at_once"), [("bfl", True), ("fal", False)])
async def test_the_catalog_says_whose_result_urls_expire(tmp_path: Path, provider: str, saved_at_once: bool) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 32
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=png)))
    runner = Runner(MediaStore(tmp_path / "media"))
    fake = OneImageProvider(provider, client, "https://cdn.example/signed.png?exp=1", KEY)
    async with asyncio.timeout(10):
        updates = [u async for u in runner.run(PRO, PRO.input_model.model_validate(SMALL), Route(fake, KEY, "server_key"))]  # type: ignore[arg-type]
    image = updates[-1].record.result["images"][0]
    assert image["url"].startswith("/media/") is saved_at_once
    await runner.drain()
    await client.aclose()


async def kontext_run(provider: BflProvider, input_image: str) -> tuple[Any, list[Any], list[dict]]:
    """A Kontext [pro] run of ``input_image`` through ``provider`` (closed after): what it prepared, its events, and
    each JSON body it posted."""
    seen: list[dict] = []
    original = provider.client.post

    async def post(url, **kwargs):
        seen.append(kwargs["json"])
        return await original(url, **kwargs)

    provider.client.post = post  # type: ignore[method-assign]
    kontext = get_endpoint("bfl_flux_kontext_pro")
    try:
        prepared = await provider.prepare(kontext, kontext.input_model.model_validate(
            {"prompt": "make it a watercolor", "input_image": input_image, "seed": 3}), None)
        job = await provider.send(prepared)
        async with asyncio.timeout(20):
            got = [event async for event in job.events()]
    finally:
        await provider.aclose()
    return prepared, got, seen


async def test_an_uploaded_image_goes_inline_as_base64_and_the_record_describes_the_file(make, tmp_path) -> None:
    """BFL takes an image field as plain base64. The request sent holds it; the record keeps the file's name, size
    and hash instead of megabytes of text (a browser's history keeps every record)."""
    sandbox, _ = make()
    upload = tmp_path / "uploads" / "source.png"
    upload.parent.mkdir()
    buffer = io.BytesIO()
    Image.effect_noise((512, 512), 80).convert("RGB").save(buffer, "PNG")  # incompressible: ~200 KB
    upload.write_bytes(buffer.getvalue())
    provider = BflProvider(httpx.AsyncClient(), api_url=sandbox.bfl_api_url, credentials=KEY,
                           local_file_roots=(upload.parent,))
    prepared, got, seen = await kontext_run(provider, str(upload))
    assert isinstance(got[-1], Completed), got[-1]
    assert seen[0]["input_image"] == base64.b64encode(upload.read_bytes()).decode("ascii")
    record = prepared.to_json()
    assert "input_image" not in record["body"] and record["body"]["prompt"] == "make it a watercolor"
    assert record["files"] == [{"field": "input_image", "file_name": "source.png", "content_type": "image/png",
                                "size": upload.stat().st_size,
                                "sha256": hashlib.sha256(upload.read_bytes()).hexdigest()}]
    assert len(json.dumps(record)) < 2_000 and str(upload.parent) not in json.dumps(record)


async def test_an_image_given_as_plain_base64_goes_as_it_is(make) -> None:
    """BFL's own inline form, plain base64 (what the model takes: an API or MCP caller's), is sent unchanged: not
    taken for an upload's path and refused."""
    sandbox, _ = make()
    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (200, 30, 30)).save(buffer, "JPEG")
    inline = base64.b64encode(buffer.getvalue()).decode("ascii")
    assert inline.startswith("/9j/")  # a JPEG's base64 looks like an absolute path
    provider = BflProvider(httpx.AsyncClient(), api_url=sandbox.bfl_api_url, credentials=KEY)
    prepared, got, seen = await kontext_run(provider, inline)
    assert isinstance(got[-1], Completed), got[-1]
    assert seen[0]["input_image"] == inline
    # the record describes the image, as for an upload, instead of holding its base64 (up to 20 MB)
    record = prepared.to_json()
    assert "input_image" not in record["body"] and len(json.dumps(record)) < 2_000
    data = buffer.getvalue()
    assert record["files"] == [{"field": "input_image", "file_name": "input_image.jpg", "content_type": "image/jpeg",
                                "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]


async def test_an_upload_whose_path_reads_as_base64_is_an_upload_and_gone_it_is_refused(make, tmp_path) -> None:
    """A path with no dot reads as base64 (``/tmp/gradio/<hash>/image``): it is never sent as an image's base64.
    While the upload is there it is read and sent; once it is gone the field is refused by name."""
    sandbox, _ = make()
    folder = tmp_path / ("a" * 64)
    folder.mkdir()
    upload = folder / "image"
    Image.new("RGB", (32, 32), (9, 9, 9)).save(upload, "PNG")
    provider = BflProvider(httpx.AsyncClient(), api_url=sandbox.bfl_api_url, credentials=KEY,
                           local_file_roots=(tmp_path,))
    kontext = get_endpoint("bfl_flux_kontext_pro")
    payload = kontext.input_model.model_validate({"prompt": "x", "input_image": str(upload)})
    try:
        prepared = await provider.prepare(kontext, payload, None)
        assert prepared.file_paths == {"input_image": str(upload.resolve())} and not prepared.inline_values
        upload.unlink()
        with pytest.raises(ValidationFailed, match="input_image"):
            await provider.prepare(kontext, payload, None)
    finally:
        await provider.aclose()
