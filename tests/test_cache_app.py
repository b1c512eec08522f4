"""The result cache seen from outside (issue 22): through gradio_client with ``PLAYGROUND_CACHE=1``, counting what
reaches the sandbox. A hit sends nothing and costs $0.00; ``no_cache=True`` goes to the provider and is billed."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client

from sandbox import SandboxOptions
from tests.app_support import launched_app

pytestmark = pytest.mark.timeout(120)

FAST = SandboxOptions(step_seconds=0.005, startup_seconds=0.0)
RUN = {"prompt": "a lighthouse", "image_size": "landscape_4_3", "num_inference_steps": 2, "seed": 7,
       "api_name": "/flux_pro"}


def submits(app) -> int:
    return httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["submits"].get("fal-ai/flux-pro", 0)


@pytest.fixture(scope="module")
def app():
    with launched_app(FAST, env={"PLAYGROUND_CACHE": "1"}) as launched:
        yield launched


def test_run_again_comes_from_the_cache_and_no_cache_is_billed(app):
    client = Client(app.url, verbose=False)
    first = client.predict(**RUN)
    assert first[3]["state"] == "done" and not first[3].get("cached")
    assert submits(app) == 1
    status, _, _, again = client.predict(**RUN)
    assert again["cached"] is True and again["cost"]["usd"] == 0.0
    assert again["request_id"] == first[3]["request_id"]
    assert "from cache (first run " in status and f"request {first[3]['request_id']}" in status
    assert "· $0.00" in status
    assert submits(app) == 1, "a cache hit sent a job to the provider"
    _, _, _, fresh = client.predict(**RUN, no_cache=True)
    assert not fresh.get("cached") and fresh["cost"]["usd"] > 0
    assert fresh["request_id"] != first[3]["request_id"]
    assert submits(app) == 2


def test_no_cache_is_a_documented_boolean_parameter(app):
    info = Client(app.url, verbose=False).view_api(print_info=False, return_format="dict")
    parameters = {p["parameter_name"]: p for p in info["named_endpoints"]["/flux_pro"]["parameters"]}
    assert parameters["no_cache"]["type"]["type"] == "boolean"
    assert parameters["no_cache"]["parameter_has_default"] and parameters["no_cache"]["parameter_default"] is False
