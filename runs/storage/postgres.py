"""``SharedStore`` in PostgreSQL (``PLAYGROUND_DATABASE_URL=postgresql://…``), so several replicas share budgets and
the result cache.

psycopg 3 with its async connection pool: nothing blocks the event loop. A reservation takes a transaction-scoped
advisory lock before it reads the day's usage, so the check and the insert are atomic across every process on the
database: two replicas racing for the last cents of a budget admit only what fits. The schema is created under the
same kind of lock, so replicas starting together do not trip over each other's ``CREATE TABLE``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from runs.storage import sql
from runs.storage.base import Admit, CacheRow, ReservationRow, Usage

#: Advisory lock keys (any two bigints the app alone uses): reservations, and schema creation.
_SPEND_LOCK = 0x464C_5558_5350_454E  # "FLUXSPEN"
_SCHEMA_LOCK = 0x464C_5558_5343_484D  # "FLUXSCHM"


def _pg(query: str) -> str:
    return query.replace("?", "%s")


class PostgresStore:
    """A pool of at most ``max_size`` connections, opened by ``open()`` (or the first call)."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 30.0) -> None:
        self._url = url
        self._pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            url, min_size=min_size, max_size=max_size, timeout=timeout, open=False,
            kwargs={"autocommit": False}, name="flux-playground",
        )
        self._ready = False
        self._opening: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return "PostgresStore(<PLAYGROUND_DATABASE_URL>)"  # the URL may hold a password: never shown

    async def open(self) -> None:
        if self._ready:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._ready:
                return
            await self._pool.open(wait=True)
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in sql.SCHEMA:
                    await conn.execute(statement)
            self._ready = True

    async def close(self) -> None:
        await self._pool.close()

    async def _conn(self) -> Any:
        await self.open()
        return self._pool.connection()

    # -- ledger

    async def reserve(self, row: ReservationRow, *, cutoff: float, everyone: bool, visitor: bool, admit: Admit) -> None:
        async with await self._conn() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SPEND_LOCK,))
            admit(
                await self._usage(conn, row.day, None, cutoff) if everyone else None,
                await self._usage(conn, row.day, row.visitor, cutoff) if visitor else None,
            )
            await conn.execute(
                _pg(sql.INSERT_RESERVATION), (row.id, row.day, row.visitor, row.reserved_micros, row.created_at)
            )

    async def settle(self, reservation_id: str, actual_micros: int | None, now: float) -> bool:
        async with await self._conn() as conn, conn.transaction():
            cursor = await conn.execute(_pg(sql.SETTLE), (actual_micros, now, reservation_id))
            return cursor.rowcount == 1

    async def usage(self, day: str, visitor: str | None, *, cutoff: float) -> Usage:
        async with await self._conn() as conn, conn.transaction():
            return await self._usage(conn, day, visitor, cutoff)

    @staticmethod
    async def _usage(conn: AsyncConnection[Any], day: str, visitor: str | None, cutoff: float) -> Usage:
        query, params = sql.usage_params(day, visitor, cutoff)
        cursor = await conn.execute(_pg(query), params)
        found = await cursor.fetchone()
        assert found is not None
        return Usage(*(int(v) for v in found))

    # -- cache index

    async def cache_get(self, key: str, *, now: float) -> CacheRow | None:
        async with await self._conn() as conn, conn.transaction():
            cursor = await conn.execute(_pg(sql.CACHE_SELECT), (key,))
            found = await cursor.fetchone()
            if found is None:
                return None
            await conn.execute(_pg(sql.CACHE_TOUCH), (now, key))
            return sql.cache_row(found)

    async def cache_put(self, row: CacheRow) -> list[CacheRow]:
        async with await self._conn() as conn, conn.transaction():
            cursor = await conn.execute(_pg(sql.CACHE_SELECT + " FOR UPDATE"), (row.key,))
            old = await cursor.fetchone()
            if old is not None:
                await conn.execute(_pg(sql.CACHE_DELETE), (row.key,))
            await conn.execute(_pg(sql.CACHE_INSERT + " ON CONFLICT (key) DO NOTHING"), sql.cache_params(row))
            return [sql.cache_row(old)] if old is not None else []

    async def cache_delete(self, key: str) -> CacheRow | None:
        async with await self._conn() as conn, conn.transaction():
            cursor = await conn.execute(_pg(sql.CACHE_DELETE + " RETURNING " + sql.CACHE_COLUMNS), (key,))
            old = await cursor.fetchone()
            return sql.cache_row(old) if old is not None else None

    async def cache_evict(self, *, created_before: float, max_bytes: int) -> list[CacheRow]:
        async with await self._conn() as conn, conn.transaction():
            cursor = await conn.execute(
                _pg("DELETE FROM result_cache WHERE created_at < ? RETURNING " + sql.CACHE_COLUMNS), (created_before,)
            )
            old = [sql.cache_row(r) for r in await cursor.fetchall()]
            cursor = await conn.execute(sql.CACHE_STATS)
            found = await cursor.fetchone()
            if found is None or int(found[1]) <= max_bytes:  # the usual case: no need to read every row
                return old
            cursor = await conn.execute(_pg(sql.CACHE_BY_USE + " FOR UPDATE"))
            over = sql.over_budget([sql.cache_row(r) for r in await cursor.fetchall()], max_bytes)
            for row in over:
                await conn.execute(_pg(sql.CACHE_DELETE), (row.key,))
            return old + over

    async def cache_stats(self) -> tuple[int, int]:
        async with await self._conn() as conn, conn.transaction():
            cursor = await conn.execute(sql.CACHE_STATS)
            found = await cursor.fetchone()
            assert found is not None
            return int(found[0]), int(found[1])
