"""The SQLite store's costs per call: a connection per worker thread (not per call), eviction that reads no rows
while the cache is under its size bound, and close() closing every thread's connection."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from runs.storage import CacheRow, SqliteStore, sql


def _row(key: str, size: int, at: float) -> CacheRow:
    return CacheRow(key=key, endpoint_id="fal-ai/flux-pro", provider="fal", request_id=None, result_json="{}",
                    images=(f"{key}.jpg",), bytes=size, created_at=at, used_at=at)


async def _calls(store: SqliteStore, n: int) -> None:
    for i in range(n):
        await store.cache_put(_row(f"k{i}", 10, 1000.0 + i))
        await store.cache_get(f"k{i}", now=2000.0 + i)


def test_connections_are_opened_once_per_thread_and_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def counting_connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)  # type: ignore[arg-type]
        opened.append(conn)
        return conn

    monkeypatch.setattr(sqlite3, "connect", counting_connect)
    store = SqliteStore(tmp_path / "state.sqlite3")

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        from concurrent.futures import ThreadPoolExecutor

        loop.set_default_executor(ThreadPoolExecutor(max_workers=2))
        await _calls(store, 50)  # 100 transactions
        assert len(opened) <= 1 + 2, "one set-up connection, then one per worker thread"
        await store.close()
        for conn in opened:
            with pytest.raises(sqlite3.ProgrammingError):
                conn.execute("SELECT 1")
        await _calls(store, 2)  # a closed store opens again when used

    asyncio.run(scenario())


def test_eviction_under_the_size_bound_reads_no_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqliteStore(tmp_path / "state.sqlite3")
    asyncio.run(_calls(store, 30))
    parsed: list[object] = []
    real = sql.cache_row
    monkeypatch.setattr(sql, "cache_row", lambda values: parsed.append(values) or real(values))
    assert asyncio.run(store.cache_evict(created_before=0.0, max_bytes=10_000)) == []
    assert parsed == []
    # over the bound: the least recently used go, as before
    gone = asyncio.run(store.cache_evict(created_before=0.0, max_bytes=100))
    assert {r.key for r in gone} == {f"k{i}" for i in range(20)}


def test_a_lookup_that_finds_nothing_and_the_usage_wait_for_no_writer(tmp_path: Path) -> None:
    """Another process holding the file's write lock (a result being cached, a reservation) delays neither a cache
    miss nor the usage shown; a hit still waits for it, since it marks the entry used."""
    path = tmp_path / "state.sqlite3"
    store = SqliteStore(path, busy_timeout=0.3)

    async def scenario() -> None:
        await store.cache_put(_row("kept", 10, 1000.0))
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM result_cache WHERE key = 'nothing'")
        try:
            assert await store.cache_get("missing", now=2000.0) is None  # before: "database is locked" after 0.3 s
            usage = await store.usage("2026-12-06", None, cutoff=0.0)
            assert usage.runs == 0
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await store.cache_get("kept", now=2000.0)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert await store.cache_get("kept", now=3000.0) is not None
        await store.close()
        with sqlite3.connect(path) as conn:
            assert conn.execute("SELECT used_at FROM result_cache WHERE key = 'kept'").fetchone() == (3000.0,)

    asyncio.run(scenario())
