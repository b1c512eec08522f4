"""What an anonymous visitor can send straight to Gradio's queue (``queue/join`` with any event's ``fn_index``, the
page's private events included), as a probe of the app did: no file of the server comes back, and no text field
makes the server open a file."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import SandboxOptions
from tests.app_support import app_client, launched_app

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def app():
    with launched_app(SandboxOptions(step_seconds=0.01, startup_seconds=0.01), env={"PLAYGROUND_CACHE": "1"}) as app:
        yield app


def fn_index(app, name: str) -> int:
    """The index of the first event whose function is ``name`` (every tab has one)."""
    for index, block_fn in app.demo.fns.items():
        fn = block_fn.fn
        if getattr(getattr(fn, "func", fn), "__name__", "") == name:
            return index
    raise AssertionError(f"no event runs {name}")


def join(app, index: int, data: list[Any], timeout: float = 30) -> dict[str, Any]:
    """One event through the queue, as any client can send it; its ``process_completed`` message."""
    session = uuid.uuid4().hex[:10]
    base = app.url.rstrip("/")
    with httpx.Client(timeout=timeout, trust_env=False) as http:
        joined = http.post(f"{base}/gradio_api/queue/join",
                           json={"fn_index": index, "session_hash": session, "data": data, "trigger_id": None})
        assert joined.status_code == 200, joined.text
        deadline = time.monotonic() + timeout
        with http.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session}) as stream:
            for line in stream.iter_lines():
                if time.monotonic() > deadline:
                    break
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        return message
    raise AssertionError("the event did not complete")


def test_a_sweeps_cells_from_outside_never_serve_a_server_file(app, tmp_path: Path):
    """The sweep's cell gallery took the image of a cell the page sent back as it came: a local path made Gradio
    copy that file into its cache and serve it (the probe read the app's source and its ledger this way)."""
    secret = Path.cwd() / f"probe-{uuid.uuid4().hex[:8]}.txt"
    secret.write_text("not for visitors")
    try:
        cell = {"record": json.dumps({"sweep": {"id": "nope", "x_index": 0, "y_index": 0}}), "x_index": 0,
                "y_index": 0, "state": "done", "result": {"images": [{"url": str(secret)}]}}
        message = join(app, fn_index(app, "page_views"), [[cell]])
        text = json.dumps(message)
        assert "process_completed" in text and secret.name not in text, text[:600]  # no copy named, none served
    finally:
        secret.unlink()


def test_no_text_field_makes_the_server_open_a_file(app, tmp_path: Path):
    """A seeded run's cache key hashed every absolute path it found, the prompt's too: ``/dev/zero`` kept a worker
    thread reading forever (six such runs left no thread for anyone), and any readable path answered whether a
    guessed ``sha256:`` was its content (the second run came from the cache). Each run ends as any run does, its
    prompt taken as text, and a guessed content is not the file's."""
    client = app_client(app.url)
    for prompt in ("/dev/zero", "/dev/zero", "/dev/urandom"):
        status, _, _, result = client.predict(prompt=prompt, seed=424242, num_inference_steps=2, api_name="/flux_pro")
        assert result["state"] == "done", status
    secret = tmp_path / "settings.py"
    secret.write_text("API_TOKEN = 'x'")
    named = {"prompt": str(secret), "seed": 424242, "num_inference_steps": 2, "api_name": "/flux_pro"}
    client.predict(**named)
    deadline = time.monotonic() + 10  # the entry is written after the run ends: the same request finds it
    while not client.predict(**named)[3].get("cached"):
        assert time.monotonic() < deadline, "the cache never served the same request: nothing here is tested"
    guess = "sha256:" + hashlib.sha256(secret.read_bytes()).hexdigest()
    _, _, _, guessed = client.predict(**{**named, "prompt": guess})
    assert not guessed.get("cached"), "the guess was served from the cache: the server read the file"


def test_a_crafted_history_entry_downloads_each_stored_image_once_and_a_huge_one_not_at_all(app, tmp_path: Path):
    """A probe's entry listed one stored image 50 times with a 2 MB prompt: 50 copies of 4 MB each were written
    (and copied again by Gradio), ~10 GB a request at 500. Each stored image is written once, at most a run's
    worth, and a record larger than any run's is refused."""
    import asyncio
    from types import SimpleNamespace

    from components.history_actions import download
    from components.history_files import LocalFiles
    from components.history_state import entry_of

    client = app_client(app.url)
    _, _, _, result = client.predict(prompt="a red bicycle", seed=5, num_inference_steps=2, output_format="png",
                                     api_name="/flux_pro")
    record = json.loads(result["record"])
    record["result"]["images"] = record["result"]["images"] * 50
    view = SimpleNamespace(ctx=app.ctx, files=LocalFiles(tmp_path))
    entry = entry_of(record)
    answer = asyncio.run(download(view, [entry], entry["id"]))
    assert len(answer.value) == 1, answer.value
    record["input"]["prompt"] = "A" * (2 * 1024 * 1024)
    entry = entry_of(record)
    with pytest.warns(UserWarning, match="too large"):
        answer = asyncio.run(download(view, [entry], entry["id"]))
    assert len([p for p in tmp_path.rglob("*.png") if p.name != "no-image.png"]) == 1  # the first download's
