"""Faults mid-job: a hung status stream, transport errors, a flaky CDN, repeated uploads of one file."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from providers import media as media_module
from providers.errors import ProviderFailure
from providers.media import MediaStore
from providers.retry import RetryPolicy
from tests.providers.fake_fal import DONE, PNG, RUNNING_1, FakeFal, stream_response
from tests.providers.test_fal_provider import FAST, FLUX_PRO, I2I, KEY, collect, payload, provider


def hanging_stream() -> httpx.Response:
    async def never():
        yield b": keep-alive\n\n"
        await asyncio.sleep(3600)

    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=never())


async def test_a_hung_status_stream_is_checked_by_polling_within_seconds():
    fake = FakeFal(streams=[hanging_stream], polls=[DONE])
    started = time.monotonic()
    job = await provider(fake, silence_poll_seconds=0.2).submit(FLUX_PRO, payload(), KEY)
    async with asyncio.timeout(10):
        events = await collect(job)
    assert events[-1].result.seed == 42
    assert time.monotonic() - started < 3  # not the stream's read timeout
    assert job.silence_polls >= 1


async def test_transport_errors_while_polling_become_provider_errors():
    fake = FakeFal(streams=[httpx.Response(404)], polls=[RUNNING_1])
    original = fake.handler

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status"):
            raise httpx.ConnectError("connection refused")
        return original(request)

    p = provider(fake)
    p.client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    job = await p.submit(FLUX_PRO, payload(), KEY)
    with pytest.raises(ProviderFailure, match="Could not reach fal.ai while fetching the status"):
        await collect(job)


async def test_one_503_from_the_cdn_does_not_lose_the_image(tmp_path):
    answers = [httpx.Response(503), httpx.Response(200, content=PNG, headers={"content-type": "image/png"})]

    def cdn(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    media = MediaStore(tmp_path / "media", retry=RetryPolicy(attempts=3, wait_initial=0.001, wait_max=0.01, wait_jitter=0))
    stored = await media.fetch(httpx.AsyncClient(transport=httpx.MockTransport(cdn)), "https://cdn.test/a.png", provider="fal")
    assert media.path_of(stored.name).read_bytes() == PNG and not answers


@pytest.mark.parametrize("declared", [True, False])
async def test_an_oversized_image_is_refused_as_it_arrives_not_once_it_is_all_in_memory(tmp_path, monkeypatch,
                                                                                          declared):
    """The history's Download fetches the URLs a browser's stored entries name: a huge object was read whole before
    its size was checked. Refused by its declared length, or else once the bytes read pass the bound."""
    monkeypatch.setattr(media_module, "MAX_IMAGE_BYTES", 1000)
    sent: list[int] = []

    async def body():
        for _ in range(1000):  # 100 kB in all, in 100-byte chunks
            sent.append(100)
            yield b"x" * 100

    def cdn(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "image/png"} | ({"content-length": "100000"} if declared else {})
        return httpx.Response(200, headers=headers, content=body())

    media = MediaStore(tmp_path / "media", retry=RetryPolicy(attempts=1))
    with pytest.raises(ProviderFailure, match="larger than this app accepts"):
        await media.fetch(httpx.AsyncClient(transport=httpx.MockTransport(cdn)), "https://cdn.test/big.png",
                          provider="fal")
    assert sum(sent) <= 1100, sum(sent)  # stopped at the bound, not after the whole body


async def test_a_redirect_is_not_followed_for_a_url_a_visitor_named(tmp_path):
    """The history's Download checked the first URL's host and followed redirects anywhere (an address inside the
    server's network, read back as an "image")."""
    asked: list[str] = []

    def cdn(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        if request.url.host == "v3.fal.media":
            return httpx.Response(302, headers={"location": "http://127.0.0.1:9/latest/meta-data/"})
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    client = httpx.AsyncClient(transport=httpx.MockTransport(cdn), follow_redirects=True)  # as the providers' are
    media = MediaStore(tmp_path / "media", retry=RetryPolicy(attempts=1))
    with pytest.raises(ProviderFailure, match="HTTP 302"):
        await media.fetch(client, "https://v3.fal.media/x.png", provider="fal", follow_redirects=False)
    assert asked == ["https://v3.fal.media/x.png"]
    await media.fetch(client, "https://v3.fal.media/x.png", provider="fal")  # a provider's own result: followed
    assert asked[-1] == "http://127.0.0.1:9/latest/meta-data/"


async def test_a_cached_upload_is_not_read_or_hashed_again(tmp_path):
    fake = FakeFal(streams=[stream_response(DONE)])
    image = tmp_path / "cat.png"
    image.write_bytes(PNG)
    p = provider(fake, tmp_path)
    for _ in range(5):
        await p.prepare(I2I, payload(I2I, image_url=str(image)), KEY)
    assert p.storage.uploads == 1 and p.storage.file_reads == 1


def test_media_folder_is_private(tmp_path):
    media = MediaStore()
    assert oct(media.root.stat().st_mode & 0o777) == "0o700"
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(PermissionError):
        MediaStore(link)
    assert media.path_of("../../etc/passwd") is None and media.path_of("x.png") is None


async def test_media_files_are_private_and_storage_is_bounded(tmp_path):
    media = MediaStore(tmp_path / "m", max_bytes=300)
    names = [(await media.save(bytes([i]) * 100, "image/png")).name for i in range(5)]
    assert oct(media.path_of(names[-1]).stat().st_mode & 0o777) == "0o600"
    media.prune()
    assert media.total_bytes() <= 300 and media.path_of(names[-1]) is not None and media.path_of(names[0]) is None
    old = MediaStore(tmp_path / "o", max_age=10)
    first = (await old.save(b"a" * 10, "image/png")).name
    assert old.prune(now=time.time() + 60) == 1 and old.path_of(first) is None


async def test_the_newest_files_are_kept_in_memory_within_a_bound_and_forgotten_when_pruned(tmp_path, monkeypatch):
    monkeypatch.setattr(media_module, "RECENT_BYTES", 2 * (100 + media_module.ENTRY_BYTES) + 50)  # two of 100 bytes
    monkeypatch.setattr(media_module, "RECENT_FILE_BYTES", 150)
    media = MediaStore(tmp_path / "m", max_age=10)
    run = "cd" * 16
    names = [(await media.save(bytes([i]) * 100, "image/png", f"{run}/flux_pro-{i}-1.png")).name for i in range(3)]
    assert media.recent(names[0]) is None, "the oldest left memory once the newest passed the bound"
    assert media.recent(names[1]) == bytes([1]) * 100 and media.recent(names[2]) == bytes([2]) * 100
    big = (await media.save(b"b" * 200, "image/png", f"{run}/flux_pro-9-1.png")).name
    assert media.recent(big) is None and media.path_of(big) is not None, "a large file is served from disk only"
    assert media.prune(now=time.time() + 60) == 4
    assert all(media.recent(name) is None for name in names), "a pruned file is not served from memory either"
    assert media.recent("../../etc/passwd") is None
    again = (await media.save(b"c" * 50, "image/png", f"{run}/flux_pro-5-1.png")).name
    await media.save(b"d" * 60, "image/png", again)
    assert media.recent(again) == b"d" * 60, "a name written again: its new bytes"
    await media.save(b"e" * 200, "image/png", again)
    assert media.recent(again) is None, "written again too large for memory: not the old bytes either"
    media.close()
    assert media.recent(names[1]) is None


async def test_named_media_files_live_in_their_runs_folder_and_go_with_it(tmp_path):
    media = MediaStore(tmp_path / "m", max_age=10)
    run = "ab" * 16
    stored = await media.save(b"x" * 10, "image/jpeg", f"{run}/flux_pro-7-1.jpg")
    path = media.path_of(stored.name)
    assert path is not None and path.name == "flux_pro-7-1.jpg" and path.parent.name == run
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700" and oct(path.stat().st_mode & 0o777) == "0o600"
    for bad in (f"{run}/../x.jpg", f"{run}/a/b.jpg", f"../{run}/a.jpg", f"{run}/.hidden.jpg", f"{run}/a.exe"):
        assert media.path_of(bad) is None
        with pytest.raises(ValueError):
            await media.save(b"y", "image/jpeg", bad)
    assert media.total_bytes() == 10
    assert media.prune(now=time.time() + 60) == 1 and not (media.root / run).exists(), "the empty folder goes too"


@pytest.mark.parametrize(("error", "says"), [
    (httpx.ConnectError("refused"), "Could not reach fal.ai (ConnectError): nothing was sent"),
    (httpx.PoolTimeout("no free connection"), "Could not reach fal.ai (PoolTimeout): nothing was sent"),
    (httpx.ReadError("connection reset"), ("broke before it answered the submit (ReadError). fal.ai may still have "
                                           "taken the request (and billed it): check your fal.ai dashboard")),
])
async def test_a_submit_without_an_answer_says_whether_it_may_have_been_queued(error, says):
    """A submit that left and lost its answer may be queued and billed (no request id to follow or cancel): the
    visitor is not told the provider could not be reached, and the POST is not sent again (it could bill twice)."""
    posts = []

    def handler(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        raise error

    p = provider(FakeFal())
    p.client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with pytest.raises(ProviderFailure) as raised:
        await p.submit(FLUX_PRO, payload(), KEY)
    assert says in str(raised.value)
    assert len(posts) == (FAST.attempts if isinstance(error, httpx.ConnectError) else 1)  # a pool timeout: not retried
