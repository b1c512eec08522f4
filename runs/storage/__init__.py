"""The server's shared state — the spend ledger and the result-cache index — behind one small interface.

Two stores implement ``SharedStore``: ``SqliteStore``, one file under ``PLAYGROUND_DATA_DIR`` (the embedded default;
processes on one machine or one volume may share it), and ``PostgresStore`` for ``PLAYGROUND_DATABASE_URL=
postgresql://…``, so several replicas share budgets and the cache. The budget and cache logic (``runs.budget``,
``runs.result_cache``) is written once against this interface; a store only keeps rows and makes a reservation
atomic: the usage it checks and the row it inserts happen under one lock, across processes and replicas.

Amounts are whole micro-dollars; times are Unix seconds. No Gradio, no keys, no visitor names beyond the ledger's
``visitor`` column (an address or account the budget needs); a cache row identifies neither a visitor nor a key.
"""

from __future__ import annotations

from pathlib import Path

from runs.storage.base import Admit, CacheRow, ReservationRow, SharedStore, Usage
from runs.storage.postgres import PostgresStore
from runs.storage.sqlite import SqliteStore

DATABASE_URL_ENV = "PLAYGROUND_DATABASE_URL"
#: The embedded store's file under ``PLAYGROUND_DATA_DIR`` (the spend ledger's file name since the first release).
SQLITE_FILE = "spend.sqlite3"


def open_store(database_url: str | None, data_dir: Path) -> SharedStore:
    """``PostgresStore`` for a ``postgresql://`` URL, else ``SqliteStore`` in ``data_dir``. Nothing connects yet."""
    if database_url:
        if not database_url.startswith(("postgresql://", "postgres://")):
            scheme = database_url.split(":", 1)[0]
            raise ValueError(f"{DATABASE_URL_ENV} must be a postgresql:// URL (got a {scheme}: URL)")
        return PostgresStore(database_url)
    return SqliteStore(data_dir / SQLITE_FILE)


__all__ = [
    "DATABASE_URL_ENV",
    "SQLITE_FILE",
    "Admit",
    "CacheRow",
    "PostgresStore",
    "ReservationRow",
    "SharedStore",
    "SqliteStore",
    "Usage",
    "open_store",
]
