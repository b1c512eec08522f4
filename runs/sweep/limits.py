"""How big a sweep may be: cells, axis values and text, grid pixels, sweeps at once, jobs in flight per provider.

The app reads the limits from its settings (``PLAYGROUND_SWEEP_MAX_CELLS``, ``<PROVIDER>_MAX_CONCURRENCY``, ...).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from providers.catalog import CATALOG

DEFAULT_MAX_CELLS = 64


MAX_CELLS_VAR = "PLAYGROUND_SWEEP_MAX_CELLS"


DEFAULT_MAX_SWEEPS = 4


MAX_SWEEPS_VAR = "PLAYGROUND_MAX_SWEEPS"
"""Sweeps running at once on the whole server, whoever runs them (each holds a grid's worth of memory at its end)."""


DEFAULT_MAX_GRID_PIXELS = 32_000_000


MAX_GRID_PIXELS_VAR = "PLAYGROUND_SWEEP_MAX_GRID_PIXELS"
"""The grid image's pixel budget (about 96 MB while drawn): tiles shrink to fit, and a plan whose grid would not
fit even with ``runs.grid.DEFAULT_MIN_TILE`` tiles is refused before anything is sent."""


def default_concurrency() -> dict[str, int]:
    """Jobs in flight at once per provider (each catalog entry's ``sweep_concurrency``); ``<PROVIDER>_MAX_CONCURRENCY``
    overrides each."""
    return {spec.name: spec.sweep_concurrency for spec in CATALOG}


MAX_AXIS_VALUES = 1000
"""No axis holds more values than this, whatever the cell cap (a typo like ``1-100000`` fails early)."""


MAX_ERRORS = 10  # problems listed per axis (then "... and N more")


MAX_AXIS_TEXT = 32_000
"""Characters of one axis's values (text or JSON): anything longer is refused before it is read."""


@dataclass(frozen=True)
class SweepLimits:
    max_cells: int = DEFAULT_MAX_CELLS
    concurrency: Mapping[str, int] = field(default_factory=default_concurrency)
    max_sweeps: int = DEFAULT_MAX_SWEEPS
    max_grid_pixels: int = DEFAULT_MAX_GRID_PIXELS
