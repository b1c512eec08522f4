"""The launched app driven through gradio_client, against the embedded sandbox (loopback only)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from components.gradio_fixes import SessionLifetimes
from endpoints import ENDPOINTS, get_endpoint
from providers.local_files import image_fields
from sandbox import SandboxOptions
from tests.app_support import app_client, launched_app

pytestmark = pytest.mark.timeout(120)

OUTPUTS = ("status", "logs", "gallery", "result")  # gr.State outputs are not part of the API


@pytest.fixture(scope="module")
def app():
    with launched_app(SandboxOptions(step_seconds=0.01, startup_seconds=0.0)) as launched:
        yield launched


@pytest.fixture(scope="module")
def client(app) -> Client:
    return app_client(app.url)


@pytest.fixture(scope="module")
def control_png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("img") / "control.png"
    Image.linear_gradient("L").resize((96, 64)).convert("RGB").save(path)
    return path


def api_kwargs(spec, image: Path) -> dict[str, Any]:
    """The seed example as API keyword arguments: image fields as uploads, lists as JSON text."""
    kwargs: dict[str, Any] = {}
    for name, value in spec.example.items():
        if name in image_fields(spec):
            kwargs[name] = handle_file(str(image))
        elif isinstance(value, list | dict) and name != "image_size":
            kwargs[name] = json.dumps(value)
        else:
            kwargs[name] = value
    return kwargs


def named(outputs: tuple) -> dict[str, Any]:
    return dict(zip(OUTPUTS, outputs, strict=True))


def stats(app) -> dict[str, Any]:
    return httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()


def test_api_lists_one_named_endpoint_per_tab_with_schema_parameters(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for spec in ENDPOINTS:
        endpoint = info[f"/{spec.api_name}"]
        names = {p["parameter_name"] for p in endpoint["parameters"]}
        assert set(spec.input_model.model_fields) <= names, spec.api_name
        assert "session_keys" not in names
    assert not any("key" in name for name in info if name.strip("/") not in {s.api_name for s in ENDPOINTS})


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_every_tab_runs_its_seed_example(client, spec, control_png):
    out = named(client.predict(**api_kwargs(spec, control_png), api_name=f"/{spec.api_name}"))
    result = out["result"]
    assert set(result) >= {"images", "seed", "has_nsfw_concepts", "prompt", "timings", "request_id", "endpoint_id"}
    assert result["endpoint_id"] == spec.id and result["request_id"]
    assert len(out["gallery"]) == len(result["images"]) >= 1
    caption = out["gallery"][0]["caption"]
    assert f"seed {result['seed']}" in caption and "NSFW" in caption
    assert Path(out["gallery"][0]["image"]).stat().st_size > 0
    assert "✅" in out["status"] and f"seed {result['seed']}" in out["status"]
    assert json.loads(result["request"]["body"])["prompt"] == spec.example["prompt"]
    assert result["cost"]["basis"] and "usd" in result["cost"] and isinstance(result["extras"], dict)
    for image in result["images"]:
        assert image["url"].startswith(("http://", "https://"))
        assert httpx.get(image["url"], timeout=5).status_code == 200
    if spec.provider == "segmind":
        assert result["has_nsfw_concepts"] is None and "NSFW: not reported" in caption
        assert "remaining_credits" in result["extras"]
    else:
        assert result["has_nsfw_concepts"] == [False]
        assert "Step 1/" in out["logs"]


def test_logs_arrive_before_the_result(app):
    client = app_client(app.url)
    spec = get_endpoint("flux_pro")
    job = client.submit(prompt="a lighthouse", num_inference_steps=30, api_name="/flux_pro")
    updates = [named(update) for update in job]
    first_log = next(i for i, u in enumerate(updates) if u["logs"] and "Step" in u["logs"])
    first_result = next(i for i, u in enumerate(updates) if isinstance(u["result"], dict) and "endpoint_id" in u["result"])
    assert first_log < first_result
    assert spec.id == updates[-1]["result"]["endpoint_id"]


def test_field_validation_error_names_the_field(client):
    spec = get_endpoint("segmind_flux_depth_pro")
    with pytest.raises(AppError, match="steps: must be between 15 and 50"):
        client.predict(prompt="x", control_image=None, control_image__link="https://example.test/c.png", steps=99,
                       api_name=f"/{spec.api_name}")
    with pytest.raises(AppError, match="prompt: is required"):
        client.predict(prompt="", api_name="/flux_pro")


def test_custom_image_size_and_nsfw_flag(client):
    out = named(
        client.predict(
            prompt="nsfw test", image_size={"width": 320, "height": 200}, safety_tolerance="1", seed=7, api_name="/flux_pro"
        )
    )
    image = out["result"]["images"][0]
    assert (image["width"], image["height"]) == (320, 200)
    assert out["result"]["has_nsfw_concepts"] == [True]
    assert "FLAGGED" in out["gallery"][0]["caption"]
    assert out["result"]["seed"] == 7


def test_stop_cancels_the_remote_request():
    with launched_app(SandboxOptions(step_seconds=0.2, startup_seconds=0.0)) as slow:
        client = app_client(slow.url)
        job = client.submit(prompt="slow", num_inference_steps=50, api_name="/flux_pro")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("Step" in (named(o)["logs"] or "") for o in job.outputs()):
            time.sleep(0.1)
        job.cancel()
        while time.monotonic() < deadline and not stats(slow)["cancels"]:
            time.sleep(0.1)
        cancels = stats(slow)["cancels"]
        assert cancels and cancels[0]["outcome"] == "CANCELLATION_REQUESTED"


def test_missing_key_without_sandbox_says_what_to_do():
    with launched_app(with_sandbox=False) as live:
        client = app_client(live.url)
        with pytest.raises(AppError, match="FAL_KEY"):
            client.predict(prompt="x", api_name="/flux_pro")


def test_input_errors_are_one_log_line_without_a_traceback(client, capsys, caplog):
    caplog.set_level("INFO")
    with pytest.raises(AppError, match="num_inference_steps: must be between 1 and 50"):
        client.predict(prompt="x", num_inference_steps=80, api_name="/flux_pro")
    deadline = time.monotonic() + 10  # the app logs the refusal while it answers: wait for that line, not a guess
    while time.monotonic() < deadline and not any("input refused for fal-ai/flux-pro" in r.getMessage()
                                                  for r in caplog.records):
        time.sleep(0.02)
    assert any("input refused for fal-ai/flux-pro" in r.getMessage() for r in caplog.records)
    assert "Traceback" not in capsys.readouterr().err


def test_runs_leave_nothing_behind_in_the_visitors_session(app):
    client = app_client(app.url)
    client.predict(prompt="warm-up", num_inference_steps=3, api_name="/flux_pro")
    session = app.demo.state_holder.session_data[client.session_hash]
    blocks, configs = len(session.blocks_config.blocks), len(session.config_values)
    job = client.submit(prompt="a lighthouse", num_inference_steps=12, api_name="/flux_pro")
    streamed = [named(update) for update in job]
    for seed in (1, 2):
        client.predict(prompt="a harbour", seed=seed, num_inference_steps=3, api_name="/flux_pro")
    assert (len(session.blocks_config.blocks), len(session.config_values)) == (blocks, configs)
    assert any(u["result"] == {"__type__": "update"} for u in streamed[:-1])  # skips still reach the client as such
    assert streamed[-1]["result"]["state"] == "done"


def test_sessions_idle_past_their_lifetime_are_dropped_while_the_app_runs():
    lifetimes = SessionLifetimes(idle=1.0, closed=1.0, every=0.2)
    with launched_app(SandboxOptions(step_seconds=0.1, startup_seconds=0.0), sessions=lifetimes) as launched:
        holder = launched.demo.state_holder
        idle, busy = app_client(launched.url), app_client(launched.url)
        idle.predict(prompt="a harbour", num_inference_steps=2, api_name="/flux_pro")
        assert idle.session_hash in holder.session_data
        job = busy.submit(prompt="a long one", num_inference_steps=40, api_name="/flux_pro")  # ~4 s
        deadline = time.monotonic() + 10
        while idle.session_hash in holder.session_data and time.monotonic() < deadline:
            time.sleep(0.1)
        assert idle.session_hash not in holder.session_data
        assert busy.session_hash in holder.session_data  # a session with a run going is never dropped
        assert job.result()[3]["state"] == "done"
        # A dropped session's visitor can go on: Gradio starts a fresh session for it.
        assert named(idle.predict(prompt="again", num_inference_steps=2, api_name="/flux_pro"))["result"]["state"] == "done"


def test_an_image_inside_a_list_travels_through_fal_storage_not_inline(app, client, tmp_path):
    import base64
    import io

    buffer = io.BytesIO()
    Image.effect_noise((96, 64), 40).convert("RGB").save(buffer, "PNG")  # noise: a PNG well above 4 KB
    control = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    controlnets = [{"path": "https://example.test/depth.safetensors", "control_image_url": control}]
    source = tmp_path / "source.png"
    Image.effect_noise((64, 48), 30).convert("RGB").save(source)  # content no other test uploaded
    before = stats(app)["uploads"]
    out = named(client.predict(prompt="a harbour", image_url=handle_file(str(source)),
                               controlnets=json.dumps(controlnets), api_name="/flux_general_rf_inversion"))
    result = out["result"]
    assert result["state"] == "done", result.get("error")
    sent = json.loads(result["request"]["body"])
    assert sent["controlnets"][0]["control_image_url"].startswith(app.sandbox.url)
    assert "data:" not in result["request"]["body"]
    assert stats(app)["uploads"] - before == 2  # the input image and the control image
    record = json.loads(result["record"])
    assert record["input"]["controlnets"][0]["control_image_url"] == sent["controlnets"][0]["control_image_url"]


def test_the_page_is_sent_compressed_and_images_as_they_are(app, client):
    page = httpx.get(app.url, headers={"accept-encoding": "gzip"}, timeout=10)
    assert page.headers.get("content-encoding") == "gzip"
    assert page.num_bytes_downloaded * 4 < len(page.content)  # ~0.8 MB of page in well under a quarter of it
    image_url = named(client.predict(prompt="a harbour", num_inference_steps=2, api_name="/flux_pro"))["result"]["images"][0]["url"]
    image = httpx.get(image_url, headers={"accept-encoding": "gzip"}, timeout=10)
    assert image.status_code == 200 and "content-encoding" not in image.headers


def test_no_visitor_reads_the_apps_traffic(app, client):
    """Gradio serves ``/monitoring/summary`` (every function's requests, counted and timed) unless monitoring is
    turned off; the dashboard's key is never printed."""
    client.predict(prompt="a harbour", num_inference_steps=2, api_name="/flux_pro")
    for path in ("monitoring/summary", "monitoring"):
        answer = httpx.get(app.url + path, timeout=10)
        assert answer.status_code == 403, (path, answer.status_code, answer.text[:200])
        assert "flux_pro" not in answer.text


def test_gallery_files_and_media_urls_are_named_for_the_run_and_restore_it(client):
    """What gradio_client receives and what /media/ serves: ``<api_name>-<seed>-<n>.<ext>``, with the run inside."""
    from runs.provenance import read_metadata

    out = named(client.predict(prompt="a named harbour", seed=4242, num_images=2, num_inference_steps=2,
                               api_name="/flux_pro"))
    files = [Path(item["image"]) for item in out["gallery"]]
    assert [f.name for f in files] == ["flux_pro-4242-1.jpg", "flux_pro-4242-2.jpg"]
    urls = [image["url"] for image in out["result"]["images"]]
    assert [url.rsplit("/", 1)[-1] for url in urls] == ["flux_pro-4242-1.jpg", "flux_pro-4242-2.jpg"]
    for file, url in zip(files, urls, strict=True):
        for data in (file.read_bytes(), httpx.get(url, timeout=5).content):
            meta = read_metadata(data)
            assert meta.kind == "record" and meta.seed == 4242 and meta.prompt == "a named harbour"
            assert meta.record.id == out["result"]["run_id"] and meta.steps == 2
