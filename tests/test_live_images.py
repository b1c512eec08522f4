"""A live provider's image (an https URL that outlives the run) is shown at once and copied here off the critical
path. The page shows it by ``/media/<name>``, which waits for the copy (``Runner.await_copy``), so the gallery's own
download is the copy with the run inside. The sandbox stands in for a live provider and takes the same path; its
record names the copy, since no visitor can reach the sandbox's loopback URL."""

from __future__ import annotations

import asyncio
import io
import threading
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from app import media_routes
from components.endpoint_run import from_page, gallery_items, stored_gallery
from components.history_files import image_file
from endpoints import get_endpoint
from providers.base import Credentials
from providers.media import MediaStore
from providers.routing import Route
from runs.provenance import read_metadata
from runs.runner import Runner
from tests.one_image_provider import OneImageProvider

FLUX_PRO = get_endpoint("flux_pro")
KEY = Credentials("fal-test-key")
CDN = "https://v3.fal.media/files/rabbit/result.png"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 120, 220)).save(buffer, format="PNG")
    return buffer.getvalue()


def live_fal(cdn: httpx.MockTransport) -> OneImageProvider:
    """fal as the runner sees it, its CDN behind ``cdn`` (an httpx transport the test holds back or fails)."""
    return OneImageProvider("fal", httpx.AsyncClient(transport=cdn), CDN, KEY)


def held_cdn(release: asyncio.Event, status: int = 200) -> httpx.MockTransport:
    async def handler(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return httpx.Response(status, content=png(), headers={"content-type": "image/png"})

    return httpx.MockTransport(handler)


async def finished_run(runner: Runner, provider: OneImageProvider, kind: str = "server_key"):
    payload = FLUX_PRO.input_model.model_validate({"prompt": "a lighthouse", "seed": 7})
    media_url = lambda name: f"http://127.0.0.1:7860/media/{name}"  # as ctx.media_url_for gives it
    async with asyncio.timeout(10):
        updates = [u async for u in runner.run(FLUX_PRO, payload, Route(provider, KEY, kind),  # type: ignore[arg-type]
                                               media_url=media_url)]
    return updates[-1].record, media_url


async def test_the_run_ends_before_the_copy_and_the_page_shows_the_copy_by_its_media_url(tmp_path: Path) -> None:
    release = asyncio.Event()
    runner = Runner(MediaStore(tmp_path / "media"))
    provider = live_fal(held_cdn(release))
    record, media_url = await finished_run(runner, provider)  # the CDN has not answered yet
    image = record.result["images"][0]
    assert image["url"] == CDN, "the record keeps the provider's URL (it outlives this app's media folder)"
    name = image["file"]
    assert name == f"{record.id}/flux_pro-7-1.png"
    assert runner.media.path_of(name) is None and name in runner.inflight
    assert gallery_items(record, runner, media_url)[0][0] == media_url(name)
    assert gallery_items(record, runner, lambda n: f"/media/{n}")[0][0] == CDN, "never a bare path"

    waiting = asyncio.ensure_future(runner.await_copy(name))
    await asyncio.sleep(0.05)
    assert not waiting.done(), "waits for the copy under way"
    release.set()
    assert await asyncio.wait_for(waiting, 5) is None
    stored = runner.media.path_of(name)
    assert stored is not None and name not in runner.inflight
    assert read_metadata(stored.read_bytes()).record.id == record.id, "the copy carries its run"
    assert gallery_items(record, runner, media_url)[0][0] == str(stored)
    await runner.drain()
    await provider.client.aclose()


async def test_the_page_gets_the_tagged_image_before_its_file_is_written(tmp_path: Path, monkeypatch) -> None:
    """The visitor waits for the download and the tagging, not for a worker thread writing the file."""
    runner = Runner(MediaStore(tmp_path / "media"))
    answered = asyncio.Event()
    answered.set()
    provider = live_fal(held_cdn(answered))
    writing = threading.Event()
    write = runner.media.write

    def slow_disk(*args, **kwargs):
        writing.wait(10)
        return write(*args, **kwargs)

    monkeypatch.setattr(runner.media, "write", slow_disk)
    try:
        record, _ = await finished_run(runner, provider)
        name = record.result["images"][0]["file"]
        app = Starlette(routes=media_routes(runner))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            response = await asyncio.wait_for(client.get(f"/media/{name}"), 3)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert read_metadata(response.content).record.id == record.id, "the bytes served carry the run"
        assert runner.media.path_of(name) is None, "served while the file was still being written"
    finally:
        writing.set()
    await runner.drain()
    stored = runner.media.path_of(name)
    assert stored is not None and stored.read_bytes() == response.content, "the file is the image the page got"
    assert name not in runner.inflight and runner.media.recent(name) == response.content
    await provider.client.aclose()


async def test_the_media_route_waits_for_the_copy_and_falls_back_to_the_provider(tmp_path: Path) -> None:
    release = asyncio.Event()
    runner = Runner(MediaStore(tmp_path / "media"))
    provider = live_fal(held_cdn(release))
    record, _ = await finished_run(runner, provider)
    name = record.result["images"][0]["file"]
    app = Starlette(routes=media_routes(runner))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        answer = asyncio.ensure_future(client.get(f"/media/{name}"))
        await asyncio.sleep(0.05)
        assert not answer.done()
        release.set()
        response = await asyncio.wait_for(answer, 5)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        assert read_metadata(response.content).record.id == record.id
        assert (await client.get("/media/0123456789abcdef0123456789abcdef/flux_pro-1-1.png")).status_code == 404

    failing = Runner(MediaStore(tmp_path / "media-2"))
    gone = asyncio.Event()
    gone.set()
    broken = live_fal(held_cdn(gone, status=404))
    record, _ = await finished_run(failing, broken)
    name = record.result["images"][0]["file"]
    await failing.drain()
    app = Starlette(routes=media_routes(failing))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        response = await client.get(f"/media/{name}")
    assert response.status_code == 307 and response.headers["location"] == CDN, "the browser still gets the image"
    await provider.client.aclose()
    await broken.client.aclose()


async def test_a_sandbox_image_is_copied_off_the_critical_path_and_use_as_input_waits_for_it(tmp_path: Path) -> None:
    """The sandbox's image takes a live one's path; "Use as input" (or Open image) right after the run waits for
    the copy instead of finding nothing."""
    release = asyncio.Event()
    runner = Runner(MediaStore(tmp_path / "media"))
    provider = OneImageProvider("fal", httpx.AsyncClient(transport=held_cdn(release)),
                                "http://127.0.0.1:9/fal/cdn/files/result.png", KEY)
    record, media_url = await finished_run(runner, provider, kind="sandbox")  # the sandbox has not answered yet
    image = record.result["images"][0]
    assert image["url"] == media_url(image["file"]), "the record names this app's copy, not the sandbox's URL"
    assert runner.media.path_of(image["file"]) is None and image["file"] in runner.inflight
    ctx = SimpleNamespace(runner=runner)  # the copy is awaited before anything else of the context is needed
    finding = asyncio.ensure_future(image_file(ctx, record.to_json(), 0))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert not finding.done(), "waits for the copy under way"
    release.set()
    path, kind = await asyncio.wait_for(finding, 5)
    assert path == runner.media.path_of(image["file"]) and kind == "image/png"
    assert read_metadata(path.read_bytes()).record.id == record.id
    await runner.drain()
    await provider.client.aclose()


async def test_api_and_mcp_callers_get_the_stored_copy_not_a_url_of_this_app(tmp_path: Path) -> None:
    """gradio_client and MCP get files Gradio serves or reads: the run waits for the copy for them (a URL of this
    very app would be fetched by Gradio, which refuses loopback and private addresses)."""
    release = asyncio.Event()
    runner = Runner(MediaStore(tmp_path / "media"))
    provider = live_fal(held_cdn(release))
    record, _ = await finished_run(runner, provider)
    handing_out = asyncio.ensure_future(stored_gallery(record, runner))
    await asyncio.sleep(0.05)
    assert not handing_out.done()
    release.set()
    (path, caption), = await asyncio.wait_for(handing_out, 5)
    assert path == str(runner.media.path_of(record.result["images"][0]["file"])) and "seed 7" in caption
    await runner.drain()
    await provider.client.aclose()


async def test_a_copy_queued_behind_others_or_failing_oddly_sends_the_page_to_the_provider(tmp_path: Path,
                                                                                          monkeypatch) -> None:
    from runs import image_copies as copies_module

    runner = Runner(MediaStore(tmp_path / "media"))
    release = asyncio.Event()
    provider = live_fal(held_cdn(release))
    for _ in range(copies_module.BACKGROUND_COPIES):  # every copy slot taken (a big sweep's copies, say)
        await runner._copy_slots.acquire()
    record, _ = await finished_run(runner, provider)
    name = record.result["images"][0]["file"]
    started = asyncio.get_running_loop().time()
    assert await runner.await_copy(name, start_timeout=0.2) == CDN, "not left waiting behind the queue"
    assert asyncio.get_running_loop().time() - started < 2
    for _ in range(copies_module.BACKGROUND_COPIES):
        runner._copy_slots.release()
    release.set()
    await runner.drain()
    assert runner.media.path_of(name) is not None and await runner.await_copy(name) is None

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner.media, "write", full_disk)
    monkeypatch.setattr(runner.media, "_write", full_disk)
    record, _ = await finished_run(runner, provider)
    name = record.result["images"][0]["file"]
    assert await asyncio.wait_for(runner.await_copy(name), 5) == CDN
    await runner.drain()
    assert runner.inflight[name].done.is_set()
    await provider.client.aclose()


async def test_the_copies_of_runs_ending_together_all_start_at_once(tmp_path: Path) -> None:
    """Fifty visitors' runs ending at the same moment: every copy is under way at once, none queued behind the others
    (a queued copy keeps its page waiting for its image, benchmarks/README.md stop 50)."""
    release = asyncio.Event()
    runner = Runner(MediaStore(tmp_path / "media"))
    provider = live_fal(held_cdn(release))  # the CDN answers no one until released: every copy stays under way
    records = [record for record, _ in await asyncio.gather(*(finished_run(runner, provider) for _ in range(50)))]
    names = [record.result["images"][0]["file"] for record in records]
    await asyncio.sleep(0.05)  # each copy task gets to its slot
    assert all(runner.inflight[name].started.is_set() for name in names), "a copy waited for a slot"
    release.set()
    await runner.drain()
    assert all(runner.media.path_of(name) is not None for name in names)
    await provider.client.aclose()


async def test_the_media_route_redirects_only_to_a_providers_own_host(tmp_path: Path) -> None:
    runner = Runner(MediaStore(tmp_path / "media"))
    gone = asyncio.Event()
    gone.set()
    odd = "https://collector.example.test/result.png"
    provider = live_fal(held_cdn(gone, status=404))
    name = "0123456789abcdef0123456789abcdef/flux_pro-1-1.png"
    runner.copy_later(provider.client, odd, "fal", name=name)
    await runner.drain()
    app = Starlette(routes=media_routes(runner))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        assert (await client.get(f"/media/{name}")).status_code == 404
    await provider.client.aclose()


async def test_the_media_route_serves_a_runs_image_from_memory_and_older_ones_from_disk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import app as app_module

    runner = Runner(MediaStore(tmp_path / "media"))
    name = "0123456789abcdef0123456789abcdef/flux_pro-1-1.png"
    await runner.media.save(png(), "image/png", name)
    app = Starlette(routes=media_routes(runner))
    from_disk: list[object] = []
    real_file_response = app_module.FileResponse

    def file_response(path: object, **kwargs: object) -> object:
        from_disk.append(path)
        return real_file_response(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app_module, "FileResponse", file_response)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
        fresh = await client.get(f"/media/{name}")
        assert fresh.status_code == 200 and fresh.content == png() and fresh.headers["content-type"] == "image/png"
        assert "immutable" in fresh.headers["cache-control"] and from_disk == [], "the newest image: from memory"
        runner.media._forget(name)  # older than what memory keeps
        old = await client.get(f"/media/{name}")
        assert old.status_code == 200 and old.content == png() and len(from_disk) == 1, "an older one: from disk"
        other = "0123456789abcdef0123456789abcdef/flux_pro-2-1.png"
        await runner.media.save(png(), "image/png", other)
        path = runner.media.path_of(other)
        assert path is not None and runner.media.recent(other) is not None
        path.unlink()  # gone by other means than pruning: memory does not outlive the file
        assert (await client.get(f"/media/{other}")).status_code == 404


@pytest.mark.parametrize(("header", "page"), [("app", True), ("api", False), ("mcp", False), (None, False)])
def test_only_the_page_gets_media_urls(header: str | None, page: bool) -> None:
    class Request:
        headers = {"x-gradio-user": header} if header else {}

    assert from_page(Request()) is page  # type: ignore[arg-type]
    assert from_page(None) is False


@pytest.mark.parametrize("copied", [True, False])
async def test_await_copy_of_a_name_never_copied_returns_at_once(tmp_path: Path, copied: bool) -> None:
    runner = Runner(MediaStore(tmp_path / "media"))
    if copied:
        stored = await runner.media.save(png(), "image/png", "0123456789abcdef0123456789abcdef/flux_pro-1-1.png")
        assert await asyncio.wait_for(runner.await_copy(stored.name), 1) is None
    else:
        assert await asyncio.wait_for(runner.await_copy("0123456789abcdef0123456789abcdef/never.png"), 1) is None
