"""Comparing hosts: each cell's latency (time queued, time running) and cost, and per provider the median latency
and the cost per image of a sweep whose axis changes the endpoint (``provider`` or ``endpoint``).

Pure: reads finished ``RunRecord``s; the sweep panel shows the captions and the table, the API returns them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from providers.catalog import provider_title
from runs.pricing import format_usd
from runs.record import RunRecord


@dataclass(frozen=True)
class Latency:
    """Seconds from submit to the provider running the job (``queued``), then to the result (``running``)."""

    queued: float | None
    running: float | None
    total: float | None

    def text(self) -> str:
        """``3.2 s (queued 0.4 s, running 2.8 s)``; what is not known is left out."""
        if self.total is None:
            return "time unknown"
        parts = [f"queued {self.queued:.1f} s" if self.queued is not None else "",
                 f"running {self.running:.1f} s" if self.running is not None else ""]
        detail = ", ".join(p for p in parts if p)
        return f"{self.total:.1f} s" + (f" ({detail})" if detail else "")

    def to_json(self) -> dict[str, Any]:
        return {"queued_s": _rounded(self.queued), "running_s": _rounded(self.running), "total_s": _rounded(self.total)}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def latency_of(record: RunRecord) -> Latency:
    t = record.timings
    queued = running = total = None
    if t.submitted is not None and t.started is not None:
        queued = max(0.0, t.started - t.submitted)
    if t.started is not None and t.finished is not None:
        running = max(0.0, t.finished - t.started)
    if t.submitted is not None and t.finished is not None:
        total = max(0.0, t.finished - t.submitted)
    return Latency(queued, running, total)


def images_of(record: RunRecord) -> int:
    return len((record.result or {}).get("images") or [])


def host_caption(record: RunRecord) -> str:
    """A compared cell's caption: ``fal.ai · 3.2 s (queued 0.4 s, running 2.8 s) · $0.04``."""
    cost = format_usd(record.cost.usd) if record.cost.usd is not None else "cost unknown"
    if record.cached:
        return f"{provider_title(record.provider)} · from cache · {cost}"
    return f"{provider_title(record.provider)} · {latency_of(record).text()} · {cost}"


@dataclass(frozen=True)
class HostFigures:
    """One provider's (or endpoint's) figures over the finished cells that went to it."""

    provider: str
    endpoint_id: str
    cells: int
    done: int
    cached: int  # done cells served from the result cache: left out of latency and cost per image
    median_queued: float | None
    median_running: float | None
    median_total: float | None
    usd_per_image: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider, "endpoint_id": self.endpoint_id, "cells": self.cells, "done": self.done,
            "cached": self.cached,
            "median_queued_s": _rounded(self.median_queued), "median_running_s": _rounded(self.median_running),
            "median_total_s": _rounded(self.median_total), "usd_per_image": self.usd_per_image,
        }


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def host_figures(records: Sequence[RunRecord]) -> list[HostFigures]:
    """Per endpoint, in the order the cells first name them: the median latency and the cost per image of the
    cells the host ran (cache hits left out: they say nothing of the host's speed or price)."""
    groups: dict[str, list[RunRecord]] = {}
    for record in records:
        groups.setdefault(record.endpoint_id, []).append(record)
    rows = []
    for endpoint_id, group in groups.items():
        done = [r for r in group if r.state == "done"]
        billed = [r for r in done if not r.cached]
        ran = [latency_of(r) for r in billed]
        images = sum(images_of(r) for r in billed)
        usd = [r.cost.usd for r in billed if r.cost.usd is not None]
        rows.append(HostFigures(
            provider=provider_title(group[0].provider),
            endpoint_id=endpoint_id,
            cells=len(group),
            done=len(done),
            cached=len(done) - len(billed),
            median_queued=_median([x.queued for x in ran if x.queued is not None]),
            median_running=_median([x.running for x in ran if x.running is not None]),
            median_total=_median([x.total for x in ran if x.total is not None]),
            usd_per_image=round(sum(usd) / images, 6) if images and len(usd) == len(billed) else None,
        ))
    return rows
