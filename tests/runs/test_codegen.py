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
import shlex
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
from runs.codegen import RecordRefused, code_for, fal_curl, gradio_client_code, js_literal, python_literal
from runs.record import RunRecord, SecretInRecordError
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
        if not k.upper().startswith(("FAL_", "SEGMIND_", "BFL_")) and k.lower() not in ("http_proxy", "https_proxy",
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
    # code_for refuses that record (its input does not pass the model), so the script comes from the writer itself
    (tmp_path / "run.sh").write_text(fal_curl(record.request), encoding="utf-8")
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
    for language in ("python", "javascript", "curl"):  # both as literals: a Python string, a JSON string
        note = f'"image_url" was uploaded to fal storage for this run: "{url}"'
        assert note in code_for(record, app_url=None)[language]


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
    odd = replace(record, input={**record.input, "odd key); import os; (": 1})
    with pytest.raises(RecordRefused, match=r"input: \"odd key\); import os; \(\" is not a field"):
        code_for(odd, app_url="http://app.test/")  # not the endpoint's field: refused before any code is made
    code = gradio_client_code(odd, "http://app.test/")  # and the writer alone keeps it inert all the same
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
    cases = [*literal_cases(), {"__proto__": 0.5}, {"a": {"__proto__": {"x": [1]}}}, [{"__proto__": None}]]
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


# --- hostile records (issue 17: copied code never carries a visitor's text as code) ---------------------------------

# Text that tries to end the literal or the comment it lands in and run something: each payload touches a pwned-*
# file in the snippet's folder if it ever runs (Python, shell or JavaScript).
HOSTILE = [
    "a\nimport os; os.system('touch pwned-nl')\n#",
    "a\r__import__('os').system('touch pwned-cr')\r#",
    "a'; __import__('os').system('touch pwned-sq'); '",
    'a"; __import__("os").system("touch pwned-dq"); "',
    "a`touch pwned-bt` $(touch pwned-sub) ${IFS}",
    "a'$(touch pwned-q)'\"$(touch pwned-qq)\"",
    "a */ import('node:child_process').then((m) => m.execSync('touch pwned-star')); /*",
    "a\u2028import('node:child_process').then((m) => m.execSync('touch pwned-ls'));\u2029//",
    "a\\\nimport os; os.system('touch pwned-bs')",
    "a\x00b\x85c\x0bd\x1ce",
    "JSON\ntouch pwned-heredoc\nJSON",
    # a PEP 263 encoding declaration, if it reached a Python snippet's first two lines, would decode what follows
    # ("+ACI-" is a quote in UTF-7; unicode_escape turns the literals' \\n escapes back into newlines)
    "a -*- coding: utf-7 -*- +ACI-; __import__('os').system('touch pwned-enc'); +ACI-",
    "a # coding: unicode_escape",
]
HOSTILE_IDS = [f"hostile{i}" for i in range(len(HOSTILE))]
# A stand-in for @fal-ai/client: records what the snippet asks of it, so running the snippet shows every statement.
STUB_FAL_CLIENT = """import { writeFileSync } from "node:fs";
export const fal = {
  config(options) { writeFileSync("config.json", JSON.stringify(Object.keys(options))); },
  async subscribe(endpoint, options) {
    writeFileSync("subscribe.json", JSON.stringify({ endpoint, input: options.input, headers: options.headers }));
    return { data: { ok: true }, requestId: "stub" };
  },
};
"""
# A stand-in for curl: logs its argv and standard input, answers as the fal queue and Segmind would.
STUB_CURL = """import json, os, sys
args = sys.argv[1:]
data = sys.stdin.read() if "@-" in args else None
with open(os.environ["CURL_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({"argv": args, "stdin": data}) + "\\n")
answer = json.dumps({"status_url": "http://s.test/s", "response_url": "http://s.test/r", "request_id": "r1",
                     "status": "COMPLETED"})
if "-o" in args:
    with open(args[args.index("-o") + 1], "w", encoding="utf-8") as out:
        out.write(answer)
else:
    print(answer)
"""


def dotted(node: ast.expr) -> str:
    """``os.system`` for ``os.system``; ``<expr>.read_bytes`` for ``Path("x.png").read_bytes``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return "<expr>"


def python_shape(code: str) -> tuple[set[str], set[str]]:
    """The calls (as written: ``fal_client.subscribe``) and the imported modules of a snippet; it must parse."""
    tree = ast.parse(code.encode("utf-8"))  # as Python reads a file: bytes, decoded as its first lines declare
    compile(tree, "run.py", "exec")
    calls = {dotted(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imports |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return calls, imports


def check_python(code: str, benign: str) -> None:
    """The snippet parses, and calls and imports exactly what the same snippet for a harmless record does."""
    assert python_shape(code) == python_shape(benign), "the Python snippet gained a call or an import"
    assert "os.system" not in python_shape(code)[0]


def call_arguments(code: str, method: str) -> dict[int | str | None, Any]:
    """The literal arguments of the snippet's ``.method(...)`` call: positional by index, ``**{...}`` as None."""
    call = next(n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)
                and getattr(n.func, "attr", "") == method)
    named: list[tuple[int | str | None, ast.expr]] = [*enumerate(call.args), *((k.arg, k.value) for k in call.keywords)]
    arguments: dict[int | str | None, Any] = {}
    for name, node in named:
        try:
            arguments[name] = ast.literal_eval(node)
        except ValueError:
            continue  # not a literal (a callback, headers read from the environment, files read from disk)
    return arguments


def check_javascript(code: str, folder: Path, endpoint: str, body: dict[str, Any]) -> None:
    """``node --check`` passes; run against a stand-in client, the snippet sends exactly ``body`` and nothing runs."""
    needs("node")
    package = folder / "node_modules" / "@fal-ai" / "client"
    package.mkdir(parents=True)
    (package / "package.json").write_text('{"name": "@fal-ai/client", "type": "module", "main": "index.js"}')
    (package / "index.js").write_text(STUB_FAL_CLIENT)
    (folder / "run.mjs").write_text(code, encoding="utf-8")
    subprocess.run(["node", "--check", "run.mjs"], cwd=folder, check=True, timeout=TIMEOUT, capture_output=True)
    run(["node", "run.mjs"], folder, FAL_KEY_ENV)
    sent = json.loads((folder / "subscribe.json").read_text(encoding="utf-8"))
    assert sent["endpoint"] == endpoint and sent["input"] == body
    assert_untouched(folder)


def shell_words(code: str, command: str, stop: tuple[str, ...]) -> list[str]:
    """The words of the script's command starting ``command``, as a POSIX shell splits them, up to a ``stop``."""
    lexer = shlex.shlex(code[code.index("\n" + command) + 1:], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words: list[str] = []
    for word in lexer:
        if word in stop:
            return words
        if word != "\n":  # shlex keeps a backslash-newline continuation as a word of its own
            words.append(word)
    raise AssertionError(f"no {stop} after {command}")


def run_shell(code: str, folder: Path, keys: dict[str, str]) -> list[dict[str, Any]]:
    """``bash -n`` passes; run by ``sh`` with a stand-in curl, the curl calls (argv, stdin) it made."""
    needs("sh", "bash", "jq")
    folder.mkdir(exist_ok=True)
    (folder / "run.sh").write_text(code, encoding="utf-8")
    subprocess.run(["bash", "-n", "run.sh"], cwd=folder, check=True, timeout=TIMEOUT, capture_output=True)
    stubs = folder / "stubs"
    stubs.mkdir()
    (stubs / "curl").write_text(f"#!{sys.executable}\n{STUB_CURL}", encoding="utf-8")
    (stubs / "curl").chmod(0o755)
    env = {**keys, "CURL_LOG": str(folder / "curl.log"), "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}"}
    run(["sh", "run.sh"], folder, env)
    assert_untouched(folder)
    return [json.loads(line) for line in (folder / "curl.log").read_text(encoding="utf-8").splitlines()]


def i2i_request(text: str, endpoint: str = "fal-ai/flux/dev/image-to-image", *,
                field: str = "image_url") -> PreparedRequest:
    """A fal request with ``text`` in the prompt, in an upload's field name and in its URL (as a forged record
    could carry them past anything but ``code_for``'s check)."""
    url = "http://127.0.0.1:9/cdn/" + text
    return PreparedRequest(provider="fal", endpoint_id=endpoint, method="POST",
                           url=f"http://127.0.0.1:9/queue/{endpoint}", headers={"Authorization": "Key <redacted>"},
                           body_kind="json", body={"prompt": text, "image_url": url}, uploads={field: url})


@pytest.mark.parametrize("text", HOSTILE, ids=HOSTILE_IDS)
def test_the_fal_writers_keep_hostile_names_and_values_as_text(text, tmp_path):
    """Even past the record check (the writers called directly), a name or value is never code: as the
    issue's record did, with a newline in an upload's field name, and in the endpoint id, prompt and URLs."""
    from runs.codegen import fal_javascript, fal_python

    endpoint = "fal-ai/" + text
    request = i2i_request(text, endpoint, field=text)
    benign = i2i_request("a", "fal-ai/a", field="a")
    code = fal_python(request)
    check_python(code, fal_python(benign))
    assert call_arguments(code, "subscribe") == {0: endpoint, "arguments": request.body, "with_logs": True}
    check_javascript(fal_javascript(request), tmp_path / "js", endpoint, request.body)
    if "\0" in text:  # no shell argument can carry a NUL: refused by name
        with pytest.raises(ValueError, match="the endpoint id holds a NUL"):
            fal_curl(request)
        return
    calls = run_shell(fal_curl(request), tmp_path / "sh", FAL_KEY_ENV)
    submit = [*calls[0]["argv"]]
    submit[submit.index("-o") + 1] = "$tmp"
    expected = ["-sS", "--fail-with-body", "-X", "POST", f"http://127.0.0.1:9/queue/{endpoint}",
                "-H", "Authorization: Key sandbox-key", "-H", "Content-Type: application/json",
                "--data-binary", "@-", "-o", "$tmp"]
    assert submit == expected and json.loads(calls[0]["stdin"]) == request.body
    words = shell_words(fal_curl(request), "curl -sS --fail-with-body -X POST", ("<<",))
    assert words == ["curl", "-sS", "--fail-with-body", "-X", "POST", f"$QUEUE/{endpoint}",
                     "-H", "Authorization: Key $FAL_KEY", "-H", "Content-Type: application/json",
                     "--data-binary", "@-", "-o", "$tmp"]


def segmind_request(text: str, *, files: bool) -> PreparedRequest:
    url = "http://127.0.0.1:9/v1/flux-depth-pro?" + text
    body = {"prompt": text, "seed": "7", "output_format": "png"} if files else {"prompt": text, "seed": 7,
                                                                                 "control_image": url}
    parts = (FilePart(text, text + ".png", "image/png", 3, "ab" * 32),) if files else ()
    return PreparedRequest(provider="segmind", endpoint_id="flux-depth-pro", method="POST", url=url,
                           headers={"x-api-key": "<redacted>"}, body_kind="multipart" if files else "json",
                           body=body, files=parts)


@pytest.mark.parametrize("text", HOSTILE, ids=HOSTILE_IDS)
def test_the_segmind_writers_keep_hostile_names_and_values_as_text(text, tmp_path):
    from runs.codegen import local_file_name, segmind_curl, segmind_python

    for files in (False, True):
        request = segmind_request(text, files=files)
        code = segmind_python(request)
        check_python(code, segmind_python(segmind_request("a", files=files)))
        sent = call_arguments(code, "post")
        assert sent[0] == request.url and sent["data" if files else "json"] == request.body
    if "\0" in text:  # no shell argument can carry a NUL: the cURL script is refused, by name
        with pytest.raises(ValueError, match="the request URL holds a NUL"):
            segmind_curl(segmind_request(text, files=False))
        return
    request = segmind_request(text, files=False)
    folder = tmp_path / "json"
    folder.mkdir()
    (call,) = run_shell(segmind_curl(request), folder, SEGMIND_KEY_ENV)
    assert call["argv"][:8] == ["-sS", "--fail-with-body", "-X", "POST", request.url, "-H",
                                "x-api-key: sandbox-key", "-H"]
    assert json.loads(call["stdin"]) == request.body
    # multipart: a file part's name that curl's -F could misread is refused; a harmless one goes as one argument
    with pytest.raises(ValueError, match="multipart field name"):
        segmind_curl(segmind_request(text, files=True))
    request = replace(segmind_request(text, files=True), files=(control_part(b"png", text + ".png"),))
    code = segmind_curl(request)
    form = [f"prompt={text}", "seed=7", "output_format=png"]
    expected = ["-sS", "--fail-with-body", "-X", "POST", request.url, "-H", "x-api-key: sandbox-key",
                *(w for f in form for w in ("--form-string", f)),
                "-F", f"control_image=@{local_file_name(request.files[0])};type=image/png", "-D", "-", "-o", "out.png"]
    words = ["curl", *(w.replace("sandbox-key", "$SEGMIND_API_KEY") for w in expected)]
    if not text.isprintable():  # no raw line break or control in the script: printf spells it into a variable
        words[words.index(f"prompt={text}")] = "prompt=$form_1"
        form_lines = code[code.index("  --form-string"):].splitlines()
        assert all(line.isprintable() for line in form_lines) and len(form_lines) == 5
    assert shell_words(code, "curl -sS", ("||",)) == words
    folder = tmp_path / "multipart"
    folder.mkdir()
    (call,) = run_shell(code, folder, {**SEGMIND_KEY_ENV})
    assert call["argv"] == expected


@pytest.mark.parametrize("text", HOSTILE, ids=HOSTILE_IDS)
def test_gradio_client_keeps_hostile_names_and_values_as_text(text):
    spec = get_endpoint("flux-depth-pro")
    record = segmind_record("https://api.segmind.com/v1/flux-depth-pro", segmind_body(None),
                            files=(FilePart(text, "c.png", "image/png", 3, "ab" * 32),))
    record = replace(record, input={"prompt": text, text: text, "control_image": text})

    def code(r: RunRecord) -> str:
        return gradio_client_code(r, "http://app.test/" + text)

    benign = replace(record, input={"prompt": "a", "b": "a", "control_image": "a"},
                     request=replace(record.request, files=(FilePart("a", "c.png", "image/png", 3, "ab" * 32),)))
    check_python(code(record), code(benign))
    sent = call_arguments(code(record), "predict")
    assert sent["prompt"] == text and sent[None] == {text: text} and sent["api_name"] == f"/{spec.api_name}"


@pytest.mark.parametrize("text", HOSTILE, ids=HOSTILE_IDS)
def test_hostile_values_a_record_may_hold_stay_literals_in_every_snippet(text, tmp_path):
    """Through ``code_for``: a record that passes the check, with hostile text in the prompt, gives snippets of
    every kind (fal Python/JS/cURL, Segmind Python/cURL JSON and multipart, gradio_client) that only send it."""
    fal = fal_record("http://127.0.0.1:9/queue/fal-ai/flux-pro", {**fal_body(), "prompt": text})
    code = code_for(fal, app_url="http://app.test/")
    assert_printable(code)
    benign = code_for(fal_record("http://127.0.0.1:9/queue/fal-ai/flux-pro", fal_body()), app_url="http://app.test/")
    check_python(code["python"], benign["python"])
    check_python(code["gradio_client"], benign["gradio_client"])
    assert subscribe_arguments(code["python"]) == fal.request.body
    assert call_arguments(code["gradio_client"], "predict")["prompt"] == text
    check_javascript(code["javascript"], tmp_path / "js", "fal-ai/flux-pro", fal.request.body)
    calls = run_shell(code["curl"], tmp_path / "sh", FAL_KEY_ENV)
    assert json.loads(calls[0]["stdin"])["prompt"] == text
    for files in ((), (control_part(png()),)):
        segmind = segmind_record("http://127.0.0.1:9/v1/flux-depth-pro",
                                 {**segmind_body(None if files else "https://x.test/c.png"), "prompt": text},
                                 files=files)
        if files and "\0" in text:
            with pytest.raises(ValueError, match="'prompt' holds a NUL"):
                code_for(segmind, app_url=None)
            continue
        code = code_for(segmind, app_url="http://app.test/")
        assert_printable(code)
        check_python(code["python"], code_for(replace(segmind, request=replace(
            segmind.request, body={**segmind.request.body, "prompt": "a"})), app_url=None)["python"])
        assert call_arguments(code["gradio_client"], "predict")["prompt"] == text
        folder = tmp_path / f"segmind{len(files)}"
        folder.mkdir()
        (folder / "my_control_1.png").write_bytes(png())
        (call,) = run_shell(code["curl"], folder, SEGMIND_KEY_ENV)
        assert (f"prompt={text}" in call["argv"]) if files else json.loads(call["stdin"])["prompt"] == text


def assert_printable(snippets: dict[str, str]) -> None:
    """No snippet holds a raw line terminator other than its own newlines, nor any other unprintable character."""
    for kind, text in snippets.items():
        assert all(line.isprintable() for line in text.split("\n")), kind


def forged(change: str) -> RunRecord:
    """A record as "Open image" could deliver it, forged in one place."""
    url = "http://127.0.0.1:9/cdn/a.png"
    record = fal_record("http://127.0.0.1:9/queue/fal-ai/flux/dev/image-to-image", {"prompt": "p", "image_url": url},
                        endpoint="fal-ai/flux/dev/image-to-image", uploads={"image_url": url})
    request = record.request
    key = "image_url\nimport os; os.system('touch pwned')\n#"
    changes: dict[str, RunRecord] = {
        "upload key": replace(record, request=replace(request, uploads={key: url})),
        "upload url": replace(record, request=replace(request, uploads={"image_url": url + "?x"})),
        "input key": replace(record, input={**record.input, key: 1}),
        "body key": replace(record, request=replace(request, body={**request.body, key: 1})),
        "input value": replace(record, input={**record.input, "seed": "1; os.system('x')"}),
        "body value": replace(record, request=replace(request, body={**request.body, "strength": 9})),
        "endpoint": replace(record, endpoint_id=key),
        "request endpoint": replace(record, request=replace(request, endpoint_id=key)),
        "url": replace(record, request=replace(request, url="file:///etc/passwd")),
        "url path": replace(record, request=replace(request, url="http://127.0.0.1:9/queue/fal-ai/flux-pro-ultra")),
        "url query": replace(record, request=replace(request, url=request.url + "?fal_webhook=https://x.test/")),
        "header name": replace(record, request=replace(request, headers={key: "1"})),
        "header value": replace(record, request=replace(request, headers={"X-A": "1\nimport os"})),
        "file part": replace(record, request=replace(request, body_kind="multipart", files=(
            FilePart(key, "a.png", "image/png", 3, "ab" * 32),))),
    }
    return changes[change]


REFUSALS = {
    "upload key": r"request\.uploads: \"image_url\\nimport os; os\.system\(",
    "upload url": r"request\.uploads: \"image_url\" is not a field of the body holding that URL",
    "input key": r"input: \"image_url\\nimport os; os\.system\(",
    "body key": r"request\.body: \"image_url\\nimport os; os\.system\(",
    "input value": r"input: \"seed\": Input should be a valid integer",
    "body value": r"request\.body: \"strength\": Input should be less than or equal to 1",
    "endpoint": r"endpoint_id: \"image_url\\nimport os; .* is not one of this app's endpoints",
    "request endpoint": r"request\.endpoint_id: \"image_url\\nimport os; .* is not fal-ai/flux/dev/image-to-image",
    "url": r"request\.url: \"file:///etc/passwd\" is not an http\(s\) URL",
    "url path": r"request\.url: \"http://127\.0\.0\.1:9/queue/fal-ai/flux-pro-ultra\" is not a request URL of",
    "url query": r"request\.url: \".*\?fal_.*\" is not a request URL of",
    "header name": r"request\.headers: \"image_url\\nimport os; .* is not a header name",
    "header value": r"request\.headers: the value of \"X-A\" is not printable text",
    "file part": r"request\.files: \"image_url\\nimport os; .* is not an image field",
}


@pytest.mark.parametrize("change", list(REFUSALS))
def test_a_forged_record_is_refused_by_field_before_any_code(change):
    """The issue's record (a newline and os.system in an upload's field name) and its kin: refused, naming the
    field on one line, for every caller (history "Code", a sweep cell's code) since ``code_for`` checks."""
    with pytest.raises(RecordRefused, match=REFUSALS[change]) as refused:
        code_for(forged(change), app_url="http://app.test/")
    assert "\n" not in str(refused.value)


def test_a_proto_key_is_sent_as_a_key_by_the_javascript_snippet(tmp_path):
    """A LoRA's per-layer scales are a free dictionary: a layer named ``__proto__`` is a property, not a prototype."""
    spec = get_endpoint("flux_general_rf_inversion")
    body = {**spec.example, "loras": [{"path": "https://x.test/l.safetensors", "scale": {"__proto__": 0.5, "b": 0.7}}]}
    record = fal_record(f"https://queue.fal.run/{spec.id}", body, endpoint=spec.id)
    check_javascript(code_for(record, app_url=None)["javascript"], tmp_path, spec.id, body)


def test_an_upload_inside_a_list_passes_the_check_and_is_named_as_a_literal():
    """A data: URI in a ControlNet row goes to fal storage under ``controlnets[0].control_image_url``: the check
    finds that URL at that place in the body, and the comments name both as literals."""
    spec = get_endpoint("flux_general_rf_inversion")
    url = "https://v3.fal.media/files/abc/control.png"
    body = {**spec.example, "controlnets": [{"path": "https://x.test/cn.safetensors", "control_image_url": url}]}
    where = "controlnets[0].control_image_url"
    record = fal_record(f"https://queue.fal.run/{spec.id}", body, endpoint=spec.id, uploads={where: url})
    code = code_for(record, app_url=None)
    assert f'"{where}" was uploaded to fal storage for this run: "{url}"' in code["javascript"]
    with pytest.raises(RecordRefused, match=r"request\.uploads: \"controlnets\[1\]\.control_image_url\""):
        code_for(replace(record, request=replace(record.request, uploads={"controlnets[1].control_image_url": url})),
                 app_url=None)


def test_a_run_that_sent_no_seed_gets_code_with_the_seed_the_provider_drew(sbx, tmp_path):
    """The form's seed left empty: the provider drew one. The code sets it (and says so), so it makes the same
    image; the record's request stays as it was sent."""
    body = {k: v for k, v in fal_body().items() if k != "seed"}
    record = replace(fal_record(f"{sbx.fal_queue_url}/fal-ai/flux-pro", body), result={"seed": 987654, "images": []})
    snippets = code_for(record, app_url="http://127.0.0.1:7860/")
    assert subscribe_arguments(snippets["python"])["seed"] == 987654
    assert '"seed": 987654' in snippets["javascript"] and '"seed": 987654' in snippets["curl"]
    assert "seed=987654" in snippets["gradio_client"]
    for key, code in snippets.items():
        assert "the provider drew 987654" in code, key
    assert "// The run sent no seed" in snippets["javascript"]
    assert record.request is not None and "seed" not in record.request.body  # the record is untouched
    (tmp_path / "run.py").write_text(snippets["python"], encoding="utf-8")
    result = json.loads(run([sys.executable, "run.py"], tmp_path, FAL_KEY_ENV).stdout)
    assert result["seed"] == 987654
    sent = code_for(fal_record(f"{sbx.fal_queue_url}/fal-ai/flux-pro", fal_body(42)), app_url=None)["python"]
    assert "provider drew" not in sent and subscribe_arguments(sent)["seed"] == 42
