"""Budgets for the server's key, through gradio_client against a launched app whose "live" fal is the sandbox."""

from __future__ import annotations

import time

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from sandbox import SandboxOptions
from tests.app_support import app_client, launched_app

pytestmark = pytest.mark.timeout(120)

FAST = SandboxOptions(step_seconds=0.005, startup_seconds=0.0)
RUN = {"prompt": "a lighthouse", "image_size": "landscape_4_3", "num_inference_steps": 2, "api_name": "/flux_pro"}  # 1 MP


def submits(app) -> int:
    return httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["submits"].get("fal-ai/flux-pro", 0)


def env(tmp_path, **extra: str) -> dict[str, str]:
    # As on Spaces: one proxy in front, which appends the visitor's address to X-Forwarded-For.
    return {"FAL_KEY": "server-id:server-secret", "PLAYGROUND_DATA_DIR": str(tmp_path),
            "PLAYGROUND_TRUSTED_PROXIES": "1", **extra}


def visitor(app, address: str) -> Client:
    """A visitor at ``address`` as the proxy reports it (it may have written entries of its own before it)."""
    return app_client(app.url, headers={"X-Forwarded-For": address})


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
        result = app_client(app.url).predict(**RUN)[3]
        assert result["state"] == "done" and result["cost"]["usd"] == 0.05


def test_prices_are_refreshed_from_the_pricing_api_and_fall_back_when_it_fails(tmp_path):
    from sandbox.pricing import DEFAULT_PRICES

    options = SandboxOptions(step_seconds=0.005, startup_seconds=0.0, prices={**DEFAULT_PRICES, "fal-ai/flux-pro": 0.07})
    with launched_app(options) as app:  # the sandbox route: its pricing API answers the sandbox key
        cost = app_client(app.url).predict(**RUN)[3]["cost"]
        assert cost["usd"] == 0.07 and "fal pricing API" in cost["basis"]
        assert httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["pricing_requests"] == 1
        app_client(app.url).predict(**RUN)
        assert httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["pricing_requests"] == 1  # cached
    failing = SandboxOptions(step_seconds=0.005, startup_seconds=0.0, faults="pricing=status_500:99")
    with launched_app(failing) as app:
        cost = app_client(app.url).predict(**RUN)[3]["cost"]
        assert cost["usd"] == 0.05 and "fal price list" in cost["basis"]


def test_forged_forwarded_for_entries_are_one_visitor_behind_the_spaces_proxy(tmp_path):
    """Six X-Forwarded-For first entries written by one visitor behind the Space's proxy (which appends the real
    address) are one identity: one budget and one run at a time."""
    settings = env(tmp_path, PLAYGROUND_VISITOR_BUDGET_USD="0.12", PLAYGROUND_VISITOR_CONCURRENCY="1")
    del settings["PLAYGROUND_TRUSTED_PROXIES"]
    settings["SPACE_ID"] = "someone/flux-playground"  # the default on Spaces: one trusted proxy
    options = SandboxOptions(capacity=8, step_seconds=0.05, startup_seconds=0.0)
    with launched_app(options, env=settings, live_is_sandbox=True) as app:
        forged = [visitor(app, f"198.51.100.{i}, 203.0.113.7") for i in range(6)]
        long_run = forged[0].submit(prompt="long", num_inference_steps=40, api_name="/flux_pro")
        deadline = time.monotonic() + 20
        while not app.ctx.visitor_slots.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.ctx.visitor_slots.running == {"ip:203.0.113.7": 1}
        for client in forged[1:]:
            with pytest.raises(AppError, match="You already have 1 run"):
                client.predict(**RUN)
        assert long_run.result(timeout=60)[3]["state"] == "done"
        assert forged[1].predict(**RUN)[3]["state"] == "done"
        for client in forged[2:]:
            with pytest.raises(AppError, match="Your daily budget on this Space's key reached"):
                client.predict(**RUN)
        assert submits(app) == 2
        assert visitor(app, "198.51.100.0, 198.51.100.99").predict(**RUN)[3]["state"] == "done"  # someone else


def test_without_a_trusted_proxy_the_header_is_ignored(tmp_path):
    """Locally (no SPACE_ID, no PLAYGROUND_TRUSTED_PROXIES) the socket address counts, whatever the header says."""
    settings = env(tmp_path, PLAYGROUND_VISITOR_BUDGET_USD="0.12")
    del settings["PLAYGROUND_TRUSTED_PROXIES"]
    with launched_app(FAST, env=settings, live_is_sandbox=True) as app:
        forged = [visitor(app, f"198.51.100.{i}") for i in range(6)]
        for client in forged[:2]:
            assert client.predict(**RUN)[3]["state"] == "done"
        for client in forged[2:]:
            with pytest.raises(AppError, match="Your daily budget on this Space's key reached"):
                client.predict(**RUN)
        assert submits(app) == 2


def test_a_bfl_run_on_the_servers_key_counts_against_the_daily_budget(tmp_path):
    """Issue 21 step 5: the server's BFL_API_KEY is billed like any key: $0.04 a FLUX1.1 [pro] image."""
    environment = {"BFL_API_KEY": "server-bfl-key", "PLAYGROUND_DATA_DIR": str(tmp_path),
                   "PLAYGROUND_BUDGET_USD": "0.06"}
    with launched_app(FAST, env=environment, live_is_sandbox=True) as app:
        client = app_client(app.url)
        first = client.predict(prompt="a lighthouse", width=512, height=512, api_name="/bfl_flux_pro_1_1")
        assert first["state"] == "done" and first["cost"]["usd"] == 0.04, first["cost"]
        assert first["record"]["route"] == "server_key"
        with pytest.raises(AppError, match="Daily budget for this Space's key reached"):
            client.predict(prompt="a lighthouse", width=512, height=512, api_name="/bfl_flux_pro_1_1")
        stats = httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()
        assert stats["submits"].get("flux-pro-1.1", 0) == 1
