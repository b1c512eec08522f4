""""Adding an endpoint takes one module": a throwaway endpoint whose fields have none of the usual names
(``tests/odd_endpoint.py``: steps ``denoise_steps``, guidance ``cfg``, prompt ``text``, seed ``noise``, size
``canvas``, count ``batch``) is registered, the app is built and launched on the sandbox, and it is driven through
gradio_client: its tab and named API exist, the sandbox draws its steps, its images' metadata says "Steps: N", a
sweep over its steps role and an endpoint axis map, and the estimate uses the price its spec declares.

Nothing but the spec says what the fields mean: each check fails when a table matches names instead of reading
``EndpointSpec.roles``.
"""

from __future__ import annotations

import json
import zipfile

import httpx
import pytest
from gradio_client import Client

from endpoints import ENDPOINTS
from runs.provenance import read_metadata
from sandbox import SandboxOptions
from tests.app_support import app_client, launched_app
from tests.odd_endpoint import ODD, registered

pytestmark = pytest.mark.timeout(180)

OUTPUTS = ("status", "logs", "gallery", "result")


@pytest.fixture(scope="module")
def app():
    with registered(ODD), launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0)) as launched:
        yield launched
    assert ODD not in ENDPOINTS  # taken out again: other modules' apps have the shipped endpoints only


@pytest.fixture(scope="module")
def client(app) -> Client:
    return app_client(app.url)


def test_the_registered_endpoint_gets_a_tab_and_its_named_api(app, client):
    tabs = [block for block in app.demo.blocks.values() if type(block).__name__ == "Tab"]
    assert any(getattr(tab, "id", None) == ODD.api_name and tab.label == ODD.label for tab in tabs)
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    parameters = {p["parameter_name"]: p for p in info[f"/{ODD.api_name}"]["parameters"]}
    assert set(ODD.input_model.model_fields) <= set(parameters)
    sweep = {p["parameter_name"]: p for p in info[f"/{ODD.api_name}_sweep"]["parameters"]}
    assert sweep["x_field"]["parameter_default"] == "noise"  # the seed role, whatever the field is called


def test_a_run_on_the_sandbox_draws_its_steps_and_guidance_and_is_priced_from_its_spec(client):
    out = dict(zip(OUTPUTS, client.predict(text="a lighthouse", denoise_steps=7, cfg=9.5, noise=42,
                                           canvas={"width": 320, "height": 256}, api_name=f"/{ODD.api_name}"),
                   strict=True))
    result = out["result"]
    assert result["endpoint_id"] == ODD.id and result["seed"] == 42 and result["prompt"] == "a lighthouse"
    image = result["images"][0]
    assert (image["width"], image["height"]) == (320, 256)
    assert httpx.get(image["url"], timeout=5).status_code == 200
    # the sandbox read the steps role (7 steps, not its default 28) and named the changed parameters
    assert "7 steps, 1 image(s), seed 42" in out["logs"] and "Step 7/7" in out["logs"]
    assert "denoise_steps=7" in out["logs"] and "cfg=9.5" in out["logs"]
    assert "noise=" not in out["logs"] and "text=" not in out["logs"]  # drawn as the seed and the prompt
    assert "seed 42" in out["gallery"][0]["caption"]
    # the price the spec declares (the sandbox's pricing API serves its first-MP rate): 320×256 is 1 MP, at $0.02
    cost = result["cost"]
    assert cost["usd"] == 0.02 and "first MP" in cost["basis"] and "(test price, 2026-12)" in cost["basis"], cost


def test_a_sweep_over_its_steps_role_maps_and_its_images_say_steps(app, client):
    status, _grid, cells = client.predict(
        text="a lighthouse", noise=5, cfg=4.0, canvas={"width": 320, "height": 256},
        x_field="denoise_steps", x_values="[4, 9]", api_name=f"/{ODD.api_name}_sweep",
    )
    assert "est. $0.04" in status  # two cells at the spec's price
    assert sorted(c["x"] for c in cells) == [4, 9] and all(c["state"] == "done" for c in cells)
    records = [json.loads(c["record"]) for c in cells]
    assert sorted(r["input"]["denoise_steps"] for r in records) == [4, 9]
    assert all(r["input"]["noise"] == 5 and c["result"]["seed"] == 5 for r, c in zip(records, cells, strict=True))
    sweep_id = records[0]["sweep"]["id"]
    zip_path = next(p for p in app.ctx.sweep_files.files(sweep_id, client.session_hash) if p.endswith(".zip"))
    with zipfile.ZipFile(zip_path) as archive:
        images = [archive.read(n) for n in archive.namelist() if not n.endswith(".json")]
    metas = [read_metadata(data) for data in images]
    assert sorted(m.steps for m in metas if m.steps is not None) == [4, 9]
    for meta in metas:
        last = (meta.parameters or "").splitlines()[-1]
        assert f"Steps: {meta.steps}, Sampler: Euler, CFG scale: 4.0, Seed: 5, Size: 320x256, Model: {ODD.id}" in last
        assert meta.prompt == "a lighthouse" and "Denoise steps" not in last and "Noise" not in last


def test_an_endpoint_axis_carries_its_fields_to_flux_pro_by_role(client):
    _, _, cells = client.predict(
        text="a lighthouse", denoise_steps=12, cfg=3.0, noise=8, canvas={"width": 320, "height": 256},
        x_field="endpoint", x_values=json.dumps([ODD.api_name, "flux_pro"]), api_name=f"/{ODD.api_name}_sweep",
    )
    by_endpoint = {c["endpoint_id"]: json.loads(c["record"]) for c in cells}
    assert set(by_endpoint) == {ODD.id, "fal-ai/flux-pro"} and all(c["state"] == "done" for c in cells)
    pro = by_endpoint["fal-ai/flux-pro"]["input"]
    assert (pro["prompt"], pro["num_inference_steps"], pro["guidance_scale"], pro["seed"]) == (
        "a lighthouse", 12, 3.0, 8)
    assert pro["image_size"] == {"width": 320, "height": 256} and pro["num_images"] == 1
