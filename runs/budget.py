"""Daily budgets for runs paid with the server's key, kept in a SQLite ledger that replicas can share.

A run on the server's key first *reserves* its estimated cost; the reservation counts against the budget at once,
so visitors running at the same time can never, together, go past a limit by more than the runs already admitted.
When the run ends its reservation is *settled* at the actual cost ($0 for a run fal did not bill). Budgets are per
UTC day: a global one for the key (``PLAYGROUND_BUDGET_USD``) and one per visitor
(``PLAYGROUND_VISITOR_BUDGET_USD``); visitors are told apart by ``runs.visitors.visitor_id``.

Every ledger call is one ``BEGIN IMMEDIATE`` transaction run in a worker thread (``asyncio.to_thread``), so the
event loop never waits on the disk and several processes sharing the file never overspend. Amounts are stored as
whole micro-dollars, so sums are exact (three $0.05 runs fit a $0.15 budget). A reservation left open by a process
that died mid-run stops counting after ``stale_after`` (an hour by default) so it cannot hold the budget all day.

No Gradio here; ``BudgetExceeded`` is a ``ProviderError``, so the views already show its message to the visitor.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from providers.errors import ProviderError
from runs.pricing import format_usd
from runs.storage import ReservationRow, SharedStore, SqliteStore, Usage

log = logging.getLogger(__name__)

BUDGET_ENV = "PLAYGROUND_BUDGET_USD"
VISITOR_BUDGET_ENV = "PLAYGROUND_VISITOR_BUDGET_USD"
#: Hugging Face Spaces mounts persistent storage here, when the Space has it.
LEDGER_FILE = "spend.sqlite3"
DEFAULT_STALE_AFTER = dt.timedelta(hours=1)

LimitKind = Literal["daily", "visitor"]

_MICROS = 1_000_000


# ------------------------------------------------------------------------------------------------------------ limits


@dataclass(frozen=True)
class BudgetLimits:
    """Daily limits in US dollars for runs on the server's key; ``None`` means unlimited."""

    daily_usd: float | None = None
    visitor_daily_usd: float | None = None

    def __post_init__(self) -> None:
        for name, value in ((BUDGET_ENV, self.daily_usd), (VISITOR_BUDGET_ENV, self.visitor_daily_usd)):
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be an amount of US dollars, 0 or more (got {value!r})")

    @property
    def unlimited(self) -> bool:
        return self.daily_usd is None and self.visitor_daily_usd is None


# ------------------------------------------------------------------------------------------------------ refusal


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def next_utc_midnight(now: dt.datetime) -> dt.datetime:
    now = _as_utc(now)
    return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)


def _wait_text(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min" if minutes else "less than a minute"


class BudgetExceeded(ProviderError):
    """A run on the server's key would go past a daily budget. ``message`` tells the visitor what to do."""

    def __init__(
        self,
        *,
        limit: LimitKind,
        limit_usd: float,
        remaining_usd: float,
        resets_at: dt.datetime,
        amount_usd: float,
        now: dt.datetime,
    ) -> None:
        self.limit: LimitKind = limit
        self.limit_usd = limit_usd
        self.remaining_usd = remaining_usd
        self.resets_at = resets_at
        self.amount_usd = amount_usd
        whose = "Daily budget for this Space's key" if limit == "daily" else "Your daily budget on this Space's key"
        when = f"it resets at 00:00 UTC (in {_wait_text(resets_at - _as_utc(now))})"
        if limit_usd == 0:
            text = f"{whose} is $0: runs on it are turned off"
        else:
            text = (
                f"{whose} reached: {format_usd(remaining_usd)} of {format_usd(limit_usd)} left today, "
                f"and this run needs {format_usd(amount_usd)}; {when}"
            )
        super().__init__(f"{text}. Paste your own key under Settings to keep going.", status=None)


# -------------------------------------------------------------------------------------------------------- ledger


@dataclass(frozen=True)
class Reservation:
    """An admitted run's hold on the budget, until ``settle`` or ``release``."""

    id: str
    visitor: str
    amount_usd: float
    day: str  # the UTC day it counts against
    created_at: dt.datetime


@dataclass(frozen=True)
class BudgetSummary:
    """Today's spend (settled) and holds (in flight), for the whole key and, when asked, one visitor."""

    day: str
    resets_at: dt.datetime
    spent_usd: float  # settled, all visitors
    in_flight_usd: float  # reserved by runs still going, all visitors
    runs: int  # settled runs today, all visitors
    in_flight_runs: int
    expired_runs: int  # reservations left by a process that died; no longer counted
    daily_limit_usd: float | None = None
    daily_remaining_usd: float | None = None
    visitor: str | None = None
    visitor_spent_usd: float | None = None
    visitor_in_flight_usd: float | None = None
    visitor_limit_usd: float | None = None
    visitor_remaining_usd: float | None = None

    @property
    def remaining_usd(self) -> float | None:
        """What the visitor (or anyone, without one) may still spend today; ``None`` when unlimited."""
        left = [v for v in (self.daily_remaining_usd, self.visitor_remaining_usd) if v is not None]
        return min(left) if left else None


def _micros(usd: float, what: str) -> int:
    if isinstance(usd, bool) or not isinstance(usd, int | float) or not math.isfinite(usd) or usd < 0:
        raise ValueError(f"{what} must be a finite amount of US dollars, 0 or more (got {usd!r})")
    return round(usd * _MICROS)


def _usd(micros: int) -> float:
    return round(micros / _MICROS, 6)


class SpendLedger:
    """Reservations and settled spend per UTC day and visitor, kept in a ``SharedStore``.

    Given a path, the store is the embedded SQLite file there (``SqliteStore``); given a store (``PostgresStore``
    for replicas), that one. Nothing touches the store until the first call (or ``open()``). One ledger serves
    any number of tasks, and several ledgers (processes, replicas) may share a store.
    """

    def __init__(
        self,
        store: SharedStore | Path | str,
        *,
        stale_after: dt.timedelta = DEFAULT_STALE_AFTER,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.store: SharedStore = SqliteStore(store) if isinstance(store, Path | str) else store
        self.stale_after = stale_after
        self._clock = clock

    def __repr__(self) -> str:
        return f"SpendLedger({self.store!r})"

    # -- public, async

    async def open(self) -> SpendLedger:
        """Create the schema now (e.g. at startup, to fail early on an unwritable folder or a database down)."""
        await self.store.open()
        return self

    async def reserve(
        self, visitor: str, amount_usd: float, limits: BudgetLimits, *, now: dt.datetime | None = None
    ) -> Reservation:
        """Hold ``amount_usd`` for a run, or raise ``BudgetExceeded`` when today's spend plus the runs in flight
        plus this one would pass the key's daily limit or the visitor's."""
        amount = _micros(amount_usd, "amount_usd")
        when = self._now(now)
        day = when.date().isoformat()
        reservation = Reservation(uuid.uuid4().hex, visitor, _usd(amount), day, when)

        def admit(everyone: Usage | None, one: Usage | None) -> None:
            checks: list[tuple[LimitKind, float, Usage]] = []
            if limits.daily_usd is not None and everyone is not None:
                checks.append(("daily", limits.daily_usd, everyone))
            if limits.visitor_daily_usd is not None and one is not None:
                checks.append(("visitor", limits.visitor_daily_usd, one))
            refusals = [
                (max(0, _micros(limit, "limit") - usage.used), kind, limit)
                for kind, limit, usage in checks
                if usage.used + amount > _micros(limit, "limit")
            ]
            if refusals:
                remaining, kind, limit = min(refusals, key=lambda r: r[0])
                raise BudgetExceeded(
                    limit=kind,
                    limit_usd=limit,
                    remaining_usd=_usd(remaining),
                    resets_at=next_utc_midnight(when),
                    amount_usd=_usd(amount),
                    now=when,
                )

        row = ReservationRow(reservation.id, day, visitor, amount, when.timestamp())
        work = asyncio.ensure_future(
            self.store.reserve(
                row,
                cutoff=self._cutoff(when),
                everyone=limits.daily_usd is not None,
                visitor=limits.visitor_daily_usd is not None,
                admit=admit,
            )
        )
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            # The store carries on and may still admit the run: hand that reservation back once it lands.
            work.add_done_callback(lambda done: self._release_abandoned(done, reservation))
            raise
        return reservation

    async def settle(self, reservation: Reservation, actual_usd: float | None) -> bool:
        """Replace the hold by the run's actual cost (``None``: unknown, keep the reserved amount).

        Returns False, changing nothing, when the reservation was already settled or released."""
        actual = None if actual_usd is None else _micros(actual_usd, "actual_usd")
        return await self.store.settle(reservation.id, actual, self._now(None).timestamp())

    async def release(self, reservation: Reservation) -> bool:
        """The run cost nothing (refused, failed or stopped before billing): settle at $0."""
        return await self.settle(reservation, 0.0)

    async def spent(self, visitor: str | None, *, now: dt.datetime | None = None) -> float:
        """Settled spend today (UTC), for one visitor or, with ``None``, for everyone. Runs in flight not included."""
        when = self._now(now)
        usage = await self.store.usage(when.date().isoformat(), visitor, cutoff=self._cutoff(when))
        return _usd(usage.settled)

    async def summary(
        self, visitor: str | None = None, limits: BudgetLimits | None = None, *, now: dt.datetime | None = None
    ) -> BudgetSummary:
        when = self._now(now)
        day, cutoff = when.date().isoformat(), self._cutoff(when)
        everyone = await self.store.usage(day, None, cutoff=cutoff)
        one = await self.store.usage(day, visitor, cutoff=cutoff) if visitor is not None else None
        limits = limits or BudgetLimits()

        def left(limit: float | None, usage: Usage) -> float | None:
            return None if limit is None else _usd(max(0, _micros(limit, "limit") - usage.used))

        return BudgetSummary(
            day=day,
            resets_at=next_utc_midnight(when),
            spent_usd=_usd(everyone.settled),
            in_flight_usd=_usd(everyone.in_flight),
            runs=everyone.runs,
            in_flight_runs=everyone.in_flight_runs,
            expired_runs=everyone.expired_runs,
            daily_limit_usd=limits.daily_usd,
            daily_remaining_usd=left(limits.daily_usd, everyone),
            visitor=visitor,
            visitor_spent_usd=_usd(one.settled) if one else None,
            visitor_in_flight_usd=_usd(one.in_flight) if one else None,
            visitor_limit_usd=limits.visitor_daily_usd if visitor is not None else None,
            visitor_remaining_usd=left(limits.visitor_daily_usd, one) if one else None,
        )

    # -- helpers

    def _now(self, now: dt.datetime | None) -> dt.datetime:
        return _as_utc(now if now is not None else self._clock())

    def _cutoff(self, now: dt.datetime) -> float:
        """Holds created before this no longer count: their process died mid-run."""
        return (now - self.stale_after).timestamp()

    def _release_abandoned(self, work: asyncio.Future[None], reservation: Reservation) -> None:
        if work.cancelled() or work.exception() is not None:
            return
        release = asyncio.ensure_future(self.store.settle(reservation.id, 0, self._now(None).timestamp()))
        release.add_done_callback(_log_failed_release)


def _log_failed_release(release: asyncio.Future[bool]) -> None:
    if not release.cancelled() and release.exception() is not None:
        log.warning("could not release an abandoned reservation: %s", type(release.exception()).__name__)


__all__ = [
    "BUDGET_ENV",
    "DEFAULT_STALE_AFTER",
    "LEDGER_FILE",
    "VISITOR_BUDGET_ENV",
    "BudgetExceeded",
    "BudgetLimits",
    "BudgetSummary",
    "LimitKind",
    "Reservation",
    "SpendLedger",
    "next_utc_midnight",
]
