"""The sweep section's status HTML: the plan says its summary once, and progress says where the cells are."""

from __future__ import annotations

import json

from components.sweep_status import plan_html, progress_html
from endpoints import get_endpoint
from runs.pricing import estimate_cost
from runs.sweep import parse_json_axis, plan_sweep

FLUX_PRO = get_endpoint("fal-ai/flux-pro")


def test_the_plan_status_says_its_summary_once() -> None:
    wire = FLUX_PRO.input_model.model_validate({"prompt": "a fox", "seed": 1}).to_wire()
    x = parse_json_axis(FLUX_PRO, "guidance_scale", json.dumps([2, 5, 8]), wire, axis="X")
    plan = plan_sweep(FLUX_PRO, wire, x, cost_of=lambda s, w: estimate_cost(s, w, s.price),
                      seconds_per_job=lambda s, w: 1.0, max_cells=64, concurrency={"fal": 2})
    shown = plan_html(plan, live=False) + progress_html(plan, None)
    assert shown.count(plan.summary()) == 1, shown
    assert shown.count('class="fp-cell fp-waiting"') == 3  # one waiting cell per value
