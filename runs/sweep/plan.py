"""Plans: one ``SweepCell`` per grid position with the validated wire input for its endpoint, the estimated cost
and time, and what could not be carried; ``plan_sweep`` makes one from one or two axes and the tab's input.
Running it is ``runs.sweep_runner``'s job.
"""
from __future__ import annotations

import dataclasses
import heapq
import math
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from endpoints.validation import describe_validation_error
from runs.grid import DEFAULT_MIN_TILE, grid_layout
from runs.pricing import format_usd
from runs.record import Cost
from runs.sweep.axes import Axis
from runs.sweep.limits import MAX_CELLS_VAR, MAX_GRID_PIXELS_VAR, SweepLimits
from runs.sweep.mapping import carry_input
from runs.sweep.syntax import PROVIDER_FIELD, SweepError, format_value, seed_bounds, sweep_fields

CostOf = Callable[[EndpointSpec, dict[str, Any]], Cost]


SecondsPerJob = Callable[[EndpointSpec, dict[str, Any]], float]


@dataclass(frozen=True)
class SweepCell:
    """One grid position: its axis values, the endpoint it goes to and the validated wire input to send."""

    x_index: int
    y_index: int  # 0 when there is no Y axis
    x_value: Any
    y_value: Any  # None when there is no Y axis
    endpoint: EndpointSpec
    input: dict[str, Any]

    @property
    def num_images(self) -> int:
        name = self.endpoint.field_for("count")
        value = self.input.get(name, 1) if name is not None else 1
        return value if isinstance(value, int) else 1

    @property
    def seed(self) -> int | None:
        name = self.endpoint.field_for("seed")
        seed = self.input.get(name) if name is not None else None
        return seed if isinstance(seed, int) else None

    def to_json(self) -> dict[str, Any]:
        return {
            "x_index": self.x_index,
            "y_index": self.y_index,
            "x": self.x_value,
            "y": self.y_value,
            "endpoint_id": self.endpoint.id,
            "input": self.input,
        }


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will do, for the person to confirm: cells in row order (Y outer, X inner), cost and time."""

    id: str
    endpoint: EndpointSpec  # the tab's endpoint (the source of the endpoint axis's mapping)
    cells: tuple[SweepCell, ...]
    x_axis: Axis
    y_axis: Axis | None
    unmapped: Mapping[str, tuple[str, ...]]  # endpoint id -> source fields not carried to it (endpoint axis)
    estimated_cost: Cost
    estimated_seconds: float
    notes: tuple[str, ...] = ()
    cached: frozenset[int] = frozenset()  # indices into ``cells`` the result cache holds (served at $0.00)
    run_cost: Cost | None = None  # the estimate for the cells to run (``estimated_cost`` when none is cached)

    @property
    def jobs(self) -> int:
        return len(self.cells)

    @property
    def images(self) -> int:
        return sum(cell.num_images for cell in self.cells)

    @property
    def shape(self) -> tuple[int, int]:
        """(columns, rows)."""
        return len(self.x_axis), len(self.y_axis) if self.y_axis else 1

    def cell(self, x_index: int, y_index: int = 0) -> SweepCell:
        return self.cells[y_index * len(self.x_axis) + x_index]

    def summary(self) -> str:
        """One line for people: ``8 jobs (4 × 2) · est. $0.40 · about 25 s``."""
        columns, rows = self.shape
        jobs = f"{self.jobs} job{'s' if self.jobs != 1 else ''}"
        if self.y_axis is not None:
            jobs += f" ({columns} × {rows})"
        if self.images != self.jobs:
            jobs += f", {self.images} images"
        if self.cached:  # "16 cells: 12 from cache, 4 to run · est. $0.20"
            to_run = self.jobs - len(self.cached)
            jobs = f"{jobs.replace(' job', ' cell', 1)}: {len(self.cached)} from cache, {to_run} to run"
            cost = self.run_cost if self.run_cost is not None else self.estimated_cost
            return f"{jobs} · {_cost_text(cost)} · about {format_seconds(self.estimated_seconds)}"
        return f"{jobs} · {_cost_text(self.estimated_cost)} · about {format_seconds(self.estimated_seconds)}"

    def to_json(self) -> dict[str, Any]:
        """The sweep's parameters (for ``sweep.json`` and the grid PNG's metadata)."""
        return {
            "id": self.id,
            "endpoint_id": self.endpoint.id,
            "summary": self.summary(),
            "x": self.x_axis.to_json(),
            "y": self.y_axis.to_json() if self.y_axis else None,
            "jobs": self.jobs,
            "images": self.images,
            "estimated_cost": self.estimated_cost.to_json(),
            "estimated_seconds": self.estimated_seconds,
            "unmapped": {k: list(v) for k, v in self.unmapped.items()},
            "notes": list(self.notes),
            "cached_cells": len(self.cached),
            "cells": [cell.to_json() for cell in self.cells],
        }


def format_seconds(seconds: float) -> str:
    """``8 s``, ``25 s`` (to 5 s from 10 s), ``3 min``, ``1 h 20 min``."""
    if seconds < 10:
        return f"{max(1, math.ceil(seconds))} s"
    if seconds < 90:
        return f"{int(5 * math.ceil(seconds / 5))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def format_elapsed(seconds: float) -> str:
    """A time that was measured, as the history shows a run's: ``11.2 s``, ``2 min 5 s`` (``format_seconds`` is
    for estimates: a sweep's status said "15 s" for one its history entry said took 11.2 s)."""
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


_PARTIAL_MARK = "price unknown for "


def _cost_text(cost: Cost) -> str:
    if cost.usd is None:
        return "cost unknown"
    if cost.basis.startswith(_PARTIAL_MARK):
        return f"est. ≥ {format_usd(cost.usd)} (some prices unknown)"
    return f"est. {format_usd(cost.usd)}"


def _total_cost(cells: Sequence[SweepCell], cost_of: CostOf) -> Cost:
    costs = [cost_of(cell.endpoint, cell.input) for cell in cells]
    known = [c for c in costs if c.usd is not None]
    credits = [c.credits for c in costs if c.credits is not None]
    total_credits = sum(credits) if credits else None
    if not known:
        return Cost(None, "no price known for these endpoints", total_credits)
    usd = round(sum(c.usd for c in known if c.usd is not None), 6)
    unknown = [cell for cell, c in zip(cells, costs, strict=True) if c.usd is None]
    if unknown:
        names = ", ".join(dict.fromkeys(cell.endpoint.label for cell in unknown))
        basis = f"{_PARTIAL_MARK}{len(unknown)} of {len(cells)} cells ({names}); the total counts the others only"
        return Cost(usd, basis, total_credits)
    bases = {c.basis for c in known}
    basis = f"{len(cells)} cells, each {bases.pop()}" if len(bases) == 1 else f"sum over {len(cells)} cells"
    return Cost(usd, basis, total_credits)


def estimate_seconds(
    cells: Sequence[SweepCell], seconds_per_job: SecondsPerJob, concurrency: Mapping[str, int]
) -> float:
    """Wall time if each provider runs up to its limit at once, a queued cell starting when one finishes.

    Providers run side by side, so the estimate is the slowest provider's. (With equal job times this is
    ``ceil(jobs / limit)`` waves of one job time.)
    """
    durations: dict[str, list[float]] = {}
    for cell in cells:
        durations.setdefault(cell.endpoint.provider, []).append(max(0.0, seconds_per_job(cell.endpoint, cell.input)))
    longest = 0.0
    for provider, times in durations.items():
        workers = [0.0] * max(1, min(concurrency.get(provider, 1), len(times)))
        for duration in times:
            heapq.heappush(workers, heapq.heappop(workers) + duration)
        longest = max(longest, max(workers))
    return longest


def plan_sweep(
    spec: EndpointSpec,
    base_input: Mapping[str, Any],
    x: Axis,
    y: Axis | None = None,
    *,
    cost_of: CostOf,
    seconds_per_job: SecondsPerJob,
    max_cells: int | None = None,
    concurrency: Mapping[str, int] | None = None,
    rng: random.Random | None = None,
    sweep_id: str | None = None,
    max_grid_pixels: int | None = None,
) -> SweepPlan:
    """The cells of a sweep over ``x`` (and ``y``) from the tab's ``base_input``, each validated for its endpoint.

    Refuses more than ``max_cells`` cells (default 64; the app passes ``PLAYGROUND_SWEEP_MAX_CELLS``), the same field on
    both axes (two prompt S/R axes excepted) and any cell its endpoint would refuse. When the base input leaves the
    seed unset and no axis sweeps it, one random seed is fixed for every cell (noted), so cells differ only by the
    axes. ``cost_of`` prices one cell (``runs.pricing.estimate_cost`` fits); ``seconds_per_job`` guesses one
    cell's time; ``concurrency`` is jobs at once per provider (default: each provider's own). A sweep whose grid
    would exceed ``max_grid_pixels`` even with the smallest tiles is refused here, before anything is billed.
    """
    if max_cells is None or concurrency is None or max_grid_pixels is None:
        limits = SweepLimits()
        max_cells = limits.max_cells if max_cells is None else max_cells
        concurrency = limits.concurrency if concurrency is None else concurrency
        max_grid_pixels = limits.max_grid_pixels if max_grid_pixels is None else max_grid_pixels
    rng = rng or random.Random()
    rows = len(y) if y else 1
    count = len(x) * rows
    if count > max_cells:
        shape = f" ({len(x)} × {rows})" if y else ""
        raise SweepError(
            f"This sweep has {count} cells{shape}; the limit is {max_cells} ({MAX_CELLS_VAR}). "
            "Remove values or raise the limit."
        )
    if y is not None and x.field == y.field and not (x.kind == y.kind == "prompt_sr"):
        raise SweepError(f"X and Y axes both sweep {x.field}; choose a different field for one of them")
    if y is not None and x.kind == y.kind == "endpoint":
        raise SweepError(f"X sweeps {x.field} and Y sweeps {y.field}: only one axis may change the endpoint")
    smallest = smallest_grid_pixels(spec, x, y)
    if smallest > max_grid_pixels:
        raise SweepError(
            f"This sweep's grid would take {smallest / 1e6:.1f} MP even with {DEFAULT_MIN_TILE}-px tiles; a grid "
            f"may take {max_grid_pixels / 1e6:.1f} MP ({MAX_GRID_PIXELS_VAR}). Remove values or raise the limit."
        )

    notes: list[str] = [*x.notes, *(y.notes if y else ())]
    base = dict(base_input)
    swept = {x.field, y.field if y else x.field}
    seed = spec.field_for("seed")
    if seed is not None and seed in sweep_fields(spec) and base.get(seed) is None and seed not in swept:
        base[seed] = rng.randint(*seed_bounds(sweep_fields(spec)[seed]))
        notes.append(f"The seed was unset: every cell uses seed {base[seed]}, so cells differ only by the axes.")

    endpoint_axis = x if x.kind == "endpoint" else y if y is not None and y.kind == "endpoint" else None
    field_axes = [a for a in (x, y) if a is not None and a.kind != "endpoint"]
    cells: list[SweepCell] = []
    unmapped: dict[str, tuple[str, ...]] = {}
    errors: list[str] = []
    for yi in range(rows):
        for xi in range(len(x)):
            indices = {"X": xi, "Y": yi}
            values = base
            for ax in field_axes:
                if ax.kind == "prompt_sr" and str(ax.search) not in str(values.get(ax.field) or ""):
                    errors.append(f'{ax.name} axis ({ax.field}): "{ax.search}" is no longer in the prompt once the '
                                  "other axis has replaced its text")
                values = ax.apply(indices[ax.name], values)
            where = f"cell ({label_at(x, xi)}{', ' + label_at(y, yi) if y else ''}): "
            try:
                wire = spec.build_input(values).to_wire()
            except ValidationError as exc:
                errors.extend(where + line for line in describe_validation_error(exc, spec.input_model))
                continue
            target = spec
            if endpoint_axis is not None:
                target = get_endpoint(endpoint_axis.values[indices[endpoint_axis.name]])
                mapped, lost = carry_input(spec, target, wire, by_model=endpoint_axis.field == PROVIDER_FIELD)
                for ax in field_axes:
                    if ax.field in lost:
                        errors.append(
                            f"{ax.name} axis ({ax.field}): {format_value(ax.values[indices[ax.name]])} cannot be sent "
                            f"to {target.label} (it has no such field, or refuses that value)"
                        )
                if target is not spec:
                    unmapped[target.id] = tuple(dict.fromkeys((*unmapped.get(target.id, ()), *lost)))
                try:
                    wire = target.build_input(mapped).to_wire()
                except ValidationError as exc:
                    errors.extend(
                        f"{where}{target.label}: {line}" for line in describe_validation_error(exc, target.input_model)
                    )
                    continue
            cells.append(
                SweepCell(xi, yi, x.values[xi], y.values[yi] if y else None, target, wire)
            )
    if errors:
        raise SweepError(list(dict.fromkeys(errors)))
    return SweepPlan(
        id=sweep_id or uuid.uuid4().hex,
        endpoint=spec,
        cells=tuple(cells),
        x_axis=x,
        y_axis=y,
        unmapped=unmapped,
        estimated_cost=_total_cost(cells, cost_of),
        estimated_seconds=estimate_seconds(cells, seconds_per_job, concurrency),
        notes=tuple(notes),
    )


def smallest_grid_pixels(spec: EndpointSpec, x: Axis, y: Axis | None) -> int:
    """The pixels of this sweep's grid with ``DEFAULT_MIN_TILE`` square tiles and its labels: the least it can
    take before the tiles shrink below the size people can read."""
    side = (DEFAULT_MIN_TILE, DEFAULT_MIN_TILE)
    layout = grid_layout(
        [side], ["seed 2147483647"], x.labels, y.labels if y else [], title=f"{spec.title} · " + "0" * 60,
        x_title=x.title, y_title=y.title if y else "", max_tile=DEFAULT_MIN_TILE, min_tile=DEFAULT_MIN_TILE,
    )
    return layout.width * layout.height


def with_cached(plan: SweepPlan, cached: frozenset[int] | set[int] | list[int], cost_of: CostOf, seconds_per_job: SecondsPerJob,
                concurrency: Mapping[str, int]) -> SweepPlan:
    """``plan`` with the cells at ``cached`` (indices) counted apart: they cost nothing and take no time."""
    cached = frozenset(i for i in cached if 0 <= i < len(plan.cells))
    if not cached:
        return plan
    to_run = [cell for i, cell in enumerate(plan.cells) if i not in cached]
    run_cost = _total_cost(to_run, cost_of) if to_run else Cost(0.0, "every cell from the result cache")
    seconds = estimate_seconds(to_run, seconds_per_job, concurrency) if to_run else 0.0
    return dataclasses.replace(plan, cached=cached, run_cost=run_cost, estimated_seconds=seconds)


def label_at(axis: Axis | None, index: int) -> str:
    return axis.labels[index] if axis is not None else ""
