"""``SharedStore`` in one SQLite file (WAL mode): the embedded default.

Every call runs in a worker thread (``asyncio.to_thread``), so the event loop never waits on the disk. Every call
that writes, or reads to decide, is one ``BEGIN IMMEDIATE`` transaction, so several processes sharing the file never
overspend: it takes the file's write lock before the usage is read, so a reservation's check and insert are atomic.
A cache lookup that finds nothing (every new request) and the usage shown are plain reads, which in WAL mode wait
for no writer. Each worker thread keeps its own connection (opening one costs more than the transaction itself);
``close()`` closes them all.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runs.storage import sql
from runs.storage.base import Admit, CacheRow, ReservationRow, Usage

log = logging.getLogger(__name__)

_SCHEMA_VERSION = 2


class SqliteStore:
    """Nothing touches the disk until the first call (or ``open()``), which creates the folder (0700), the file
    and the schema. Each call opens its own connection, so one store serves any number of tasks."""

    def __init__(self, path: Path | str, *, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._ready = False
        self._init_lock = threading.Lock()
        self._local = threading.local()  # this thread's connection
        self._connections: list[sqlite3.Connection] = []  # every thread's, for close()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    async def open(self) -> None:
        await asyncio.to_thread(self._ensure_ready)

    async def close(self) -> None:
        with self._init_lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    # -- ledger

    async def reserve(self, row: ReservationRow, *, cutoff: float, everyone: bool, visitor: bool, admit: Admit) -> None:
        await asyncio.to_thread(self._reserve_sync, row, cutoff, everyone, visitor, admit)

    async def settle(self, reservation_id: str, actual_micros: int | None, now: float) -> bool:
        return await asyncio.to_thread(self._settle_sync, reservation_id, actual_micros, now)

    def settle_now(self, reservation_id: str, actual_micros: int | None, now: float) -> bool:
        """``settle`` from a worker thread (a reservation abandoned by a cancelled task)."""
        return self._settle_sync(reservation_id, actual_micros, now)

    async def usage(self, day: str, visitor: str | None, *, cutoff: float) -> Usage:
        return await asyncio.to_thread(self._usage_sync, day, visitor, cutoff)

    # -- cache index

    async def cache_get(self, key: str, *, now: float) -> CacheRow | None:
        return await asyncio.to_thread(self._cache_get_sync, key, now)

    async def cache_put(self, row: CacheRow) -> list[CacheRow]:
        return await asyncio.to_thread(self._cache_put_sync, row)

    async def cache_delete(self, key: str) -> CacheRow | None:
        return await asyncio.to_thread(self._cache_delete_sync, key)

    async def cache_evict(self, *, created_before: float, max_bytes: int) -> list[CacheRow]:
        return await asyncio.to_thread(self._cache_evict_sync, created_before, max_bytes)

    async def cache_stats(self) -> tuple[int, int]:
        def stats() -> tuple[int, int]:
            with self._transaction() as conn:
                count, size = conn.execute(sql.CACHE_STATS).fetchone()
                return int(count), int(size)

        return await asyncio.to_thread(stats)

    # -- in worker threads

    def _connect(self) -> sqlite3.Connection:
        # check_same_thread=False only so that close() may close it; a connection is used by its own thread alone.
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _thread_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._init_lock:
                self._connections.append(conn)
        return conn

    def _forget_thread_connection(self, conn: sqlite3.Connection) -> None:
        self._local.conn = None
        with self._init_lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        with self._init_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = self._connect()
            try:
                mode = self._use_wal(conn)
                if mode != "wal":
                    log.warning("shared state %s: journal mode is %s, not WAL", self.path, mode)
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in sql.SCHEMA:  # one by one: executescript() would commit outside this transaction
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            finally:
                conn.close()
            self._ready = True

    def _use_wal(self, conn: sqlite3.Connection) -> str:
        """Switch the file to WAL. SQLite answers "locked" at once, without its busy wait, while another
        connection makes the same switch on a new file (several processes starting together): retry until the
        busy timeout."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
                if mode != "wal":
                    mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
                return mode
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection. Alone, for one statement that only reads (its own implicit transaction: in WAL
        mode it takes no lock and waits for no writer); a broken connection is not kept for the next call."""
        self._ensure_ready()
        conn = self._thread_connection()
        try:
            yield conn
        except sqlite3.Error as exc:
            if not isinstance(exc, sqlite3.OperationalError) or not _is_busy(exc):
                self._forget_thread_connection(conn)
            raise

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def _usage(conn: sqlite3.Connection, day: str, visitor: str | None, cutoff: float) -> Usage:
        query, params = sql.usage_params(day, visitor, cutoff)
        return Usage(*(int(v) for v in conn.execute(query, params).fetchone()))

    def _reserve_sync(self, row: ReservationRow, cutoff: float, everyone: bool, visitor: bool, admit: Admit) -> None:
        with self._transaction() as conn:
            admit(
                self._usage(conn, row.day, None, cutoff) if everyone else None,
                self._usage(conn, row.day, row.visitor, cutoff) if visitor else None,
            )
            conn.execute(sql.INSERT_RESERVATION, (row.id, row.day, row.visitor, row.reserved_micros, row.created_at))

    def _settle_sync(self, reservation_id: str, actual: int | None, now: float) -> bool:
        with self._transaction() as conn:
            return conn.execute(sql.SETTLE, (actual, now, reservation_id)).rowcount == 1

    def _usage_sync(self, day: str, visitor: str | None, cutoff: float) -> Usage:
        with self._connection() as conn:  # shown, never decided on: one query, one consistent snapshot
            return self._usage(conn, day, visitor, cutoff)

    def _cache_get_sync(self, key: str, now: float) -> CacheRow | None:
        # A miss (every new request) is read without the write lock: in WAL mode a reader never waits for a writer,
        # where ``BEGIN IMMEDIATE`` queued each lookup behind every result being cached and the ledger, in SQLite's
        # busy handler (sleeps of 1, 2, 5, 10 ms...), before the run could be sent.
        with self._connection() as conn:
            if conn.execute(sql.CACHE_SELECT, (key,)).fetchone() is None:
                return None
        with self._transaction() as conn:  # a hit: read again and mark it used, under the write lock
            found = conn.execute(sql.CACHE_SELECT, (key,)).fetchone()
            if found is None:
                return None
            conn.execute(sql.CACHE_TOUCH, (now, key))
            return sql.cache_row(found)

    def _cache_put_sync(self, row: CacheRow) -> list[CacheRow]:
        with self._transaction() as conn:
            old = conn.execute(sql.CACHE_SELECT, (row.key,)).fetchone()
            if old is not None:
                conn.execute(sql.CACHE_DELETE, (row.key,))
            conn.execute(sql.CACHE_INSERT, sql.cache_params(row))
            return [sql.cache_row(old)] if old is not None else []

    def _cache_delete_sync(self, key: str) -> CacheRow | None:
        with self._transaction() as conn:
            old = conn.execute(sql.CACHE_SELECT, (key,)).fetchone()
            if old is not None:
                conn.execute(sql.CACHE_DELETE, (key,))
            return sql.cache_row(old) if old is not None else None

    def _cache_evict_sync(self, created_before: float, max_bytes: int) -> list[CacheRow]:
        with self._transaction() as conn:
            old = [sql.cache_row(r) for r in conn.execute(sql.CACHE_OLD, (created_before,)).fetchall()]
            for row in old:
                conn.execute(sql.CACHE_DELETE, (row.key,))
            _, total = conn.execute(sql.CACHE_STATS).fetchone()
            if int(total) <= max_bytes:  # the usual case: no need to read every row
                return old
            rows = [sql.cache_row(r) for r in conn.execute(sql.CACHE_BY_USE).fetchall()]
            over = sql.over_budget(rows, max_bytes)
            for row in over:
                conn.execute(sql.CACHE_DELETE, (row.key,))
            return old + over


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)
