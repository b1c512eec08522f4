"""The result cache seen from outside (issue 22): through gradio_client with ``PLAYGROUND_CACHE=1``, counting what
reaches the sandbox. A hit sends nothing and costs $0.00; ``no_cache=True`` goes to the provider and is billed."""

from __future__ import annotations

import json

import httpx
import pytest

from sandbox import SandboxOptions
from tests.app_support import app_client, launched_app

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
    client = app_client(app.url)
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
    info = app_client(app.url).view_api(print_info=False, return_format="dict")
    parameters = {p["parameter_name"]: p for p in info["named_endpoints"]["/flux_pro"]["parameters"]}
    assert parameters["no_cache"]["type"]["type"] == "boolean"
    assert parameters["no_cache"]["parameter_has_default"] and parameters["no_cache"]["parameter_default"] is False


def test_a_widened_sweep_runs_only_its_new_cells(app):
    client = app_client(app.url)
    sweep = {"prompt": "a harbour at dusk", "num_inference_steps": 2, "image_size": "square", "seed": 3,
             "x_field": "guidance_scale", "y_field": "num_inference_steps", "y_values": json.dumps([2, 3]),
             "api_name": "/flux_pro_sweep"}
    before = submits(app)
    _, _, cells = client.predict(**sweep, x_values=json.dumps([2, 5]))
    assert len(cells) == 4 and all(c["state"] == "done" and not c["cached"] for c in cells)
    assert submits(app) == before + 4
    _, _, cells = client.predict(**sweep, x_values=json.dumps([2, 5, 8]))  # one more column
    assert len(cells) == 6
    assert submits(app) == before + 6, "the widened sweep paid again for cells it had run"
    fresh = [(c["x"], c["y"]) for c in cells if not c["cached"]]
    assert sorted(fresh) == [(8, 2), (8, 3)]
    assert all(c["cost"]["usd"] == 0.0 for c in cells if c["cached"])


def test_an_uploaded_image_counts_by_its_content_not_its_name(app, tmp_path):
    """Uploads are the only files a cache key reads (from the upload folder): the same picture uploaded again
    under another name is served from the cache; another picture is not."""
    from gradio_client import handle_file
    from PIL import Image

    first, again, other = tmp_path / "first.png", tmp_path / "again.png", tmp_path / "other.png"
    for path, colour in ((first, "red"), (again, "red"), (other, "blue")):
        Image.new("RGB", (64, 64), colour).save(path)
    client = app_client(app.url)
    run = {"prompt": "a red square", "seed": 11, "num_inference_steps": 10, "api_name": "/flux_dev_image_to_image"}
    _, _, _, made = client.predict(image_url=handle_file(str(first)), **run)
    assert made["state"] == "done" and not made.get("cached")
    _, _, _, same = client.predict(image_url=handle_file(str(again)), **run)
    assert same.get("cached") is True
    _, _, _, changed = client.predict(image_url=handle_file(str(other)), **run)
    assert not changed.get("cached")

