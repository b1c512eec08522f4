"""Sweeps: axes over any field of a form (or over endpoints and providers), validated values, and the plan of cells
to run. Pure: no I/O, no Gradio.

- ``syntax``: what a person writes for an axis (``1-5 (+2)``, ``4 random seeds``, ``cat -> dog, fox``), typed;
- ``axes``: an ``Axis`` of validated values with labels (``parse_axis``, ``parse_json_axis``);
- ``mapping``: a tab's input carried to another endpoint (``map_input``) or provider (``carry_input``);
- ``plan``: the ``SweepPlan`` of cells, with cost and time (``plan_sweep``);
- ``limits``: how big a sweep may be.

Running a plan is ``runs.sweep_runner``'s job.
"""

from runs.sweep.axes import Axis, AxisKind, axis_from_values, label_for, parse_axis, parse_json_axis
from runs.sweep.limits import (
    DEFAULT_MAX_CELLS,
    DEFAULT_MAX_GRID_PIXELS,
    DEFAULT_MAX_SWEEPS,
    MAX_AXIS_TEXT,
    MAX_AXIS_VALUES,
    MAX_CELLS_VAR,
    MAX_GRID_PIXELS_VAR,
    MAX_SWEEPS_VAR,
    SweepLimits,
    default_concurrency,
)
from runs.sweep.mapping import carry_input, map_input
from runs.sweep.plan import (
    CostOf,
    SecondsPerJob,
    SweepCell,
    SweepPlan,
    estimate_seconds,
    format_elapsed,
    format_seconds,
    label_at,
    plan_sweep,
    smallest_grid_pixels,
    with_cached,
)
from runs.sweep.syntax import (
    ENDPOINT_FIELD,
    PROVIDER_FIELD,
    SEED_RANGE,
    AxisName,
    SweepError,
    axis_example,
    default_axis_field,
    format_value,
    parse_axis_values,
    sweepable_fields,
)

__all__ = [
    "DEFAULT_MAX_CELLS",
    "DEFAULT_MAX_GRID_PIXELS",
    "DEFAULT_MAX_SWEEPS",
    "ENDPOINT_FIELD",
    "MAX_AXIS_TEXT",
    "MAX_AXIS_VALUES",
    "MAX_CELLS_VAR",
    "MAX_GRID_PIXELS_VAR",
    "MAX_SWEEPS_VAR",
    "PROVIDER_FIELD",
    "SEED_RANGE",
    "Axis",
    "AxisKind",
    "AxisName",
    "CostOf",
    "SecondsPerJob",
    "SweepCell",
    "SweepError",
    "SweepLimits",
    "SweepPlan",
    "axis_example",
    "axis_from_values",
    "carry_input",
    "default_axis_field",
    "default_concurrency",
    "estimate_seconds",
    "format_elapsed",
    "format_seconds",
    "format_value",
    "label_at",
    "label_for",
    "map_input",
    "parse_axis",
    "parse_axis_values",
    "parse_json_axis",
    "plan_sweep",
    "smallest_grid_pixels",
    "sweepable_fields",
    "with_cached",
]
