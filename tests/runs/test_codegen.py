"""Copy as code: every snippet is run (or, for JavaScript, syntax-checked) against a sandbox started here.

Snippets run in subprocesses with the venv's Python, ``sh`` + ``curl`` (+ ``jq``) and ``node``, each bounded by a
timeout, with only sandbox keys in their environment; tools that are missing skip their test with the reason.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from endpoints import get_endpoint
from providers.base import FilePart, PreparedRequest
from runs.codegen import code_for, js_literal, python_literal
from runs.provenance import SecretInRecordError
from runs.record import RunRecord
from sandbox import RunningSandbox, SandboxOptions, start_sandbox

TIMEOUT = 60
SECRET = "fal-SECRET-0123456789abcdef"
# Quotes, shell expansions that must stay text, a backslash, a newline, non-ASCII and an astral character.
PROMPT = 'He said "hi" — it\'s $HOME `touch pwned-backtick` $(touch pwned) \\ back\nsecond line: ünïcødé 🐯'
FAL_KEY_ENV = {"FAL_KEY": "sandbox-key"}
SEGMIND_KEY_ENV = {"SEGMIND_API_KEY": "sandbox-key"}


@pytest.fixture(scope="module")
def sbx() -> RunningSandbox:
    with start_sandbox(SandboxOptions(step_seconds=0.01, startup_seconds=0.0)) as running:
        yield running


def png(colour: tuple[int, int, int] = (20, 160, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return buffer.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def fal_record(url: str, body: dict[str, Any], endpoint: str = "fal-ai/flux-pro", **changes: Any) -> RunRecord:
    request = PreparedRequest(
        provider="fal", endpoint_id=endpoint, method="POST", url=url,
        headers={"Authorization": "Key <redacted>", "Content-Type": "application/json"}, body_kind="json",
        body=body, secret_headers={"Authorization": f"Key {SECRET}"},
    )
    spec = get_endpoint(endpoint)
    return RunRecord(id="run-1", endpoint_id=endpoint, api_name=spec.api_name, provider="fal", route="sandbox",
                     input=dict(body), state="done", request=replace(request, **changes))


def segmind_record(url: str, body: dict[str, Any], *, files: tuple[FilePart, ...] = ()) -> RunRecord:
    multipart = bool(files)
    request = PreparedRequest(
        provider="segmind", endpoint_id="flux-depth-pro", method="POST", url=url,
        headers={"x-api-key": "<redacted>"} if multipart else {"x-api-key": "<redacted>",
                                                                "Content-Type": "application/json"},
        body_kind="multipart" if multipart else "json",
        body={k: str(v) for k, v in body.items()} if multipart else body, files=files,
        secret_headers={"x-api-key": SECRET},
    )
    return RunRecord(id="run-2", endpoint_id="flux-depth-pro", api_name="segmind_flux_depth_pro",
                     provider="segmind", route="sandbox", input=dict(body), state="done", request=request)


def fal_body(seed: int = 1234) -> dict[str, Any]:
    return {"prompt": PROMPT, "image_size": {"width": 64, "height": 48}, "num_inference_steps": 3, "seed": seed}


def segmind_body(control: str | None) -> dict[str, Any]:
    body = {"prompt": PROMPT, "seed": 1234, "steps": 15, "guidance": 7.5, "output_format": "png"}
    return {**body, "control_image": control} if control else body


def snippet_env(keys: dict[str, str]) -> dict[str, str]:
    """The parent's environment minus provider settings and proxies, plus sandbox keys."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.upper().startswith(("FAL_", "SEGMIND_")) and k.lower() not in ("http_proxy", "https_proxy",
                                                                                 "all_proxy")
    }
    return {**env, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", **keys}


def run(command: list[str], cwd: Path, keys: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=snippet_env(keys), capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    assert done.returncode == 0, f"{command} failed ({done.returncode}):\n{done.stderr}\n{done.stdout}"
    return done


def needs(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")


def requests_installed() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import requests"], capture_output=True, timeout=TIMEOUT,
                           check=False)
    return probe.returncode == 0


def assert_untouched(directory: Path) -> None:
    assert not list(directory.glob("pwned*")), "a shell expansion in the prompt ran"


def subscribe_arguments(code: str) -> Any:
    """The ``arguments=`` literal of the snippet's ``fal_client.subscribe`` call."""
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "subscribe":
            return ast.literal_eval(next(k.value for k in node.keywords if k.arg == "arguments"))
    raise AssertionError("no subscribe call")


# --- fal ----------------------------------------------------------------------------------------------------------


def test_fal_python_runs_against_the_sandbox(sbx, tmp_path):
    record = fal_record(f"{sbx.fal_queue_url}/fal-ai/flux-pro", fal_body())
    code = code_for(record, app_url=None)["python"]
    assert "this run went to" in code.lower() and sbx.fal_queue_url in code
    (tmp_path / "run.py").write_text(code, encoding="utf-8")
    result = json.loads(run([sys.executable, "run.py"], tmp_path, FAL_KEY_ENV).stdout)
    assert result["seed"] == 1234 and result["prompt"] == PROMPT and result["images"]
    assert_untouched(tmp_path)


def test_fal_curl_script_runs_against_the_sandbox(sbx, tmp_path):
    needs("sh", "curl", "jq")
    record = fal_record(f"{sbx.fal_queue_url}/fal-ai/flux-pro", fal_body(seed=99))
    (tmp_path / "run.sh").write_text(code_for(record, app_url=None)["curl"], encoding="utf-8")
    result = json.loads(run(["sh", "run.sh"], tmp_path, FAL_KEY_ENV).stdout)
    assert result["seed"] == 99 and result["prompt"] == PROMPT
    assert_untouched(tmp_path)


def test_fal_curl_script_reports_a_refused_submit(sbx, tmp_path):
    needs("sh", "curl", "jq")
    record = fal_record(f"{sbx.fal_queue_url}/fal-ai/flux-pro", {"num_inference_steps": 3})  # no prompt: 422
    (tmp_path / "run.sh").write_text(code_for(record, app_url=None)["curl"], encoding="utf-8")
    done = subprocess.run(["sh", "run.sh"], cwd=tmp_path, env=snippet_env(FAL_KEY_ENV), capture_output=True,
                          text=True, timeout=TIMEOUT, check=False)
    assert done.returncode != 0 and "prompt" in done.stderr


def test_fal_javascript_is_valid(sbx, tmp_path):
    needs("node")
    record = fal_record(f"{sbx.fal_queue_url}/fal-ai/flux-pro", fal_body())
    code = code_for(record, app_url=None)["javascript"]
    assert "requestMiddleware" in code and "process.env.FAL_KEY" in code
    (tmp_path / "run.mjs").write_text(code, encoding="utf-8")
    subprocess.run(["node", "--check", "run.mjs"], cwd=tmp_path, check=True, timeout=TIMEOUT, capture_output=True)


def test_fal_javascript_runs_where_the_client_is_installed(sbx, tmp_path):
    """Set FAL_JS_CLIENT_DIR to a directory whose node_modules holds @fal-ai/client to run the snippet for real."""
    needs("node")
    where = os.environ.get("FAL_JS_CLIENT_DIR")
    if not where or not (Path(where) / "node_modules" / "@fal-ai" / "client").is_dir():
        pytest.skip("@fal-ai/client is not installed (set FAL_JS_CLIENT_DIR to a directory with it in node_modules)")
    record = fal_record(f"{sbx.fal_queue_url}/fal-ai/flux-pro", fal_body(seed=5))
    script = Path(where) / f"codegen-test-{os.getpid()}.mjs"
    script.write_text(code_for(record, app_url=None)["javascript"], encoding="utf-8")
    try:
        result = json.loads(run(["node", script.name], Path(where), FAL_KEY_ENV).stdout)
    finally:
        script.unlink()
    assert result["seed"] == 5 and result["prompt"] == PROMPT


def test_fal_snippets_for_the_real_service_need_no_host_setup():
    record = fal_record("https://queue.fal.run/fal-ai/flux-pro", fal_body())
    code = code_for(record, app_url=None)
    assert "QUEUE_URL_FORMAT" not in code["python"] and "went to" not in code["python"]
    assert "fal.config({ credentials: process.env.FAL_KEY });" in code["javascript"]
    assert "requestMiddleware" not in code["javascript"]
    assert "QUEUE=https://queue.fal.run\n" in code["curl"] and "went to" not in code["curl"]
    assert subscribe_arguments(code["python"]) == record.request.body


def follow_sandbox_comment(code: str, sbx: RunningSandbox, language: str) -> str:
    """Do what the comment of public code says to try it on a local sandbox."""
    if language == "python":
        return code.replace("import fal_client\n", "import fal_client\nimport fal_client.client\n"
                            f"fal_client.client.QUEUE_URL_FORMAT = {sbx.fal_queue_url + '/'!r}\n", 1)
    if language == "curl" and "QUEUE=" in code:
        return code.replace("QUEUE=https://queue.fal.run\n", f"QUEUE={sbx.fal_queue_url}\n", 1)
    return code.replace("https://api.segmind.com", sbx.segmind_api_url)


def test_public_code_of_a_sandbox_run_targets_the_service_and_says_how_to_use_a_sandbox(sbx, tmp_path):
    """The app's code for a sandbox run: never the sandbox's random port; the comment, followed, runs it there."""
    record = fal_record(f"{sbx.fal_queue_url}/fal-ai/flux-pro", fal_body(seed=77))
    code = code_for(record, app_url=None, public=True)
    port = sbx.fal_queue_url.split("//", 1)[1].split("/", 1)[0]
    for language, text in code.items():
        assert port not in text and "went to" not in text, language
        assert "python -m sandbox --port 8765" in text and "FAL_QUEUE_URL" in text, language
    assert "QUEUE=https://queue.fal.run\n" in code["curl"] and "requestMiddleware" in code["javascript"]
    assert "fal_client.client.QUEUE_URL_FORMAT =" not in code["python"].replace("#     fal_client", "")
    (tmp_path / "run.py").write_text(follow_sandbox_comment(code["python"], sbx, "python"), encoding="utf-8")
    result = json.loads(run([sys.executable, "run.py"], tmp_path, FAL_KEY_ENV).stdout)
    assert result["seed"] == 77 and result["prompt"] == PROMPT
    segmind = code_for(segmind_record(f"{sbx.segmind_api_url}/v1/flux-depth-pro", segmind_body(data_uri(png()))),
                       app_url=None, public=True)
    for language, text in segmind.items():
        assert "https://api.segmind.com/v1/flux-depth-pro" in text and sbx.url not in text, language
        assert "SEGMIND_API_URL" in text
    if shutil.which("curl"):
        (tmp_path / "seg.sh").write_text(follow_sandbox_comment(segmind["curl"], sbx, "curl"), encoding="utf-8")
        run(["sh", "seg.sh"], tmp_path, SEGMIND_KEY_ENV)
        assert (tmp_path / "out.png").stat().st_size > 0


def test_fal_arguments_are_the_body_as_sent_for_every_fal_seed_example():
    for spec in (get_endpoint(k) for k in ("flux_pro", "flux_pro_depth_finetuned", "flux_general_rf_inversion",
                                           "flux_dev_image_to_image")):
        body = spec.input_model.model_validate(spec.example).to_wire()
        record = fal_record(f"https://queue.fal.run/{spec.id}", body, endpoint=spec.id)
        code = code_for(record, app_url=None)
        assert subscribe_arguments(code["python"]) == body, spec.id
        compile(code["python"], "run.py", "exec")


def test_upload_urls_are_named_in_a_comment():
    url = "http://127.0.0.1:9/fal/cdn/files/abc.png"
    body = {"prompt": "p", "image_url": url}
    record = fal_record("https://queue.fal.run/fal-ai/flux/dev/image-to-image", body,
                        endpoint="fal-ai/flux/dev/image-to-image", uploads={"image_url": url})
    for language in ("python", "javascript", "curl"):
        assert f"image_url was uploaded to fal storage for this run: {url}" in code_for(record, app_url=None)[language]


# --- Segmind ------------------------------------------------------------------------------------------------------


def direct_segmind(sbx: RunningSandbox, body: dict[str, Any]) -> bytes:
    response = httpx.post(f"{sbx.segmind_api_url}/v1/flux-depth-pro", json=body, headers={"x-api-key": "k"},
                          timeout=TIMEOUT)
    response.raise_for_status()
    return response.content


def control_part(data: bytes, name: str = "my control;1.png") -> FilePart:
    return FilePart("control_image", name, "image/png", len(data), hashlib.sha256(data).hexdigest())


def test_segmind_curl_json_and_multipart_give_the_same_image_as_the_request(sbx, tmp_path):
    needs("sh", "curl")
    control = png()
    expected = direct_segmind(sbx, segmind_body(data_uri(control)))  # same prompt and seed render the same bytes
    json_dir, form_dir = tmp_path / "json", tmp_path / "multipart"
    json_dir.mkdir()
    form_dir.mkdir()
    json_record = segmind_record(f"{sbx.segmind_api_url}/v1/flux-depth-pro", segmind_body(data_uri(control)))
    (json_dir / "run.sh").write_text(code_for(json_record, app_url=None)["curl"], encoding="utf-8")
    form_record = segmind_record(f"{sbx.segmind_api_url}/v1/flux-depth-pro", segmind_body(None),
                                 files=(control_part(control),))
    form_code = code_for(form_record, app_url=None)["curl"]
    assert "--form-string" in form_code and "my_control_1.png" in form_code
    (form_dir / "run.sh").write_text(form_code, encoding="utf-8")
    (form_dir / "my_control_1.png").write_bytes(control)
    for directory in (json_dir, form_dir):
        headers = run(["sh", "run.sh"], directory, SEGMIND_KEY_ENV).stdout.lower()
        assert "x-seed-value: 1234" in headers
        assert (directory / "out.png").read_bytes() == expected
        assert_untouched(directory)


@pytest.mark.skipif(not requests_installed(), reason="requests is not installed in the venv (add it to "
                    "requirements-dev.txt to run the Segmind Python snippet)")
def test_segmind_python_json_and_multipart_run_against_the_sandbox(sbx, tmp_path):
    control = png((200, 30, 30))
    expected = direct_segmind(sbx, segmind_body(data_uri(control)))
    for name, record in (
        ("json", segmind_record(f"{sbx.segmind_api_url}/v1/flux-depth-pro", segmind_body(data_uri(control)))),
        ("multipart", segmind_record(f"{sbx.segmind_api_url}/v1/flux-depth-pro", segmind_body(None),
                                     files=(control_part(control, "control.png"),))),
    ):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "control.png").write_bytes(control)
        (directory / "run.py").write_text(code_for(record, app_url=None)["python"], encoding="utf-8")
        assert "seed 1234" in run([sys.executable, "run.py"], directory, SEGMIND_KEY_ENV).stdout
        assert (directory / "out.png").read_bytes() == expected


def test_segmind_python_compiles_and_sends_the_body_as_sent():
    json_record = segmind_record("https://api.segmind.com/v1/flux-depth-pro", segmind_body("https://x.test/c.png"))
    form_record = segmind_record("https://api.segmind.com/v1/flux-depth-pro", segmind_body(None),
                                 files=(control_part(png()),))
    for record in (json_record, form_record):
        code = code_for(record, app_url=None)
        assert set(code) == {"python", "curl"} and "went to" not in code["python"]
        tree = ast.parse(code["python"])
        post = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "post")
        sent = {k.arg: k.value for k in post.keywords}
        body_kw = "data" if record.request.body_kind == "multipart" else "json"
        assert ast.literal_eval(sent[body_kw]) == record.request.body
        assert 'os.environ["SEGMIND_API_KEY"]' in code["python"] and "$SEGMIND_API_KEY" in code["curl"]
    assert "-F 'control_image=@my_control_1.png;type=image/png'" in code_for(form_record, app_url=None)["curl"]


# --- gradio_client against the app ---------------------------------------------------------------------------------


def find_result(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        if "seed" in value and "prompt" in value and "images" in value:
            return value
        value = list(value.values())
    if isinstance(value, list):
        return next((found for item in value if (found := find_result(item)) is not None), None)
    return None


def test_gradio_client_snippet_runs_against_the_app(tmp_path):
    from tests.app_support import launched_app  # the whole app on loopback, on its own sandbox

    fal = fal_record("https://queue.fal.run/fal-ai/flux-pro", fal_body(seed=4321))
    segmind = segmind_record("https://api.segmind.com/v1/flux-depth-pro", segmind_body(data_uri(png())))
    with launched_app() as app:
        for record, seed in ((fal, 4321), (segmind, 1234)):
            code = code_for(record, app_url=app.url)["gradio_client"]
            assert f'api_name="/{record.api_name}"' in code
            (tmp_path / "run.py").write_text(code, encoding="utf-8")
            outputs = json.loads(run([sys.executable, "run.py"], tmp_path, {}).stdout)
            result = find_result(outputs)
            assert result is not None and result["seed"] == seed, outputs
            if record.provider == "fal":
                assert result["prompt"] == PROMPT
    segmind_code = code_for(segmind, app_url="http://app.test/")["gradio_client"]
    assert "control_image=None" in segmind_code and "control_image__link=" in segmind_code


def test_gradio_client_names_a_file_sent_as_a_part():
    record = segmind_record("https://api.segmind.com/v1/flux-depth-pro", segmind_body(None),
                            files=(control_part(png(), "depth.png"),))
    code = code_for(record, app_url="http://app.test/")["gradio_client"]
    assert 'control_image=handle_file("depth.png")' in code and "put it next to this script as depth.png" in code
    compile(code, "run.py", "exec")


def test_gradio_client_passes_json_fields_as_text_and_odd_keys_safely():
    spec = get_endpoint("flux_general_rf_inversion")
    body = {**spec.example, "loras": [{"path": "https://x.test/l.safetensors", "scale": 0.7}]}
    record = fal_record(f"https://queue.fal.run/{spec.id}", body, endpoint=spec.id)
    record = replace(record, input={**record.input, "odd key); import os; (": 1})
    code = code_for(record, app_url="http://app.test/")["gradio_client"]
    tree = ast.parse(code)
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "predict")
    kwargs = {k.arg: k.value for k in call.keywords}
    assert json.loads(ast.literal_eval(kwargs["loras"])) == body["loras"]
    assert ast.literal_eval(kwargs[None]) == {"odd key); import os; (": 1}  # the **{...} argument, inert


def test_no_gradio_client_snippet_without_an_app_url():
    assert "gradio_client" not in code_for(fal_record("https://queue.fal.run/fal-ai/flux-pro", fal_body()),
                                           app_url=None)


# --- keys ---------------------------------------------------------------------------------------------------------


def test_keys_never_appear_and_leaky_records_are_refused():
    records = [
        fal_record("https://queue.fal.run/fal-ai/flux-pro", fal_body()),
        segmind_record("https://api.segmind.com/v1/flux-depth-pro", segmind_body("https://x.test/c.png")),
        segmind_record("https://api.segmind.com/v1/flux-depth-pro", segmind_body(None), files=(control_part(png()),)),
    ]
    for record in records:
        assert SECRET in str(record.request.send_headers())  # the real key exists, kept apart
        for text in code_for(record, app_url="http://app.test/").values():
            assert SECRET not in text and "<redacted>" not in text
        for headers in ({"Authorization": f"Key {SECRET}"}, {"x-api-key": SECRET}):
            leaky = replace(record, request=replace(record.request, headers=headers))
            with pytest.raises(SecretInRecordError):
                code_for(leaky, app_url=None)


def test_record_without_a_request_targets_the_public_service():
    record = replace(fal_record("https://queue.fal.run/fal-ai/flux-pro", fal_body()), request=None)
    code = code_for(record, app_url=None)
    assert subscribe_arguments(code["python"]) == record.input and "QUEUE_URL_FORMAT" not in code["python"]


# --- literals -----------------------------------------------------------------------------------------------------

NASTY = ['"', "'", "\\", "$", "`", "\n", "\r", "\t", "\0", "\x7f", "\u2028", "\u2029", "\u202e", "\ufeff", "é",
         "🐯", "\ud800", "JSON", "EOF", "'\"'", "${x}", "</script>", " "]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randrange(-2**40, 2**40)
    if kind == 2:
        return rng.choice([0.1, -2.5e-7, 1e300, 3.0])
    if kind in (3, 4):
        return random_text(rng)
    if kind == 5:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {random_text(rng) if kind == 6 else f"k{i}": random_value(rng, depth + 1) for i in range(rng.randrange(4))}


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice([*NASTY, "a", "b", " "]) for _ in range(rng.randrange(12)))


def literal_cases() -> list[Any]:
    rng = random.Random(11)
    return [random_value(rng) for _ in range(150)]


def test_python_literals_read_back_equal():
    for value in literal_cases():
        assert ast.literal_eval(python_literal(value)) == value


def test_javascript_literals_read_back_equal(tmp_path):
    needs("node")
    cases = literal_cases()
    script = "const values = [\n" + ",\n".join(js_literal(v) for v in cases) + "\n];\n"
    script += "process.stdout.write(JSON.stringify(values));\n"
    (tmp_path / "check.mjs").write_text(script, encoding="utf-8")
    done = subprocess.run(["node", "check.mjs"], cwd=tmp_path, capture_output=True, timeout=TIMEOUT, check=True)
    assert json.loads(done.stdout.decode("utf-8", "surrogatepass")) == cases


# --- a record made by the runner -----------------------------------------------------------------------------------


async def test_code_from_a_runner_record_reproduces_the_run(rig, tmp_path):
    """End to end: the app's own run engine makes the record; its Python and cURL code give the same result."""
    spec = get_endpoint("flux_dev_image_to_image")
    source = rig.uploads_root / "cat.png"
    source.write_bytes(png((200, 20, 20)))
    payload = spec.input_model.model_validate({"prompt": PROMPT, "image_url": str(source), "seed": 77,
                                                "num_inference_steps": 10})
    async with asyncio.timeout(20):
        updates = [u async for u in rig.runner.run(spec, payload, rig.route("fal"),
                                                   media_url=lambda name: f"http://app.test/media/{name}")]
    record = updates[-1].record
    assert record.state == "done", record.error
    code = code_for(record, app_url=None)
    (tmp_path / "run.py").write_text(code["python"], encoding="utf-8")
    result = await asyncio.to_thread(run, [sys.executable, "run.py"], tmp_path, FAL_KEY_ENV)
    again = json.loads(result.stdout)
    assert again["seed"] == record.seed == 77 and again["prompt"] == PROMPT
    if shutil.which("curl") and shutil.which("jq"):
        (tmp_path / "run.sh").write_text(code["curl"], encoding="utf-8")
        assert json.loads((await asyncio.to_thread(run, ["sh", "run.sh"], tmp_path, FAL_KEY_ENV)).stdout)["seed"] == 77
