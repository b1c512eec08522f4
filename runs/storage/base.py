"""The rows and the interface every shared-state store implements (see ``runs.storage``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Usage:
    """Today's rows of the ledger, summed: settled spend, holds of runs in flight, and counts."""

    settled: int = 0  # micro-dollars
    in_flight: int = 0
    runs: int = 0
    in_flight_runs: int = 0
    expired_runs: int = 0

    @property
    def used(self) -> int:
        return self.settled + self.in_flight


@dataclass(frozen=True)
class ReservationRow:
    id: str
    day: str  # UTC date, YYYY-MM-DD
    visitor: str
    reserved_micros: int
    created_at: float


#: Decides, inside the reservation's transaction, whether the run is admitted: raise to refuse. It is given the day's
#: usage for everyone and for the visitor (each ``None`` when not asked for).
Admit = Callable[[Usage | None, Usage | None], None]


@dataclass(frozen=True)
class CacheRow:
    """One cached result: the stored images (media names), the result JSON and where it first came from."""

    key: str  # sha256 hex of the scope and the canonical request
    endpoint_id: str
    provider: str
    request_id: str | None
    result_json: str  # the result as first returned, images pointing at ``images``
    images: tuple[str, ...]  # file names in the cache's image folder
    bytes: int
    created_at: float
    used_at: float


class SharedStore(Protocol):
    """What the ledger and the cache need from a database. Every method is one transaction."""

    async def open(self) -> None:
        """Create the schema (idempotent); fail early on an unreachable database or unwritable folder."""

    async def close(self) -> None: ...

    # -- ledger
    async def reserve(self, row: ReservationRow, *, cutoff: float, everyone: bool, visitor: bool, admit: Admit) -> None:
        """Insert ``row`` unless ``admit`` raises, atomically with the usage it was shown (``cutoff``: holds
        created before it no longer count)."""

    async def settle(self, reservation_id: str, actual_micros: int | None, now: float) -> bool:
        """Replace a hold by its actual cost (``None``: keep the reserved amount). False if already settled."""

    async def usage(self, day: str, visitor: str | None, *, cutoff: float) -> Usage: ...

    # -- cache index
    async def cache_get(self, key: str, *, now: float) -> CacheRow | None:
        """The row under ``key``, its ``used_at`` refreshed; ``None`` when there is none."""

    async def cache_put(self, row: CacheRow) -> list[CacheRow]:
        """Insert or replace the row under ``row.key``; returns the row it replaced, if any (its images go)."""

    async def cache_delete(self, key: str) -> CacheRow | None: ...

    async def cache_evict(self, *, created_before: float, max_bytes: int) -> list[CacheRow]:
        """Delete rows created before ``created_before``, then the least recently used until the rows left hold at
        most ``max_bytes``; returns the deleted rows (whose images the caller removes)."""

    async def cache_stats(self) -> tuple[int, int]:
        """(entries, bytes)."""
