"""Budgets on the server's key: limits from the environment, the spend ledger (on SQLite and on a real PostgreSQL),
visitor identity."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from providers.errors import ProviderError
from runs.budget import (
    BudgetExceeded,
    BudgetLimits,
    SpendLedger,
    next_utc_midnight,
)
from runs.storage import PostgresStore, SharedStore, SqliteStore
from tests.postgres_support import postgres_url

NOON = dt.datetime(2026, 11, 5, 18, 48, tzinfo=dt.UTC)  # 5 h 12 min before midnight
ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, now: dt.datetime = NOON) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgres"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Callable[[], SharedStore]]:
    """Stores on one database: the same SQLite file, or the same PostgreSQL database (as replicas would)."""
    url = postgres_url() if request.param == "postgres" else None
    made: list[SharedStore] = []

    def make() -> SharedStore:
        store: SharedStore = PostgresStore(url) if url else SqliteStore(tmp_path / "state" / "spend.sqlite3")
        made.append(store)
        return store

    yield make
    for store in made:
        await store.close()


@pytest.fixture
def ledger(make_store: Callable[[], SharedStore], clock: Clock) -> SpendLedger:
    return SpendLedger(make_store(), clock=clock)


# ---------------------------------------------------------------------------------------------------------- limits


def test_limits_refuse_bad_values_in_code_too() -> None:
    with pytest.raises(ValueError, match="PLAYGROUND_VISITOR_BUDGET_USD"):
        BudgetLimits(visitor_daily_usd=float("nan"))


# --------------------------------------------------------------------------------------------------------- ledger


async def test_reserve_settle_release_arithmetic(ledger: SpendLedger) -> None:
    limits = BudgetLimits(daily_usd=1.0)
    a = await ledger.reserve("ip:1.1.1.1", 0.05, limits)
    b = await ledger.reserve("ip:1.1.1.1", 0.075, limits)
    c = await ledger.reserve("hf:ada", 0.3, limits)
    assert (a.amount_usd, a.day, a.created_at) == (0.05, "2026-11-05", NOON)
    summary = await ledger.summary("ip:1.1.1.1", limits)
    assert (summary.spent_usd, summary.in_flight_usd, summary.in_flight_runs) == (0.0, 0.425, 3)
    assert (summary.visitor_spent_usd, summary.visitor_in_flight_usd) == (0.0, 0.125)
    assert summary.daily_remaining_usd == 0.575 and summary.remaining_usd == 0.575

    assert await ledger.settle(a, 0.05) is True
    assert await ledger.settle(b, 0.15) is True  # the actual may differ from the estimate
    assert await ledger.release(c) is True
    assert await ledger.settle(a, 1.0) is False  # idempotent: the second settle changes nothing
    assert await ledger.release(b) is False
    assert await ledger.spent("ip:1.1.1.1") == 0.2
    assert await ledger.spent("hf:ada") == 0.0
    assert await ledger.spent(None) == 0.2
    summary = await ledger.summary(None, limits)
    assert (summary.spent_usd, summary.in_flight_usd, summary.runs, summary.in_flight_runs) == (0.2, 0.0, 3, 0)
    assert summary.visitor is None and summary.visitor_spent_usd is None
    assert summary.resets_at == dt.datetime(2026, 11, 6, tzinfo=dt.UTC)

    d = await ledger.reserve("hf:ada", 0.05, limits)
    assert await ledger.settle(d, None) is True  # cost unknown: the reserved amount stands
    assert await ledger.spent("hf:ada") == 0.05


async def test_amounts_are_exact(ledger: SpendLedger) -> None:
    limits = BudgetLimits(visitor_daily_usd=0.15)
    for _ in range(3):  # 0.05 + 0.05 + 0.05 is 0.15000000000000002 in floats; the ledger counts micro-dollars
        await ledger.reserve("v", 0.05, limits)
    with pytest.raises(BudgetExceeded):
        await ledger.reserve("v", 0.000001, limits)


async def test_bad_amounts_are_refused(ledger: SpendLedger) -> None:
    for amount in (-0.01, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="amount_usd"):
            await ledger.reserve("v", amount, BudgetLimits())
    reservation = await ledger.reserve("v", 0.01, BudgetLimits())
    with pytest.raises(ValueError, match="actual_usd"):
        await ledger.settle(reservation, -1)


async def test_third_run_over_a_visitor_budget_is_refused(ledger: SpendLedger) -> None:
    limits = BudgetLimits(visitor_daily_usd=0.12)
    first = await ledger.reserve("hf:ada", 0.05, limits)
    await ledger.reserve("hf:ada", 0.05, limits)
    with pytest.raises(BudgetExceeded) as caught:
        await ledger.reserve("hf:ada", 0.05, limits)
    refusal = caught.value
    assert isinstance(refusal, ProviderError)
    assert refusal.limit == "visitor"
    assert refusal.limit_usd == 0.12
    assert refusal.remaining_usd == 0.02
    assert refusal.resets_at == dt.datetime(2026, 11, 6, 0, 0, tzinfo=dt.UTC)
    assert refusal.message == (
        "Your daily budget on this Space's key reached: $0.02 of $0.12 left today, and this run needs $0.05; "
        "it resets at 00:00 UTC (in 5 h 12 min). Paste your own key under Settings to keep going."
    )
    assert str(refusal) == refusal.message
    # A failed run gives its reservation back, and the next one fits.
    await ledger.release(first)
    await ledger.reserve("hf:ada", 0.05, limits)


async def test_visitors_have_separate_budgets(ledger: SpendLedger) -> None:
    limits = BudgetLimits(visitor_daily_usd=0.1)
    await ledger.reserve("ip:10.0.0.1", 0.1, limits)
    await ledger.reserve("ip:10.0.0.2", 0.1, limits)
    with pytest.raises(BudgetExceeded):
        await ledger.reserve("ip:10.0.0.1", 0.01, limits)
    summary = await ledger.summary("ip:10.0.0.2", limits)
    assert summary.visitor_remaining_usd == 0.0 and summary.in_flight_usd == 0.2


async def test_the_daily_limit_spans_visitors(ledger: SpendLedger) -> None:
    limits = BudgetLimits(daily_usd=0.12, visitor_daily_usd=1.0)
    first = await ledger.reserve("a", 0.05, limits)
    await ledger.settle(first, 0.05)
    await ledger.reserve("b", 0.05, limits)
    with pytest.raises(BudgetExceeded) as caught:
        await ledger.reserve("c", 0.05, limits)
    assert (caught.value.limit, caught.value.remaining_usd, caught.value.limit_usd) == ("daily", 0.02, 0.12)
    assert caught.value.message.startswith("Daily budget for this Space's key reached: $0.02 of $0.12 left today")
    assert caught.value.message.endswith("Paste your own key under Settings to keep going.")


async def test_the_tighter_limit_is_the_one_reported(ledger: SpendLedger) -> None:
    await ledger.reserve("a", 0.09, BudgetLimits())
    await ledger.reserve("b", 0.05, BudgetLimits())
    with pytest.raises(BudgetExceeded) as caught:  # b has 0.05 left of its own, the key only 0.01
        await ledger.reserve("b", 0.06, BudgetLimits(daily_usd=0.15, visitor_daily_usd=0.1))
    assert (caught.value.limit, caught.value.remaining_usd) == ("daily", 0.01)


async def test_a_zero_budget_turns_the_key_off(ledger: SpendLedger) -> None:
    with pytest.raises(BudgetExceeded) as caught:
        await ledger.reserve("a", 0.05, BudgetLimits(daily_usd=0))
    assert caught.value.message == (
        "Daily budget for this Space's key is $0: runs on it are turned off. "
        "Paste your own key under Settings to keep going."
    )
    await ledger.reserve("a", 0.0, BudgetLimits(daily_usd=0))  # a free run still fits


async def test_spend_survives_a_restart(make_store: Callable[[], SharedStore], clock: Clock) -> None:
    limits = BudgetLimits(visitor_daily_usd=0.12)
    first = SpendLedger(make_store(), clock=clock)
    await first.settle(await first.reserve("hf:ada", 0.05, limits), 0.05)
    await first.reserve("hf:ada", 0.05, limits)  # in flight when the process goes away
    again = SpendLedger(make_store(), clock=clock)
    assert await again.spent("hf:ada") == 0.05
    with pytest.raises(BudgetExceeded):
        await again.reserve("hf:ada", 0.05, limits)


async def test_a_new_utc_day_starts_afresh(ledger: SpendLedger, clock: Clock) -> None:
    limits = BudgetLimits(daily_usd=0.1, visitor_daily_usd=0.1)
    await ledger.settle(await ledger.reserve("a", 0.1, limits), 0.1)
    with pytest.raises(BudgetExceeded) as caught:
        await ledger.reserve("a", 0.05, limits)
    clock.now = caught.value.resets_at
    assert await ledger.spent("a") == 0.0
    await ledger.reserve("a", 0.1, limits)
    assert await ledger.spent("a", now=NOON) == 0.1  # yesterday's spend is still on record


async def test_stale_reservations_stop_counting(make_store: Callable[[], SharedStore], clock: Clock) -> None:
    ledger = SpendLedger(make_store(), clock=clock, stale_after=dt.timedelta(minutes=30))
    limits = BudgetLimits(visitor_daily_usd=0.1)
    await ledger.reserve("a", 0.1, limits)  # its process crashes before settling
    clock.now += dt.timedelta(minutes=29)
    with pytest.raises(BudgetExceeded):
        await ledger.reserve("a", 0.1, limits)
    clock.now += dt.timedelta(minutes=2)
    late = await ledger.reserve("a", 0.1, limits)
    summary = await ledger.summary("a", limits)
    assert (summary.expired_runs, summary.in_flight_runs, summary.in_flight_usd) == (1, 1, 0.1)
    await ledger.settle(late, 0.1)
    assert await ledger.spent("a") == 0.1


async def test_concurrent_tasks_never_overspend(ledger: SpendLedger) -> None:
    limits = BudgetLimits(daily_usd=1.0, visitor_daily_usd=0.3)
    visitors = [f"ip:10.0.0.{i}" for i in range(5)]

    async def run(visitor: str) -> bool:
        try:
            reservation = await ledger.reserve(visitor, 0.05, limits)
        except BudgetExceeded:
            return False
        await asyncio.sleep(0)
        await ledger.settle(reservation, 0.05)
        return True

    admitted = await asyncio.wait_for(asyncio.gather(*(run(v) for v in visitors for _ in range(8))), 30)
    assert sum(admitted) == 20  # 5 visitors × 0.3 = 1.5 > 1.0: the global limit admits exactly 20 runs of $0.05
    assert await ledger.spent(None) == 1.0
    assert all(spent <= 0.3 for spent in [await ledger.spent(v) for v in visitors])


async def test_two_ledgers_on_one_store_never_overspend(make_store: Callable[[], SharedStore]) -> None:
    ledgers = [SpendLedger(make_store()), SpendLedger(make_store())]
    limits = BudgetLimits(daily_usd=0.5)

    async def try_reserve(ledger: SpendLedger) -> bool:
        try:
            await ledger.reserve("v", 0.03, limits)  # never settled: in flight the whole time
        except BudgetExceeded:
            return False
        return True

    admitted = await asyncio.wait_for(asyncio.gather(*(try_reserve(ledgers[i % 2]) for i in range(40))), 30)
    assert sum(admitted) == 16  # floor(0.5 / 0.03)
    summary = await ledgers[1].summary()
    assert summary.in_flight_usd == 0.48 and summary.in_flight_runs == 16


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_processes_sharing_a_store_never_overspend(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "shared.sqlite3"
    url = postgres_url() if backend == "postgres" else None
    store = f"PostgresStore({url!r})" if url else f"SqliteStore({str(path)!r})"
    script = textwrap.dedent(
        f"""
        import asyncio
        from runs.budget import BudgetExceeded, BudgetLimits, SpendLedger
        from runs.storage import PostgresStore, SqliteStore

        async def main():
            ledger, admitted = SpendLedger({store}), 0
            for _ in range(15):
                try:
                    await ledger.reserve("v", 0.05, BudgetLimits(daily_usd=1.0))
                    admitted += 1
                except BudgetExceeded:
                    pass
            await ledger.store.close()
            print(admitted)

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        for _ in range(3)
    ]
    counts = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(counts) == 20

    async def in_flight() -> float:
        ledger = SpendLedger(PostgresStore(url) if url else SqliteStore(path))
        try:
            return (await ledger.summary()).in_flight_usd
        finally:
            await ledger.store.close()

    assert asyncio.run(in_flight()) == 1.0


async def test_a_cancelled_reserve_gives_its_hold_back(ledger: SpendLedger) -> None:
    await ledger.open()
    task = asyncio.create_task(ledger.reserve("v", 0.05, BudgetLimits(daily_usd=0.05)))
    await asyncio.sleep(0)  # the worker thread has started
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(1000):  # the reservation lands in its thread, then is handed back (settled at $0)
        summary = await ledger.summary()
        if summary.runs == 1 and summary.in_flight_runs == 0:
            break
        await asyncio.sleep(0.01)
    assert (summary.runs, summary.in_flight_usd, summary.spent_usd) == (1, 0.0, 0.0)
    await ledger.reserve("v", 0.05, BudgetLimits(daily_usd=0.05))


async def test_the_file_is_wal_with_a_schema(tmp_path: Path) -> None:
    path = tmp_path / "state" / "spend.sqlite3"
    ledger = SpendLedger(path)
    assert await ledger.open() is ledger
    assert path.exists() and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM spend").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM result_cache").fetchone()[0] == 0


def test_next_utc_midnight() -> None:
    assert next_utc_midnight(NOON) == dt.datetime(2026, 11, 6, tzinfo=dt.UTC)
    east = dt.timezone(dt.timedelta(hours=9))
    assert next_utc_midnight(dt.datetime(2026, 11, 6, 8, 0, tzinfo=east)) == dt.datetime(2026, 11, 6, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("minutes_left", "text"), [(312, "in 5 h 12 min"), (120, "in 2 h)"), (7, "in 7 min"), (0.5, "in less than a minute")]
)
async def test_refusals_say_when_the_budget_resets(ledger: SpendLedger, minutes_left: float, text: str) -> None:
    now = dt.datetime(2026, 11, 6, tzinfo=dt.UTC) - dt.timedelta(minutes=minutes_left)
    with pytest.raises(BudgetExceeded) as caught:
        await ledger.reserve("v", 0.05, BudgetLimits(visitor_daily_usd=0.01), now=now)
    assert text in caught.value.message


async def test_a_sweep_is_admitted_against_the_budget_only_on_the_servers_key(tmp_path: Path) -> None:
    """``admit_sweep``: the whole estimate must fit, nothing is held afterwards; a visitor's own key is not checked."""
    from types import SimpleNamespace

    from runs.record import Cost
    from runs.spend_guard import BudgetGuard, admit_sweep

    ledger = SpendLedger(SqliteStore(tmp_path / "ledger.sqlite3"))
    guard = BudgetGuard(ledger, BudgetLimits(daily_usd=0.10))
    server, own = SimpleNamespace(uses_server_key=True), SimpleNamespace(uses_server_key=False)
    await admit_sweep(guard, "v", [own], Cost(5.0, "a big sweep on the visitor's key"))  # not the server's money
    with pytest.raises(BudgetExceeded):
        await admit_sweep(guard, "v", [own, server], Cost(0.15, "3 cells"))
    await admit_sweep(guard, "v", [server], Cost(0.10, "2 cells"))
    summary = await ledger.summary("v", BudgetLimits(daily_usd=0.10))
    assert summary.spent_usd == 0 and summary.in_flight_usd == 0  # admitted, then released: cells reserve their own
