"""The SQL both stores run, written once with ``?`` placeholders (``PostgresStore`` turns them into ``%s``)."""

from __future__ import annotations

import json

from runs.storage.base import CacheRow

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS spend (
    id              TEXT PRIMARY KEY,
    day             TEXT NOT NULL,     -- UTC date the run was admitted, YYYY-MM-DD
    visitor         TEXT NOT NULL,
    reserved_micros BIGINT NOT NULL,   -- the estimate, in millionths of a US dollar
    actual_micros   BIGINT,            -- NULL while the run is in flight
    created_at      DOUBLE PRECISION NOT NULL,  -- Unix seconds
    settled_at      DOUBLE PRECISION
)""",
    "CREATE INDEX IF NOT EXISTS spend_by_day_visitor ON spend (day, visitor)",
    """CREATE TABLE IF NOT EXISTS result_cache (
    key          TEXT PRIMARY KEY,     -- sha256 of the scope and the canonical request; no visitor, no key
    endpoint_id  TEXT NOT NULL,
    provider     TEXT NOT NULL,
    request_id   TEXT,
    result_json  TEXT NOT NULL,
    images       TEXT NOT NULL,        -- JSON list of file names in the cache's image folder
    bytes        BIGINT NOT NULL,
    created_at   DOUBLE PRECISION NOT NULL,
    used_at      DOUBLE PRECISION NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS result_cache_by_use ON result_cache (used_at)",
)

USAGE = (
    "SELECT COALESCE(SUM(actual_micros), 0),"
    " COALESCE(SUM(CASE WHEN actual_micros IS NULL AND created_at >= ? THEN reserved_micros END), 0),"
    " COUNT(actual_micros),"
    " COALESCE(SUM(CASE WHEN actual_micros IS NULL AND created_at >= ? THEN 1 END), 0),"
    " COALESCE(SUM(CASE WHEN actual_micros IS NULL AND created_at < ? THEN 1 END), 0)"
    " FROM spend WHERE day = ?"
)
USAGE_OF_VISITOR = USAGE + " AND visitor = ?"

INSERT_RESERVATION = "INSERT INTO spend (id, day, visitor, reserved_micros, created_at) VALUES (?, ?, ?, ?, ?)"
SETTLE = (
    "UPDATE spend SET actual_micros = COALESCE(?, reserved_micros), settled_at = ? WHERE id = ? AND actual_micros IS NULL"
)

CACHE_COLUMNS = "key, endpoint_id, provider, request_id, result_json, images, bytes, created_at, used_at"
CACHE_SELECT = f"SELECT {CACHE_COLUMNS} FROM result_cache WHERE key = ?"
CACHE_TOUCH = "UPDATE result_cache SET used_at = ? WHERE key = ?"
CACHE_INSERT = f"INSERT INTO result_cache ({CACHE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
CACHE_DELETE = "DELETE FROM result_cache WHERE key = ?"
CACHE_OLD = f"SELECT {CACHE_COLUMNS} FROM result_cache WHERE created_at < ?"
CACHE_BY_USE = f"SELECT {CACHE_COLUMNS} FROM result_cache ORDER BY used_at DESC, key"
CACHE_STATS = "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM result_cache"


def usage_params(day: str, visitor: str | None, cutoff: float) -> tuple[str, tuple[object, ...]]:
    if visitor is None:
        return USAGE, (cutoff, cutoff, cutoff, day)
    return USAGE_OF_VISITOR, (cutoff, cutoff, cutoff, day, visitor)


def cache_params(row: CacheRow) -> tuple[object, ...]:
    return (row.key, row.endpoint_id, row.provider, row.request_id, row.result_json, json.dumps(list(row.images)),
            row.bytes, row.created_at, row.used_at)


def cache_row(values: tuple[object, ...] | list[object]) -> CacheRow:
    key, endpoint_id, provider, request_id, result_json, images, size, created_at, used_at = values
    return CacheRow(
        key=str(key), endpoint_id=str(endpoint_id), provider=str(provider),
        request_id=None if request_id is None else str(request_id), result_json=str(result_json),
        images=tuple(str(n) for n in json.loads(str(images))), bytes=int(size),  # type: ignore[call-overload]
        created_at=float(created_at), used_at=float(used_at),  # type: ignore[arg-type]
    )


def over_budget(rows: list[CacheRow], max_bytes: int) -> list[CacheRow]:
    """Rows (most recently used first) past the first ``max_bytes``: the ones to evict."""
    kept = 0
    evict: list[CacheRow] = []
    for row in rows:
        if kept + row.bytes <= max_bytes and not evict:
            kept += row.bytes
        else:
            evict.append(row)
    return evict
