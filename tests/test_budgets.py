"""Budgets for the server's key, through gradio_client against a launched app whose "live" fal is the sandbox."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from sandbox import SandboxOptions
from tests.app_support import launched_app

pytestmark = pytest.mark.timeout(120)

FAST = SandboxOptions(step_seconds=0.005, startup_seconds=0.0)
RUN = {"prompt": "a lighthouse", "image_size": "landscape_4_3", "num_inference_steps": 2, "api_name": "/flux_pro"}  # 1 MP


def submits(app) -> int:
    return httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["submits"].get("fal-ai/flux-pro", 0)


def env(tmp_path, **extra: str) -> dict[str, str]:
    return {"FAL_KEY": "server-id:server-secret", "PLAYGROUND_DATA_DIR": str(tmp_path), **extra}


def visitor(app, address: str) -> Client:
    return Client(app.url, verbose=False, headers={"X-Forwarded-For": address})


def test_third_run_over_the_visitor_budget_is_refused_before_the_provider(tmp_path):
    with launched_app(FAST, env=env(tmp_path, PLAYGROUND_VISITOR_BUDGET_USD="0.12"), live_is_sandbox=True) as app:
        alice = visitor(app, "203.0.113.7")
        for _ in range(2):
            result = alice.predict(**RUN)[3]
            assert result["cost"]["usd"] == 0.05 and "1 MP" in result["cost"]["basis"]
        with pytest.raises(AppError, match=r"Your daily budget on this Space's key reached: \$0\.02 of \$0\.12 left"):
            alice.predict(**RUN)
        assert submits(app) == 2
        bob = visitor(app, "198.51.100.9")  # another visitor has a budget of their own
        assert bob.predict(**RUN)[3]["state"] == "done"
        assert submits(app) == 3
    with launched_app(FAST, env=env(tmp_path, PLAYGROUND_VISITOR_BUDGET_USD="0.12"), live_is_sandbox=True) as again:
        with pytest.raises(AppError, match="resets at 00:00 UTC"):  # a restart keeps the spend
            visitor(again, "203.0.113.7").predict(**RUN)
        assert submits(again) == 0


def test_daily_budget_across_visitors(tmp_path):
    with launched_app(FAST, env=env(tmp_path, PLAYGROUND_BUDGET_USD="0.10"), live_is_sandbox=True) as app:
        visitor(app, "203.0.113.1").predict(**RUN)
        visitor(app, "203.0.113.2").predict(**RUN)
        with pytest.raises(AppError, match="Daily budget for this Space's key reached"):
            visitor(app, "203.0.113.3").predict(**RUN)
        assert submits(app) == 2


def test_sandbox_runs_are_not_limited_by_the_owners_budget(tmp_path):
    with launched_app(FAST, env={"PLAYGROUND_DATA_DIR": str(tmp_path), "PLAYGROUND_BUDGET_USD": "0"}) as app:
        result = Client(app.url, verbose=False).predict(**RUN)[3]
        assert result["state"] == "done" and result["cost"]["usd"] == 0.05


def test_prices_are_refreshed_from_the_pricing_api_and_fall_back_when_it_fails(tmp_path):
    from sandbox.pricing import DEFAULT_PRICES

    options = SandboxOptions(step_seconds=0.005, startup_seconds=0.0, prices={**DEFAULT_PRICES, "fal-ai/flux-pro": 0.07})
    with launched_app(options) as app:  # the sandbox route: its pricing API answers the sandbox key
        cost = Client(app.url, verbose=False).predict(**RUN)[3]["cost"]
        assert cost["usd"] == 0.07 and "fal pricing API" in cost["basis"]
        assert httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["pricing_requests"] == 1
        Client(app.url, verbose=False).predict(**RUN)
        assert httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["pricing_requests"] == 1  # cached
    failing = SandboxOptions(step_seconds=0.005, startup_seconds=0.0, faults="pricing=status_500:99")
    with launched_app(failing) as app:
        cost = Client(app.url, verbose=False).predict(**RUN)[3]["cost"]
        assert cost["usd"] == 0.05 and "fal price list" in cost["basis"]
