"""The result cache: keys (seed, scope, uploads by content), entries with their images, bounds — on SQLite and on a
real PostgreSQL."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from endpoints import get_endpoint
from runs.result_cache import CacheSettings, ResultCache, cache_key, file_sha256, scope_of
from runs.storage import PostgresStore, SharedStore, SqliteStore
from tests.postgres_support import postgres_url

FLUX_PRO = get_endpoint("flux_pro")
I2I = get_endpoint("flux_dev_image_to_image")
BODY = {"prompt": "a lighthouse", "seed": 7, "image_size": "square", "num_images": 1}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SharedStore]:
    made: SharedStore = PostgresStore(postgres_url()) if request.param == "postgres" else SqliteStore(
        tmp_path / "state.sqlite3"
    )
    yield made
    await made.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(store: SharedStore, tmp_path: Path, clock: Clock) -> ResultCache:
    return ResultCache(store, tmp_path / "cache", CacheSettings(days=7, max_bytes=10_000), clock=clock,
                       upload_roots=[tmp_path / "uploads"])


def result(request_id: str = "req-1") -> dict[str, object]:
    return {"images": [{"url": "https://v3.fal.media/x.png", "content_type": "image/png"}], "seed": 7,
            "request_id": request_id}


def test_an_unseeded_request_has_no_key() -> None:
    assert cache_key(FLUX_PRO, "fal", {**BODY, "seed": None}, scope="server") is None
    assert cache_key(FLUX_PRO, "fal", {k: v for k, v in BODY.items() if k != "seed"}, scope="server") is None


def test_the_key_is_canonical_and_covers_what_changes_the_image() -> None:
    key = cache_key(FLUX_PRO, "fal", BODY, scope="server")
    assert key == cache_key(FLUX_PRO, "fal", dict(reversed(BODY.items())), scope="server")
    others = [
        cache_key(FLUX_PRO, "fal", {**BODY, "seed": 8}, scope="server"),
        cache_key(FLUX_PRO, "fal", {**BODY, "prompt": "a lighthouse!"}, scope="server"),
        cache_key(FLUX_PRO, "sandbox", BODY, scope="server"),
        cache_key(I2I, "fal", BODY, scope="server"),
        cache_key(FLUX_PRO, "fal", BODY, scope=scope_of("key-a:secret")),
    ]
    assert key is not None and len({key, *others}) == 6


def test_an_own_key_scope_holds_no_key_and_differs_per_key() -> None:
    a, b = scope_of("id-a:secret-a"), scope_of("id-b:secret-b")
    assert a != b and a != scope_of(None) and "secret" not in a and "id-a" not in a


def test_uploads_count_by_content_not_by_path(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    first.write_bytes(PNG)
    second.write_bytes(PNG)
    other.write_bytes(PNG + b"x")
    body = {"prompt": "p", "seed": 1, "image_url": str(first)}
    digest = functools.partial(file_sha256, roots=(tmp_path,))
    key = cache_key(I2I, "fal", body, scope="server", file_digest=digest)
    assert key == cache_key(I2I, "fal", {**body, "image_url": str(second)}, scope="server", file_digest=digest)
    assert key != cache_key(I2I, "fal", {**body, "image_url": str(other)}, scope="server", file_digest=digest)


async def test_a_key_opens_no_file_outside_the_upload_folder(cache: ResultCache, tmp_path: Path, monkeypatch) -> None:
    """A probe's prompt of ``/dev/zero`` (with a seed) had a worker thread read forever, and any other path told
    whether a guessed ``sha256:`` was the file's content (the second run came from the cache)."""
    import builtins

    secret = tmp_path / "settings.py"
    secret.write_text("API_TOKEN = 'x'")
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "link.png").symlink_to(secret)  # a link out of the folder is not followed either
    guess = "sha256:" + hashlib.sha256(secret.read_bytes()).hexdigest()
    opened: list[str] = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k))
    for value in ("/dev/zero", str(secret), f"{tmp_path}/uploads/../settings.py", str(tmp_path / "uploads" / "link.png"),
                  f"{tmp_path}/uploads/{'a' * 5000}", f"{tmp_path}/uploads/a\0b"):  # a name too long, a NUL: text
        body = {"prompt": value, "seed": 424242, "image_url": value}
        key = await cache.key_for(I2I, "fal", body, own_key=None)
        assert key == cache_key(I2I, "fal", body, scope="server"), value  # the text itself, no file's content
    guessed = {"prompt": guess, "seed": 424242, "image_url": guess}
    assert await cache.key_for(I2I, "fal", guessed, own_key=None) != await cache.key_for(
        I2I, "fal", {"prompt": str(secret), "seed": 424242, "image_url": str(secret)}, own_key=None)
    assert not [path for path in opened if "settings.py" in path or path == "/dev/zero"], opened


async def test_a_key_reads_files_in_a_worker_thread_only_when_there_are_uploads(cache: ResultCache, tmp_path: Path,
                                                                                monkeypatch) -> None:
    from runs import result_cache

    hops: list[object] = []
    real = result_cache.asyncio.to_thread

    async def counted(fn, *args, **kwargs):
        hops.append(fn)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(result_cache.asyncio, "to_thread", counted)
    plain = {"prompt": "p", "seed": 1, "image_url": "https://example.test/cat.png"}
    assert await cache.key_for(I2I, "fal", plain, own_key=None) == cache_key(I2I, "fal", plain, scope="server")
    assert hops == [], "nothing to read: computed in place"
    upload = tmp_path / "uploads" / "a.png"
    upload.parent.mkdir()
    upload.write_bytes(PNG)
    body = {**plain, "image_url": str(upload)}
    digest = functools.partial(file_sha256, roots=(tmp_path / "uploads",))
    assert await cache.key_for(I2I, "fal", body, own_key=None) == cache_key(I2I, "fal", body, scope="server",
                                                                            file_digest=digest)
    assert hops == [cache_key], "an upload is read off the event loop"
    assert cache_key(I2I, "fal", body, scope="server", file_digest=digest) != cache_key(I2I, "fal", body,
                                                                                         scope="server")


async def test_a_put_is_served_with_its_images_and_origin(cache: ResultCache, clock: Clock) -> None:
    key = cache_key(FLUX_PRO, "fal", BODY, scope="server")
    assert key is not None and await cache.get(key) is None
    await cache.put(key, endpoint_id=FLUX_PRO.id, provider="fal", request_id="req-1", result=result(),
                    images=[(PNG, "image/png")])
    clock.now += 60
    hit = await cache.get(key)
    assert hit is not None
    assert hit.request_id == "req-1" and hit.first_run_at == 1_800_000_000.0
    assert [i.path.read_bytes() for i in hit.images] == [PNG] and hit.images[0].content_type == "image/png"
    assert hit.result["seed"] == 7 and "2027-01-15" in hit.first_run_text()


async def test_run_again_replaces_the_entry_and_its_images(cache: ResultCache) -> None:
    key = "k" * 64
    await cache.put(key, endpoint_id=FLUX_PRO.id, provider="fal", request_id="old", result=result("old"),
                    images=[(PNG, "image/png")])
    old = await cache.get(key)
    assert old is not None
    await cache.put(key, endpoint_id=FLUX_PRO.id, provider="fal", request_id="new", result=result("new"),
                    images=[(PNG + b"2", "image/png")])
    new = await cache.get(key)
    assert new is not None and new.request_id == "new" and new.images[0].path.read_bytes() == PNG + b"2"
    assert not old.images[0].path.exists()


async def test_entries_expire_after_the_days_bound(cache: ResultCache, clock: Clock) -> None:
    await cache.put("a" * 64, endpoint_id=FLUX_PRO.id, provider="fal", request_id="r", result=result(),
                    images=[(PNG, "image/png")])
    clock.now += 8 * 86400
    assert await cache.get("a" * 64) is None
    assert await cache.store.cache_stats() == (0, 0)


async def test_the_least_recently_used_go_past_the_size_bound(cache: ResultCache, clock: Clock) -> None:
    big = b"\0" * 4_000
    for name in "abc":
        clock.now += 1
        await cache.put(name * 64, endpoint_id=FLUX_PRO.id, provider="fal", request_id=name, result=result(name),
                        images=[(big, "image/png")])
    clock.now += 1
    assert await cache.get("a" * 64) is not None  # used: now the most recent
    assert await cache.prune() == 1  # 12,000 bytes > 10,000: "b", the least recently used, goes
    assert await cache.get("b" * 64) is None
    assert await cache.get("a" * 64) is not None and await cache.get("c" * 64) is not None
    assert len(list(cache.folder.iterdir())) == 2


async def test_an_entry_whose_image_is_gone_is_never_served(cache: ResultCache) -> None:
    await cache.put("d" * 64, endpoint_id=FLUX_PRO.id, provider="fal", request_id="r", result=result(),
                    images=[(PNG, "image/png")])
    hit = await cache.get("d" * 64)
    assert hit is not None
    hit.images[0].path.unlink()
    assert await cache.get("d" * 64) is None
    assert await cache.store.cache_stats() == (0, 0)


async def test_off_means_no_key_and_no_entry(store: SharedStore, tmp_path: Path) -> None:
    cache = ResultCache(store, tmp_path / "cache", CacheSettings(enabled=False))
    assert await cache.key_for(FLUX_PRO, "fal", BODY, own_key=None) is None
    await cache.put("e" * 64, endpoint_id=FLUX_PRO.id, provider="fal", request_id="r", result=result(),
                    images=[(PNG, "image/png")])
    assert await store.cache_stats() == (0, 0)


async def test_nothing_in_an_entry_identifies_a_visitor_or_holds_a_key(cache: ResultCache) -> None:
    key = await cache.key_for(FLUX_PRO, "fal", BODY, own_key="visitor-key-id:visitor-key-secret")
    assert key is not None
    await cache.put(key, endpoint_id=FLUX_PRO.id, provider="fal", request_id="r", result=result(),
                    images=[(PNG, "image/png")])
    row = await cache.store.cache_get(key, now=0)
    assert row is not None
    text = json.dumps(row.__dict__, default=str)
    assert "visitor-key" not in text and "secret" not in text
