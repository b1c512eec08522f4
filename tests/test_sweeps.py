"""Sweeps through gradio_client against a launched app on the sandbox: every cell, right seeds and values."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from sandbox import SandboxOptions
from tests.app_support import app_client, launched_app

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def app():
    with launched_app(SandboxOptions(capacity=16, step_seconds=0.005, startup_seconds=0.0)) as launched:
        yield launched


@pytest.fixture(scope="module")
def client(app) -> Client:
    return app_client(app.url)


def test_seed_by_guidance_grid_returns_every_cell_with_its_values(client):
    status, grid, cells = client.predict(
        prompt="a lighthouse", num_inference_steps=3, image_size="square",
        x_field="seed", x_values=json.dumps([11, 22, 33, 44]), y_field="guidance_scale", y_values=json.dumps([2, 5]),
        api_name="/flux_pro_sweep",
    )
    assert len(cells) == 8 and all(c["state"] == "done" for c in cells)
    assert sorted((c["x"], c["y"]) for c in cells) == sorted((s, g) for s in (11, 22, 33, 44) for g in (2, 5))
    for c in cells:
        assert c["result"]["seed"] == c["x"] and c["request_id"] and c["cost"]["usd"] == 0.05
        record = json.loads(c["record"])
        assert record["input"]["guidance_scale"] == c["y"] and record["sweep"]["x"] == c["x"]
        assert c["result"]["images"][0]["url"].startswith("http")
    image = Image.open(grid)
    assert image.width > 4 * 64 and image.height > 2 * 64
    assert "flux_playground_sweep" in image.text and "8 jobs" in status
    # the grid says what happened (jobs, cost, time), not the plan's estimate
    assert re.match(r"8 jobs: 8 done · \$0\.40 · \d+\.\d s$", json.loads(image.text["flux_playground_sweep"])["outcome"])
    assert "Sweep finished" in status
    assert "The sandbox billed nothing" in status  # the cost shown is what live runs would be


def test_an_endpoint_axis_over_two_fal_endpoints_returns_both(client):
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((64, 64)).convert("RGB").save(buffer, "PNG")
    link = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    _, _, cells = client.predict(
        prompt="a cat", num_inference_steps=10, seed=5, image_url=None, image_url__link=link,
        x_field="endpoint", x_values=json.dumps(["flux_dev_image_to_image", "flux_general_rf_inversion"]),
        api_name="/flux_dev_image_to_image_sweep",
    )
    by_endpoint = {c["endpoint_id"]: c for c in cells}
    assert set(by_endpoint) == {"fal-ai/flux/dev/image-to-image", "fal-ai/flux-general/rf-inversion"}
    assert all(c["state"] == "done" and c["result"]["seed"] == 5 for c in cells)
    rf = json.loads(by_endpoint["fal-ai/flux-general/rf-inversion"]["record"])
    assert rf["input"]["image_url"] == link and rf["input"]["prompt"] == "a cat"


def test_the_plan_names_what_an_endpoint_axis_cannot_map(client):
    with pytest.raises(AppError, match=r"image_url: is required \(nothing in FLUX.1 \[pro\] maps to it\)"):
        client.predict(prompt="a cat", x_field="endpoint", x_values='["flux_pro", "flux_dev_image_to_image"]',
                       api_name="/flux_pro_sweep")


def test_axis_values_are_validated_by_name_before_anything_runs(app, client):
    before = httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["submits"].get("fal-ai/flux-pro", 0)
    with pytest.raises(AppError, match=r"X axis \(num_inference_steps\): 80: must be between 1 and 50"):
        client.predict(prompt="x", x_field="num_inference_steps", x_values="[10, 80]", api_name="/flux_pro_sweep")
    with pytest.raises(AppError, match="64"):
        client.predict(prompt="x", x_field="seed", x_values="100 random seeds", api_name="/flux_pro_sweep")
    after = httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["submits"].get("fal-ai/flux-pro", 0)
    assert after == before


def test_text_syntax_ranges_and_prompt_search_replace(client):
    _, _, cells = client.predict(prompt="a cat on a mat", num_inference_steps=2, image_size="square", seed=1,
                                 x_field="prompt", x_values="cat -> dog, fox", api_name="/flux_pro_sweep")
    prompts = [json.loads(c["record"])["input"]["prompt"] for c in cells]
    assert prompts == ["a cat on a mat", "a dog on a mat", "a fox on a mat"]
    _, _, cells = client.predict(prompt="p", image_size="square", seed=1, x_field="num_inference_steps",
                                 x_values="2-8 [4]", api_name="/flux_pro_sweep")
    assert [c["x"] for c in cells] == [2, 4, 6, 8]


def test_a_live_sweep_needs_confirmation(tmp_path):
    env = {"FAL_KEY": "server-id:server-secret", "PLAYGROUND_DATA_DIR": str(tmp_path)}
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env=env, live_is_sandbox=True) as app:
        client = app_client(app.url)
        with pytest.raises(AppError, match="confirm the estimated cost"):
            client.predict(prompt="x", x_field="seed", x_values="[1, 2]", api_name="/flux_pro_sweep")
        assert httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()["submits"] == {}
        _, _, cells = client.predict(prompt="x", num_inference_steps=2, x_field="seed", x_values="[1, 2]",
                                     confirm_cost=True, api_name="/flux_pro_sweep")
        assert [c["state"] for c in cells] == ["done", "done"]


def test_stopping_a_sweep_cancels_every_cell_remotely():
    with launched_app(SandboxOptions(capacity=16, step_seconds=0.1, startup_seconds=0.0)) as app:
        client = app_client(app.url)
        job = client.submit(prompt="slow", num_inference_steps=50, x_field="seed", x_values="[1, 2, 3, 4]",
                            api_name="/flux_pro_sweep")
        deadline = time.monotonic() + 30
        stats = lambda: httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()
        while time.monotonic() < deadline and stats()["jobs"].get("IN_PROGRESS", 0) < 4:
            time.sleep(0.1)
        job.cancel()
        while time.monotonic() < deadline and len(stats()["cancels"]) < 4:
            time.sleep(0.1)
        assert len(stats()["cancels"]) == 4
        assert stats()["jobs"].get("IN_PROGRESS", 0) == 0 and stats()["jobs"].get("IN_QUEUE", 0) == 0
        assert Path(app.ctx.runner.media.root).exists()


def test_140_kb_of_axis_text_is_refused_by_its_length_before_any_value_is_read(app, client, monkeypatch):
    """23 million seeds once expanded: refused by the text's length, before a token is split or a range expanded
    (so at once, whatever the machine; planning is off the event loop anyway, next test)."""
    from runs.sweep import syntax

    hostile = ", ".join(["0-999"] * 23_400)  # 140 KB
    read: list[str] = []
    for name in ("_csv_tokens", "_expand_range", "_count_numbers"):
        original = getattr(syntax, name)
        monkeypatch.setattr(syntax, name, lambda *a, _name=name, _original=original, **k: read.append(_name)
                            or _original(*a, **k))
    with pytest.raises(AppError, match=r"X axis \(seed\): 163,798 characters"):
        client.predict(prompt="x", x_field="seed", x_values=hostile, api_name="/flux_pro_sweep")
    assert read == [], "nothing of the text was read before it was refused"
    with pytest.raises(AppError, match=r"X axis \(seed\)"):  # short text with too many values: read, then refused
        client.predict(prompt="x", x_field="seed", x_values="0-99999999", api_name="/flux_pro_sweep")
    assert "_csv_tokens" in read, "the check sees text being read"


def test_planning_runs_off_the_event_loop(app, client, monkeypatch):
    """A plan that takes long (many values to validate) never holds up the event loop other visitors share: while
    planning is held, another visitor's request (the app's own /media route, answered on its event loop) is
    answered. Planning on the loop would leave that request waiting until planning ends, which it never would."""
    import threading

    import components.sweep_run as panel

    original = panel.parse_json_axis
    planning, answered, seen = threading.Event(), threading.Event(), []

    def slow(*args, **kwargs):
        planning.set()
        seen.append(answered.wait(30))  # stands for a costly validation, held until another visitor is answered
        return original(*args, **kwargs)

    def other_visitor() -> None:
        if planning.wait(30):
            with httpx.Client(timeout=30) as http:
                http.get(f"{app.url}/media/0.png")
            answered.set()

    monkeypatch.setattr(panel, "parse_json_axis", slow)
    visitor = threading.Thread(target=other_visitor)
    visitor.start()
    client.predict(prompt="x", num_inference_steps=2, seed=1, x_field="seed", x_values="[1]",
                   api_name="/flux_pro_sweep")
    visitor.join(35)
    assert seen == [True], "another visitor was answered while the plan was being made"


def test_the_visitor_slot_is_taken_before_planning(app, client, monkeypatch):
    import components.sweep_run as panel

    planned: list[object] = []
    original = panel.parse_json_axis
    monkeypatch.setattr(panel, "parse_json_axis", lambda *a, **k: planned.append(a) or original(*a, **k))
    monkeypatch.setattr(app.ctx.visitor_slots, "limit", 0)
    with pytest.raises(AppError, match="run\\(s\\) going"):
        client.predict(prompt="x", x_field="seed", x_values="[1, 2]", api_name="/flux_pro_sweep")
    assert planned == []


def test_sweeps_at_once_are_capped_server_wide(app, client, monkeypatch):
    monkeypatch.setattr(app.ctx.sweep_slots, "limit", 0)
    with pytest.raises(AppError, match="PLAYGROUND_MAX_SWEEPS"):
        client.predict(prompt="x", x_field="seed", x_values="[1, 2]", api_name="/flux_pro_sweep")
    assert app.ctx.sweep_slots.running == 0


def test_api_sweeps_leave_nothing_unbounded(app, client, monkeypatch):
    """Three API sweeps (whose page follow-up never runs): their grids, ZIPs and history entries are bounded by
    bytes, and all of it goes with age."""
    store = app.ctx.sweep_files
    monkeypatch.setattr(store, "max_bytes", 1)  # over the cap at once: only the newest sweep stays
    for seed in (1, 2, 3):
        client.predict(prompt="x", num_inference_steps=2, image_size="square", x_field="seed",
                       x_values=f"[{seed}, {seed + 10}]", api_name="/flux_pro_sweep")
    assert len(store) == 1
    folders = [p for p in store.root.iterdir() if p.is_dir()]
    assert len(folders) == 1 and sum(f.stat().st_size for f in folders[0].iterdir()) == store.total_bytes() > 0
    store.prune(now=time.time() + store.max_age + 1)
    assert len(store) == 0 and not any(store.root.iterdir())
