"""Runs at once per visitor (PLAYGROUND_VISITOR_CONCURRENCY), sandbox included, through gradio_client."""

from __future__ import annotations

import time

import pytest
from gradio_client.exceptions import AppError

from sandbox import SandboxOptions
from tests.app_support import app_client, launched_app

pytestmark = pytest.mark.timeout(120)


def test_a_visitor_over_the_limit_is_told_and_others_are_not_held_up():
    options = SandboxOptions(capacity=8, step_seconds=0.05, startup_seconds=0.0)
    with launched_app(options, env={"PLAYGROUND_VISITOR_CONCURRENCY": "1", "PLAYGROUND_TRUSTED_PROXIES": "1"}) as app:
        greedy = app_client(app.url, headers={"X-Forwarded-For": "203.0.113.50"})
        long_run = greedy.submit(prompt="long", num_inference_steps=40, api_name="/flux_pro")
        deadline = time.monotonic() + 20
        while not app.ctx.visitor_slots.running and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(AppError, match="You already have 1 run"):
            greedy.predict(prompt="second", num_inference_steps=2, api_name="/flux_pro")
        other = app_client(app.url, headers={"X-Forwarded-For": "198.51.100.1"})
        assert other.predict(prompt="other", num_inference_steps=2, api_name="/flux_pro")[3]["state"] == "done"
        assert long_run.result(timeout=60)[3]["state"] == "done"
        assert app.ctx.visitor_slots.running == {}
