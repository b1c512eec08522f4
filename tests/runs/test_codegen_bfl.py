"""Copy as code for Black Forest Labs: the Python and curl snippets run against the sandbox's BFL API, say
"moderated" plainly, target api.bfl.ai when made public, and never send the key to a polling URL on another host."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from providers.base import PreparedRequest
from runs.codegen import code_for
from runs.record import RunRecord
from sandbox import RunningSandbox, SandboxOptions, start_sandbox
from tests.runs.test_codegen import snippet_env

TIMEOUT = 60
SECRET = "bfl-SECRET-0123456789abcdef"
KEY_ENV = {"BFL_API_KEY": "sandbox-key"}
PROMPT = 'A lighthouse, "quoted" — it\'s $HOME `touch pwned` $(touch pwned2) ünï 🐯'


@pytest.fixture(scope="module")
def sbx() -> Iterator[RunningSandbox]:
    with start_sandbox(SandboxOptions(step_seconds=0.01, startup_seconds=0.0)) as running:
        yield running


def bfl_record(url: str, body: dict[str, Any], model: str = "flux-pro-1.1") -> RunRecord:
    request = PreparedRequest(
        provider="bfl", endpoint_id=model, method="POST", url=url,
        headers={"x-key": "<redacted>", "Content-Type": "application/json", "accept": "application/json"},
        body_kind="json", body=body, secret_headers={"x-key": SECRET},
    )
    return RunRecord(id="run-b", endpoint_id=model, api_name="bfl_" + model.replace("-", "_").replace(".", "_"),
                     provider="bfl", route="sandbox", input=dict(body), state="done", request=request)


def body(seed: int = 4321, prompt: str = PROMPT, **more: Any) -> dict[str, Any]:
    return {"prompt": prompt, "width": 256, "height": 256, "seed": seed, "output_format": "png", **more}


def run(command: list[str], cwd: Path, *, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=snippet_env(KEY_ENV), capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)
    if ok:
        assert done.returncode == 0, f"{command} failed ({done.returncode}):\n{done.stderr}\n{done.stdout}"
    return done


def direct(sbx: RunningSandbox, payload: dict[str, Any], model: str = "flux-pro-1.1") -> tuple[bytes, int]:
    """The image and seed the sandbox's BFL API gives for ``payload`` when asked directly."""
    with httpx.Client(timeout=TIMEOUT) as client:
        task = client.post(f"{sbx.bfl_api_url}/v1/{model}", json=payload, headers={"x-key": "k"}).json()
        for _ in range(400):
            status = client.get(task["polling_url"], headers={"x-key": "k"}).json()
            if status["status"] == "Ready":
                return client.get(status["result"]["sample"]).content, status["result"]["seed"]
            threading.Event().wait(0.05)
    raise AssertionError("the sandbox task never became Ready")


def run_both(code: dict[str, str], folder: Path, files: dict[str, bytes] | None = None) -> tuple[str, str | None, Path]:
    """Run the Python snippet, then (with curl and jq at hand) the shell one, each in a folder of its own (``py``,
    ``sh``) holding ``files``: Python's stdout, sh's stderr (None when not run), and ``folder``."""
    outputs: dict[str, str] = {}
    for kind, script, command in (("py", "run.py", [sys.executable, "run.py"]), ("sh", "run.sh", ["sh", "run.sh"])):
        if kind == "sh" and not (shutil.which("curl") and shutil.which("jq")):
            continue
        work = folder / kind
        work.mkdir()
        for name, data in (files or {}).items():
            (work / name).write_bytes(data)
        (work / script).write_text(code["python" if kind == "py" else "curl"], encoding="utf-8")
        done = run(command, work)
        outputs[kind] = done.stdout if kind == "py" else done.stderr
    return outputs["py"], outputs.get("sh"), folder


def test_python_and_curl_snippets_run_against_the_sandbox_and_save_the_image(sbx, tmp_path):
    expected, seed = direct(sbx, body())
    code = code_for(bfl_record(f"{sbx.bfl_api_url}/v1/flux-pro-1.1", body()), app_url=None)
    assert set(code) == {"python", "curl"}
    assert SECRET not in json.dumps(code) and "went to" in code["python"]
    py_out, sh_err, folder = run_both(code, tmp_path)
    assert f"seed {seed}" in py_out and (folder / "py" / "out.png").read_bytes() == expected
    if sh_err is not None:
        assert f"seed {seed}" in sh_err and (folder / "sh" / "out.png").read_bytes() == expected
        assert not list((folder / "sh").glob("pwned*")), "a shell expansion in the prompt ran"


def test_a_moderated_prompt_is_said_plainly_by_both_snippets(sbx, tmp_path):
    record = bfl_record(f"{sbx.bfl_api_url}/v1/flux-pro-1.1", body(prompt="an explicit scene", safety_tolerance=0))
    code = code_for(record, app_url=None)
    (tmp_path / "run.py").write_text(code["python"], encoding="utf-8")
    done = run([sys.executable, "run.py"], tmp_path, ok=False)
    assert done.returncode != 0 and "moderated (Request Moderated)" in done.stderr
    if shutil.which("curl") and shutil.which("jq"):
        (tmp_path / "run.sh").write_text(code["curl"], encoding="utf-8")
        done = run(["sh", "run.sh"], tmp_path, ok=False)
        assert done.returncode != 0 and "moderated (Request Moderated)" in done.stderr
    assert not list(tmp_path.glob("out.*"))


def test_public_code_targets_api_bfl_ai_and_its_comment_followed_runs_on_the_sandbox(sbx, tmp_path):
    code = code_for(bfl_record(f"{sbx.bfl_api_url}/v1/flux-pro-1.1", body(seed=99)), app_url=None, public=True)
    port = sbx.url.rsplit(":", 1)[1].strip("/")
    for language, text in code.items():
        assert port not in text and "went to" not in text, language
        assert "https://api.bfl.ai" in text and "python -m sandbox --port 8765" in text and "BFL_API_URL" in text
    assert "API = 'https://api.bfl.ai'" in code["python"] or 'API = "https://api.bfl.ai"' in code["python"]
    followed = code["python"].replace('"https://api.bfl.ai"', repr(sbx.bfl_api_url)).replace(
        "'https://api.bfl.ai'", repr(sbx.bfl_api_url))
    (tmp_path / "run.py").write_text(followed, encoding="utf-8")
    assert "seed 99" in run([sys.executable, "run.py"], tmp_path).stdout


class _Recorder(BaseHTTPRequestHandler):
    """A stub BFL whose polling URL is on another host: both record the headers they receive."""

    seen: list[tuple[str, str | None]]
    poll_base: str

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append((self.path, self.headers.get("x-key")))
        self._send(200, {"id": "t1", "polling_url": f"{self.poll_base}/poll?id=t1"})

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("x-key")))
        if self.path.startswith("/poll"):
            self._send(200, {"id": "t1", "status": "Ready",
                             "result": {"sample": f"{self.poll_base}/img.png", "seed": 5}})
        else:
            self._send(200, b"\x89PNG fake", "image/png")


@pytest.fixture
def split_hosts() -> Iterator[tuple[str, list[tuple[str, str | None]], list[tuple[str, str | None]]]]:
    api_seen: list[tuple[str, str | None]] = []
    poll_seen: list[tuple[str, str | None]] = []
    poll = ThreadingHTTPServer(("127.0.0.1", 0), type("Poll", (_Recorder,), {"seen": poll_seen}))
    poll_base = f"http://127.0.0.1:{poll.server_address[1]}"
    api = ThreadingHTTPServer(("127.0.0.1", 0), type("Api", (_Recorder,), {"seen": api_seen, "poll_base": poll_base}))
    poll.RequestHandlerClass.poll_base = poll_base  # type: ignore[attr-defined]
    servers = [api, poll]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{api.server_address[1]}", api_seen, poll_seen
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_polling_url_on_another_host_never_gets_the_key(split_hosts, tmp_path):
    api, api_seen, poll_seen = split_hosts
    code = code_for(bfl_record(f"{api}/v1/flux-pro-1.1", body()), app_url=None)
    (tmp_path / "run.py").write_text(code["python"], encoding="utf-8")
    run([sys.executable, "run.py"], tmp_path)
    if shutil.which("curl") and shutil.which("jq"):
        (tmp_path / "run.sh").write_text(code["curl"], encoding="utf-8")
        run(["sh", "run.sh"], tmp_path)
    assert api_seen and all(key == "sandbox-key" for _, key in api_seen)
    assert poll_seen and all(key is None for _, key in poll_seen), poll_seen


async def test_a_run_that_sent_an_uploaded_image_gives_code_that_sends_that_file(sbx, tmp_path):
    """The record keeps the file's description, not its bytes; the code reads the file put beside it and sends it
    as BFL takes it (plain base64), so the snippet reproduces the run exactly."""
    import base64

    from PIL import Image

    from endpoints import get_endpoint
    from providers.base import Credentials
    from providers.bfl import BflProvider
    from runs.codegen import local_file_name

    uploads = tmp_path / "uploads"
    uploads.mkdir()
    source = uploads / "my photo.png"
    Image.effect_noise((96, 96), 60).convert("RGB").save(source)
    spec = get_endpoint("bfl_flux_kontext_pro")
    values = {"prompt": "make it a watercolor", "input_image": str(source), "seed": 77, "output_format": "png"}
    provider = BflProvider(httpx.AsyncClient(), api_url=sbx.bfl_api_url, local_file_roots=(uploads,),
                           credentials=Credentials("k"))
    try:
        prepared = await provider.prepare(spec, spec.input_model.model_validate(values), None)
    finally:
        await provider.aclose()
    record = RunRecord(id="run-f", endpoint_id=spec.id, api_name=spec.api_name, provider="bfl", route="sandbox",
                       input={**values, "input_image": "the uploaded image"}, state="done", request=prepared)
    code = code_for(RunRecord.from_json(record.to_json()), app_url=None)
    inline = base64.b64encode(source.read_bytes()).decode("ascii")
    expected, seed = direct(sbx, {k: v for k, v in values.items() if k != "input_image"} | {"input_image": inline},
                            model=spec.id)
    name = local_file_name(prepared.files[0])
    assert name in code["python"] and name in code["curl"] and inline[:40] not in json.dumps(code)
    py_out, sh_err, folder = run_both(code, tmp_path, {name: source.read_bytes()})
    assert f"seed {seed}" in py_out and (folder / "py" / "out.png").read_bytes() == expected
    if sh_err is not None:
        assert f"seed {seed}" in sh_err and (folder / "sh" / "out.png").read_bytes() == expected
