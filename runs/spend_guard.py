"""The budget check the runner applies to runs paid with the server's key (``runs.runner.SpendGuard``)."""

from __future__ import annotations

from collections.abc import Iterable

from providers.errors import ProviderError
from providers.routing import Route
from runs.budget import BudgetLimits, Reservation, SpendLedger
from runs.record import Cost
from runs.runner import SpendGuard


class UnpricedRun(ProviderError):
    """A run on the server's key whose cost cannot be estimated, while a budget is set."""


class BudgetGuard:
    """Reserve a run's estimate against the daily budgets before anything is sent; settle at the actual cost."""

    def __init__(self, ledger: SpendLedger, limits: BudgetLimits) -> None:
        self.ledger = ledger
        self.limits = limits

    async def reserve(self, visitor: str, estimate: Cost) -> Reservation | None:
        if self.limits.unlimited:
            return None
        if estimate.usd is None:
            raise UnpricedRun(
                "This endpoint has no known price, so a run on this Space's key cannot be checked against its "
                "budget. Paste your own key under Settings to run it."
            )
        return await self.ledger.reserve(visitor, estimate.usd, self.limits)

    async def settle(self, reservation: object, actual: Cost) -> None:
        if isinstance(reservation, Reservation):
            await self.ledger.settle(reservation, actual.usd)


async def admit_sweep(guard: SpendGuard | None, visitor: str, routes: Iterable[Route], estimate: Cost) -> None:
    """Refuse (``BudgetExceeded``, ``UnpricedRun``) a sweep whose whole estimate does not fit the budgets of the
    server's key; nothing is held: each cell still reserves its own share when it runs."""
    if guard is None or not any(route.uses_server_key for route in routes):
        return
    reservation = await guard.reserve(visitor, estimate)
    await guard.settle(reservation, Cost(0.0, "sweep admitted; each cell reserves its own cost"))
