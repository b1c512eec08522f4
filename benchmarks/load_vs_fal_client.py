"""Print, for 1, 25 and 50 concurrent visitors, the wall time of a run through the app (``gradio_client`` on
``/flux_pro``) against the official ``fal_client`` (``AsyncClient.subscribe``) on the same sandbox and job.

    python benchmarks/load_vs_fal_client.py [--visitors 1,25,50] [--rounds 2] [--steps 10] [--step-seconds 0.12]
                                            [--startup-seconds 0.3] [--profile 50]

Goal (issue "Many visitors, hostile input and faults"): at 25 and 50 visitors the app's median run within 1.25x
of the official client's, with 0 errors and 0 cross-talk. Printed, never asserted.

How the comparison is kept fair:

- one sandbox process serves both (capacity >= visitors, so nobody waits in its queue), with a fixed job time:
  ``startup_seconds + steps * step_seconds`` (1.5 s by default) and the same 256x192 JPEG per run;
- both sides send the same input to ``fal-ai/flux-pro`` (distinct prompt and seed per visitor); a run lasts
  until its visitor has the image: ``fal_client``'s visitor then loads the result URL from the sandbox's CDN,
  ``app_raw``'s (a page: ``x-gradio-user: app``) its gallery URL, ``/media/<name>``, which waits for the app's
  copy of the image (made off the critical path, as for a live fal run); ``app_gc`` is an API caller
  (``download_files=False``), whose result comes once the app has stored the image;
- the load comes from a separate client process for both sides; the sandbox runs in a third process; the app
  runs in this one, so this process's CPU time during an app phase is the app's own (the orchestrating thread
  only waits on a pipe); the CPU time of the client and sandbox processes is printed too;
- each round runs the official client and the app one after the other, alternating which goes first.

``overhead`` is a run's wall time minus the job's time as the sandbox reports it (``timings.inference``).
Cross-talk: a run whose result (seed, prompt), log lines (``seed N``) or request id / image is not its own.
With ``--profile N`` the app phase at N visitors runs under yappi (if installed) and the top functions by total
time in the app process are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    ROOT,
    cpu_seconds,
    launched_app,
    machine_cpu_seconds,
    median,
    percentile,
    rss_kib,
    sandbox_process,
    visitor_headers,
)

ENDPOINT = "fal-ai/flux-pro"
API_NAME = "/flux_pro"
RUN_TIMEOUT = 120.0  # one run, either side
PHASE_TIMEOUT = 300.0  # one batch of concurrent runs
PROTOCOL = "@@ "  # the worker's reply lines start with this


def run_input(steps: int, width: int, height: int, seed: int, prompt: str) -> dict[str, Any]:
    """The same wire input for both sides (the app's form defaults, made explicit)."""
    return {
        "prompt": prompt,
        "image_size": {"width": width, "height": height},
        "num_inference_steps": steps,
        "seed": seed,
        "guidance_scale": 3.5,
        "num_images": 1,
        "safety_tolerance": "2",
        "output_format": "jpeg",
    }


# ============================================================================================ client worker
# Runs in its own process: ``python benchmarks/load_vs_fal_client.py --worker``. Reads one JSON command per line
# on stdin, answers one ``@@ {json}`` line on stdout.


#: What the page's JavaScript client sends with every ``queue/join`` (Gradio's ``client.ts``: ``submit(..., {"x-gradio-user":
#: "app"})``; ``gradio_client`` sends ``api``). The app answers its page as it answers a visitor (the gallery shows
#: ``/media/<name>``) and an API caller with stored files, so a client "speaking the protocol as the page does" says it.
PAGE_HEADERS = {"x-gradio-user": "app"}


def _gallery_url(gallery: Any) -> str | None:
    """The first gallery image's URL as the page receives it (what the visitor's browser then loads)."""
    if not isinstance(gallery, list) or not gallery or not isinstance(gallery[0], dict):
        return None
    image = gallery[0].get("image") or {}
    return image.get("url") if isinstance(image, dict) else None


async def _load_shown(http: Any, base_url: str, shown: str | None) -> str | None:
    """Load the image a run shows its visitor (the app's gallery URL, ``/media/<name>``, which waits for its copy;
    the peer's and direct's result URL on the sandbox's CDN); what was wrong, or None."""
    import httpx

    if not shown:
        return "no image shown"
    try:
        resp = await http.get(urljoin(base_url, shown))
    except httpx.HTTPError as exc:
        return f"image shown is not served ({type(exc).__name__})"
    kind = resp.headers.get("content-type", "")
    if resp.status_code != 200 or not kind.startswith("image/") or not resp.content:
        return f"image shown is not served ({resp.status_code} {kind})"
    return None


def _check(result: Any, seed: int, prompt: str) -> list[str]:
    problems = []
    if not isinstance(result, dict):
        return [f"result is {type(result).__name__}"]
    if result.get("seed") != seed:
        problems.append(f"seed {result.get('seed')} != {seed}")
    if result.get("prompt") != prompt:
        problems.append("prompt differs")
    if not result.get("images"):
        problems.append("no images")
    return problems


def _app_outcome(result: Any, logs: str | None, seed: int, prompt: str) -> dict[str, Any]:
    """A finished app run's fields: its cross-talk problems (result, logs, state), inference time, request, image."""
    problems = _check(result, seed, prompt)
    if f"seed {seed}" not in (logs or ""):
        problems.append("logs are not this run's")
    if isinstance(result, dict) and result.get("state") != "done":
        problems.append(f"state {result.get('state')}")
    result = result if isinstance(result, dict) else {}
    images = result.get("images") or [{}]
    return {"crosstalk": problems, "inference": (result.get("timings") or {}).get("inference"),
            "request_id": result.get("request_id"), "image": images[0].get("url")}


async def _fal_batch(cmd: dict[str, Any]) -> list[dict[str, Any]]:
    import fal_client
    import httpx
    from fal_client import client as fal_module

    fal_module.QUEUE_URL_FORMAT = f"{cmd['queue_url']}/"
    fal_module.REST_URL = cmd["rest_url"]
    fal_module.CDN_URL = cmd["cdn_url"]
    client = fal_client.AsyncClient(key="benchmark:sandbox")
    loader = httpx.AsyncClient(timeout=httpx.Timeout(RUN_TIMEOUT), trust_env=False)
    start = asyncio.Event()

    async def one(i: int) -> dict[str, Any]:
        seed, prompt = cmd["seed0"] + i, f"{cmd['tag']} visitor {i} {secrets.token_hex(4)}"
        args = run_input(cmd["steps"], cmd["width"], cmd["height"], seed, prompt)
        await start.wait()
        began = time.time()
        out: dict[str, Any] = {"i": i, "prompt": prompt, "t0": began}
        try:
            result = await asyncio.wait_for(client.subscribe(ENDPOINT, arguments=args), RUN_TIMEOUT)
        except BaseException as exc:  # noqa: BLE001 - counted as an error
            out.update(t1=time.time(), error=f"{type(exc).__name__}: {str(exc)[:200]}")
            return out
        out.update(crosstalk=_check(result, seed, prompt), inference=(result.get("timings") or {}).get("inference"),
                   request_id=None, image=(result.get("images") or [{}])[0].get("url"))
        if problem := await _load_shown(loader, "", out["image"]):  # the image, as the visitor's browser loads it
            out["crosstalk"].append(problem)
        out["t1"] = time.time()
        return out

    tasks = [asyncio.ensure_future(one(i)) for i in range(cmd["n"])]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.gather(*tasks)
    await loader.aclose()
    with_client = await client._client  # close the pooled connections between batches
    await with_client.aclose()
    del client.__dict__["_client"]
    return list(results)


class _Visitors:
    """One ``gradio_client.Client`` per visitor (a distinct client address each), kept across batches."""

    def __init__(self) -> None:
        self.clients: dict[int, Any] = {}
        self.url = ""

    def ensure(self, url: str, n: int) -> float:
        from gradio_client import Client

        if url != self.url:
            self.clients.clear()
            self.url = url
        began = time.monotonic()
        missing = [i for i in range(n) if i not in self.clients]
        errors: list[BaseException] = []

        def make(i: int) -> None:
            try:
                self.clients[i] = Client(url, verbose=False, headers=visitor_headers(i), download_files=False,
                                         analytics_enabled=False)
            except BaseException as exc:  # noqa: BLE001 - collected, then raised by the caller
                errors.append(exc)

        for chunk in range(0, len(missing), 10):
            threads = [threading.Thread(target=make, args=(i,)) for i in missing[chunk:chunk + 10]]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        if errors:
            raise errors[0]
        return time.monotonic() - began


VISITORS = _Visitors()


def _app_batch(cmd: dict[str, Any]) -> list[dict[str, Any]]:
    n = cmd["n"]
    VISITORS.ensure(cmd["app_url"], n)
    barrier = threading.Barrier(n)
    results: list[dict[str, Any]] = [{} for _ in range(n)]

    def one(i: int) -> None:
        client = VISITORS.clients[i]
        seed, prompt = cmd["seed0"] + i, f"{cmd['tag']} visitor {i} {secrets.token_hex(4)}"
        args = run_input(cmd["steps"], cmd["width"], cmd["height"], seed, prompt)
        out: dict[str, Any] = {"i": i, "prompt": prompt}
        try:
            barrier.wait(60)
        except threading.BrokenBarrierError:
            pass
        out["t0"] = time.time()
        job = None
        try:
            job = client.submit(api_name=API_NAME, **args)
            _status, logs, _gallery, result = job.result(timeout=RUN_TIMEOUT)
        except BaseException as exc:  # noqa: BLE001 - counted as an error
            out.update(t1=time.time(), error=f"{type(exc).__name__}: {str(exc)[:200]}")
            if job is not None:
                job.cancel()
            results[i] = out
            return
        out["t1"] = time.time()
        out.update(_app_outcome(result, logs, seed, prompt))
        results[i] = out

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + PHASE_TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    for i, out in enumerate(results):
        if "t1" not in out:
            out.update(i=i, t0=out.get("t0", time.time()), t1=time.time(), error="did not finish in time")
    return results


RAW_SESSIONS: dict[tuple[str, int], str] = {}  # (app URL, visitor) -> session hash, kept across batches


async def _raw_batch(cmd: dict[str, Any]) -> list[dict[str, Any]]:
    """Visitors speaking Gradio's queue protocol directly, as the page's JavaScript does: POST queue/join, then
    read the session's queue/data event stream until ``process_completed``. All in one event loop and one pooled
    HTTP client, so the client side costs little and the app's own time shows."""
    import httpx

    n = cmd["n"]
    info = _endpoint_info(cmd["app_url"], API_NAME)
    endpoint = info[1]
    start = asyncio.Event()
    limits = httpx.Limits(max_connections=4 * n + 10, max_keepalive_connections=2 * n + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(RUN_TIMEOUT), limits=limits, trust_env=False) as http:

        async def one(i: int) -> dict[str, Any]:
            seed, prompt = cmd["seed0"] + i, f"{cmd['tag']} visitor {i} {secrets.token_hex(4)}"
            wanted = run_input(cmd["steps"], cmd["width"], cmd["height"], seed, prompt)
            data = _queue_data(endpoint, wanted)
            if cmd.get("fresh_sessions"):  # the visitor reloads the page: a new Gradio session
                RAW_SESSIONS.pop((cmd["app_url"], i), None)
            session = RAW_SESSIONS.setdefault((cmd["app_url"], i), secrets.token_hex(6))  # one page per visitor
            headers = visitor_headers(i)
            out: dict[str, Any] = {"i": i, "prompt": prompt}
            await start.wait()
            out["t0"] = time.time()
            try:
                (_status, logs, gallery, result), updates = await _queue_run(http, info, session, headers, data)
                out.update(_app_outcome(result, logs, seed, prompt), updates=updates)
                if problem := await _load_shown(http, cmd["app_url"], _gallery_url(gallery)):  # as the page does
                    out["crosstalk"].append(problem)
            except BaseException as exc:  # noqa: BLE001 - counted as an error
                out.update(t1=time.time(), error=f"{type(exc).__name__}: {str(exc)[:200]}")
                return out
            out["t1"] = time.time()
            return out

        tasks = [asyncio.ensure_future(asyncio.wait_for(one(i), PHASE_TIMEOUT)) for i in range(n)]
        await asyncio.sleep(0)
        start.set()
        return list(await asyncio.gather(*tasks))


ENDPOINT_INFO: dict[tuple[str, str], tuple[int, Any, str, str]] = {}  # (URL, api name) -> _endpoint_info's answer


def _endpoint_info(url: str, api_name: str) -> tuple[int, Any, str, str]:
    """(fn_index, gradio_client endpoint, join URL, stream URL) of ``api_name`` on the Gradio app at ``url``."""
    if (url, api_name) not in ENDPOINT_INFO:
        from gradio_client import Client

        client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
        fn_index = client._infer_fn_index(api_name, None)
        ENDPOINT_INFO[url, api_name] = (fn_index, client.endpoints[fn_index], client.sse_data_url, client.sse_url)
    return ENDPOINT_INFO[url, api_name]


def _queue_data(endpoint: Any, wanted: dict[str, Any]) -> list[Any]:
    """The event's data list exactly as gradio_client builds it (parameter order, defaults, State slots)."""
    from gradio_client import utils as client_utils

    return list(endpoint.insert_empty_state(*client_utils.construct_args(endpoint.parameters_info, (), wanted)))


async def _queue_run(http: Any, info: tuple[int, Any, str, str], session: str, headers: dict[str, str],
                     data: list[Any]) -> tuple[list[Any], int]:
    """One event through Gradio's queue protocol, as the page sends it: POST queue/join, then the session's
    queue/data event stream until ``process_completed``. Returns the output data and the streamed updates."""
    fn_index, _endpoint, join_url, stream_url = info
    joined = await http.post(join_url, headers={**headers, **PAGE_HEADERS}, json={
        "data": data, "event_data": None, "fn_index": fn_index, "trigger_id": None, "session_hash": session})
    joined.raise_for_status()
    event_id = joined.json()["event_id"]
    updates = 0
    async with http.stream("GET", stream_url, params={"session_hash": session}, headers=headers) as resp:
        async for line in resp.aiter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            if msg.get("event_id") != event_id:
                continue
            if msg.get("msg") == "process_generating":
                updates += 1
            elif msg.get("msg") == "process_completed":
                if not msg.get("success", True):
                    raise RuntimeError(f"app error: {str(msg.get('output'))[:200]}")
                return [_value_of(item) for item in msg["output"]["data"]], updates
    raise RuntimeError("the event stream ended without process_completed")


def _value_of(output: Any) -> Any:
    """An output's value as the page takes it: an update (``{"__type__": "update", "visible": true, "value": …}``:
    the app's gallery and JSON are shown with their first value) stands for its value."""
    if isinstance(output, dict) and output.get("__type__") == "update":
        return output.get("value")
    return output


async def _visits_batch(cmd: dict[str, Any]) -> list[dict[str, Any]]:
    """``n`` visitors at once, each making ``runs`` runs in a row, all in this one event loop.

    ``side``: ``fal`` (``fal_client.AsyncClient.subscribe`` straight to the sandbox), ``app`` (the app's
    ``/flux_pro`` through Gradio's queue protocol) or ``peer`` (the one-function Space's ``/generate``, the same
    way). A Gradio visitor opens one new session (one page) for its runs. Each run: wall time, and what was wrong
    or missing in its result."""
    import httpx

    side, n, runs = cmd["side"], cmd["n"], cmd["runs"]
    start = asyncio.Event()
    fal = None
    if side == "fal":
        import fal_client
        from fal_client import client as fal_module

        fal_module.QUEUE_URL_FORMAT = f"{cmd['queue_url']}/"
        fal_module.REST_URL = cmd["rest_url"]
        fal_module.CDN_URL = cmd["cdn_url"]
        fal = fal_client.AsyncClient(key="benchmark:sandbox")
    info = None if side == "fal" else _endpoint_info(cmd["url"], API_NAME if side == "app" else "/generate")
    limits = httpx.Limits(max_connections=4 * n + 10, max_keepalive_connections=2 * n + 10)
    async with httpx.AsyncClient(timeout=httpx.Timeout(RUN_TIMEOUT), limits=limits, trust_env=False) as http:

        async def one(i: int, r: int, session: str) -> dict[str, Any]:
            seed = cmd["seed0"] + i * runs + r
            prompt = f"{cmd['tag']} visitor {i} run {r} {secrets.token_hex(4)}"
            wanted = run_input(cmd["steps"], cmd["width"], cmd["height"], seed, prompt)
            out: dict[str, Any] = {"i": i, "r": r, "prompt": prompt, "t0": time.time()}
            try:
                if side == "fal":
                    assert fal is not None
                    result = await fal.subscribe(ENDPOINT, arguments=wanted, with_logs=True)
                    out.update(crosstalk=_check(result, seed, prompt),
                               inference=(result.get("timings") or {}).get("inference"),
                               image=(result.get("images") or [{}])[0].get("url"))
                    out["shown"] = out["image"]
                elif side == "app":
                    assert info is not None
                    (_status, logs, gallery, result), updates = await _queue_run(
                        http, info, session, visitor_headers(i), _queue_data(info[1], wanted))
                    out.update(_app_outcome(result, logs, seed, prompt), updates=updates, shown=_gallery_url(gallery))
                    if not gallery:
                        out["crosstalk"].append("no image in the gallery")
                else:
                    assert info is not None
                    (image, result), updates = await _queue_run(
                        http, info, session, visitor_headers(i), _queue_data(info[1], {"prompt": prompt, "seed": seed}))
                    out.update(crosstalk=_check(result, seed, prompt), updates=updates,
                               inference=((result or {}).get("timings") or {}).get("inference"),
                               request_id=None, image=(result or {}).get("images", [{}])[0].get("url"))
                    if not (isinstance(image, str) and image.startswith("http")):
                        out["crosstalk"].append("no image URL")
                    out["shown"] = image
            except BaseException as exc:  # noqa: BLE001 - counted as an error
                out["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            if "error" not in out:  # until the visitor has the image, as a browser loads it after the result
                loaded = time.time()
                problem = await _load_shown(http, cmd.get("url", ""), out.get("shown"))
                out["image_s"] = time.time() - loaded
                if problem:
                    out["crosstalk"].append(problem)
            out["t1"] = time.time()
            return out

        async def visitor(i: int) -> list[dict[str, Any]]:
            session = secrets.token_hex(6)  # one page for this visitor's runs
            await start.wait()
            return [await one(i, r, session) for r in range(runs)]

        tasks = [asyncio.ensure_future(asyncio.wait_for(visitor(i), PHASE_TIMEOUT)) for i in range(n)]
        await asyncio.sleep(0)
        start.set()
        done = await asyncio.gather(*tasks, return_exceptions=True)
    if fal is not None:
        with_client = await fal._client
        await with_client.aclose()
    results: list[dict[str, Any]] = []
    for i, item in enumerate(done):
        if isinstance(item, BaseException):
            results.append({"i": i, "r": 0, "prompt": "", "t0": 0.0, "t1": 0.0,
                            "error": f"visitor did not finish: {type(item).__name__}"})
        else:
            results.extend(item)
    return results


def worker_main() -> int:
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        cpu0 = cpu_seconds()
        try:
            if cmd["cmd"] == "fal":
                reply: dict[str, Any] = {"runs": asyncio.run(_fal_batch(cmd))}
            elif cmd["cmd"] == "app":
                reply = {"runs": _app_batch(cmd)}
            elif cmd["cmd"] == "raw":
                reply = {"runs": asyncio.run(_raw_batch(cmd))}
            elif cmd["cmd"] == "visits":
                reply = {"runs": asyncio.run(_visits_batch(cmd))}
            elif cmd["cmd"] == "visitors":
                reply = {"seconds": VISITORS.ensure(cmd["app_url"], cmd["n"])}
            else:
                reply = {"error": f"unknown command {cmd['cmd']}"}
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply["cpu"] = cpu_seconds() - cpu0
        print(PROTOCOL + json.dumps(reply), flush=True)
    return 0


class Worker:
    """The client process, driven over a pipe; every call bounded by PHASE_TIMEOUT."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
        )
        self._lines: list[str] = []
        self._ready = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(PROTOCOL):
                with self._ready:
                    self._lines.append(line[len(PROTOCOL):])
                    self._ready.notify_all()

    def call(self, **cmd: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(cmd) + "\n")
        self.process.stdin.flush()
        with self._ready:
            if not self._ready.wait_for(lambda: self._lines, PHASE_TIMEOUT + 30):
                raise TimeoutError(f"the client worker did not answer {cmd['cmd']} in time")
            reply = json.loads(self._lines.pop(0))
        if "error" in reply and "runs" not in reply:
            raise RuntimeError(f"client worker: {reply['error']}")
        return reply

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write('{"cmd": "quit"}\n')
                self.process.stdin.close()
                self.process.wait(15)
            except Exception:  # noqa: BLE001 - a worker that will not quit politely is killed
                self.process.kill()
                self.process.wait(5)


# ================================================================================================== driver

SIDES = {  # side -> what it is, in the table
    "fal_client": "official fal_client.AsyncClient.subscribe straight to the sandbox",
    "app_gc": "the app, each visitor a gradio_client.Client (threads) on /flux_pro",
    "app_raw": "the app, visitors speaking Gradio's queue protocol (join + event stream) from one event loop",
}
APP_SIDES = ("app_gc", "app_raw")


@dataclass
class Phase:
    side: str  # one of SIDES
    visitors: int
    walls: list[float] = field(default_factory=list)
    overheads: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    crosstalk: list[str] = field(default_factory=list)
    app_cpu: float = 0.0
    client_cpu: float = 0.0
    sandbox_cpu: float = 0.0
    other_cpu: float = 0.0  # CPU seconds of every other process on the machine during the phase
    seconds: float = 0.0  # the phase's wall time
    runs: int = 0
    breakdown: list[dict[str, float]] = field(default_factory=list)  # app side: where each run's time went
    updates: list[int] = field(default_factory=list)  # app_raw: streamed page updates per run


class RunTap:
    """Wraps ``ctx.runner.start`` (in this process, no app file touched) to learn when each run started in the
    handler, was submitted to the sandbox and got its record, keyed by prompt."""

    def __init__(self, ctx: Any) -> None:
        self.runs: dict[str, Any] = {}
        self.starts: dict[str, float] = {}
        original = ctx.runner.start

        def start(endpoint: Any, payload: Any, route: Any, **kwargs: Any) -> Any:
            run = original(endpoint, payload, route, **kwargs)
            prompt = getattr(payload, "prompt", None)
            if isinstance(prompt, str):
                self.runs[prompt] = run
                self.starts[prompt] = time.time()
            return run

        ctx.runner.start = start

    def breakdown(self, prompt: str, t0: float, t1: float) -> dict[str, float] | None:
        run = self.runs.pop(prompt, None)
        started = self.starts.pop(prompt, None)
        if run is None or started is None or run.record is None:
            return None
        timings = run.record.timings
        if timings.submitted is None or timings.finished is None:
            return None
        inference = float((run.record.result or {}).get("timings", {}).get("inference") or 0.0)
        return {
            "to_handler": started - t0,  # client submit -> the handler starts the run (queue join, preprocess)
            "to_submit": timings.submitted - started,  # handler -> sandbox submit sent (prices, prepare)
            "after_job": timings.finished - timings.submitted - inference,  # submit + completion notice + image
            "to_client": t1 - timings.finished,  # record -> the client has the final result (postprocess, SSE)
        }


def run_phase(side: str, n: int, round_no: int, args: argparse.Namespace, worker: Worker, sandbox: Any,
              app: Any, tap: RunTap, profile: bool) -> Phase:
    phase = Phase(side, n)
    cmd = {"n": n, "steps": args.steps, "width": args.width, "height": args.height,
           "seed0": 1000 * round_no + 300 * list(SIDES).index(side) + 7, "tag": f"{side} r{round_no} n{n}"}
    if side == "fal_client":
        cmd.update(cmd="fal", queue_url=sandbox.fal_queue_url, rest_url=sandbox.fal_rest_url,
                   cdn_url=sandbox.fal_cdn_url)
    else:
        cmd.update(cmd="app" if side == "app_gc" else "raw", app_url=app.url)
    app_cpu0, client_cpu0, sandbox_cpu0 = cpu_seconds(), worker.cpu_seconds(), sandbox.cpu_seconds()
    machine0, began = machine_cpu_seconds(), time.monotonic()
    if profile:
        import yappi

        yappi.set_clock_type("cpu")
        yappi.start(builtins=False)
    reply = worker.call(**cmd)
    if profile:
        import yappi

        yappi.stop()
    phase.app_cpu = cpu_seconds() - app_cpu0
    phase.client_cpu = worker.cpu_seconds() - client_cpu0
    phase.sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu0
    phase.seconds = time.monotonic() - began
    phase.other_cpu = max(0.0, machine_cpu_seconds() - machine0 - phase.app_cpu - phase.client_cpu - phase.sandbox_cpu)
    seen_ids: set[str] = set()
    seen_images: set[str] = set()
    for run in reply["runs"]:
        phase.runs += 1
        if "error" in run:
            phase.errors.append(run["error"])
            tap.runs.pop(run.get("prompt", ""), None)
            continue
        wall = run["t1"] - run["t0"]
        phase.walls.append(wall)
        if "updates" in run:
            phase.updates.append(run["updates"])
        if run.get("inference") is not None:
            phase.overheads.append(wall - float(run["inference"]))
        problems = list(run.get("crosstalk") or [])
        for key, seen in (("request_id", seen_ids), ("image", seen_images)):
            if run.get(key):
                if run[key] in seen:
                    problems.append(f"{key} shared with another visitor")
                seen.add(run[key])
        if problems:
            phase.crosstalk.append(f"visitor {run['i']}: {', '.join(problems)}")
        if side in APP_SIDES and (parts := tap.breakdown(run["prompt"], run["t0"], run["t1"])) is not None:
            phase.breakdown.append(parts)
    return phase


def merge(phases: Sequence[Phase]) -> Phase:
    out = Phase(phases[0].side, phases[0].visitors)
    for p in phases:
        out.walls += p.walls
        out.overheads += p.overheads
        out.errors += p.errors
        out.crosstalk += p.crosstalk
        out.app_cpu += p.app_cpu
        out.client_cpu += p.client_cpu
        out.sandbox_cpu += p.sandbox_cpu
        out.other_cpu += p.other_cpu
        out.seconds += p.seconds
        out.runs += p.runs
        out.breakdown += p.breakdown
        out.updates += p.updates
    return out


def print_table(results: dict[int, dict[str, Phase]], args: argparse.Namespace) -> None:
    job = args.startup_seconds + args.steps * args.step_seconds
    sides = [side for side in SIDES if any(side in r for r in results.values())]
    print()
    print(f"Runs per cell: visitors x {args.rounds} round(s); job time {job:.2f} s "
          f"({args.startup_seconds:g} s start-up + {args.steps} x {args.step_seconds:g} s); "
          f"image {args.width}x{args.height} JPEG; wall times in seconds")
    for side in sides:
        print(f"  {side:<10} {SIDES[side]}")
    header = (f"{'visitors':>8} {'side':<10} {'runs':>4} {'p50':>6} {'p95':>6} {'max':>6} {'ovh p50':>7} "
              f"{'ovh p95':>7} {'err':>4} {'xtalk':>5} {'app CPU/run':>11} {'client CPU/run':>14} "
              f"{'sbx CPU/run':>11} {'others':>6}")
    print(header)
    print("-" * len(header))
    for n, by_side in results.items():
        for side in sides:
            p = by_side[side]
            per = max(1, p.runs)
            print(f"{n:>8} {side:<10} {p.runs:>4} {median(p.walls):6.2f} {percentile(p.walls, 95):6.2f} "
                  f"{max(p.walls, default=float('nan')):6.2f} {median(p.overheads):7.2f} "
                  f"{percentile(p.overheads, 95):7.2f} {len(p.errors):>4} {len(p.crosstalk):>5} "
                  f"{p.app_cpu / per * 1000:9.0f}ms {p.client_cpu / per * 1000:12.0f}ms "
                  f"{p.sandbox_cpu / per * 1000:9.0f}ms {p.other_cpu / max(p.seconds, 1e-9):6.2f}")
    print("  ovh = wall - the job's own time on the sandbox; CPU/run = CPU seconds of that process over the batch"
          " / runs;\n  others = cores kept busy by other processes on the machine during the batch (noise)")
    print()
    app_sides = [side for side in APP_SIDES if side in sides]
    print(f"{'visitors':>8} " + " ".join(f"{side + ' / fal_client (median)':>30}" for side in app_sides)
          + "   goal <= 1.25x, 0 errors, 0 cross-talk")
    for n, by_side in results.items():
        cells = []
        for side in app_sides:
            app_phase = by_side[side]
            ratio = median(app_phase.walls) / median(by_side["fal_client"].walls)
            goal = "" if n < 25 else (
                " met" if ratio <= 1.25 and not app_phase.errors and not app_phase.crosstalk else " NOT met")
            cells.append(f"{ratio:.2f}x{goal}")
        print(f"{n:>8} " + " ".join(f"{c:>30}" for c in cells))
    print()
    print("Where the app's time goes (median / p95 over runs, seconds; the job itself excluded):")
    print(f"{'visitors':>8} {'side':<10} {'to handler':>14} {'to submit':>14} {'after job':>14} {'to client':>14}")
    for n, by_side in results.items():
        for side in app_sides:
            rows = by_side[side].breakdown
            cells = []
            for key in ("to_handler", "to_submit", "after_job", "to_client"):
                values = [r[key] for r in rows]
                cells.append(f"{median(values):6.3f}/{percentile(values, 95):6.3f}")
            print(f"{n:>8} {side:<10} " + " ".join(f"{c:>14}" for c in cells))
    raw_updates = [u for by_side in results.values() for u in by_side.get("app_raw", Phase("", 0)).updates]
    if raw_updates:
        print(f"  streamed page updates per run (app_raw): median {median(raw_updates):.0f}, max {max(raw_updates)}")
    print("  to handler: client submit -> the handler starts the run (client's own work, Gradio queue join,")
    print("              queue dispatch, preprocessing)")
    print("  to submit:  handler -> job sent to the sandbox (price refresh, validation, prepare)")
    print("  after job:  submit round trip + noticing completion + result fetch (the image is copied after it)")
    print("  to client:  record ready -> client has the final result (coalescing, postprocess, SSE, client parse)")
    for n, by_side in results.items():
        for side in sides:
            p = by_side[side]
            for label, items in (("error", p.errors), ("cross-talk", p.crosstalk)):
                for item in sorted(set(items))[:5]:
                    print(f"  {side} x{n} {label}: {item}  (x{items.count(item)})")


def print_session_cost(app: Any, repeat: int = 20) -> None:
    """What a visitor's first request costs the app before anything runs: a new session in the app's state holder
    (``gradio_fixes``: the blocks' default configs made once per app), beside Gradio's own ``SessionState``, which
    computes the config of every block (gradio/state_holder.py). The median of ``repeat``, on this thread's CPU
    clock: a mean over the process's clock took in a garbage collection or the server thread's work now and then.
    The sessions made here are removed again."""
    from gradio.state_holder import SessionState

    holder = app.demo.state_holder
    app_costs, gradio_costs = [], []
    for i in range(repeat):
        session_id = f"benchmark-session-cost-{i}-{secrets.token_hex(4)}"
        began = time.thread_time()
        holder[session_id]
        app_costs.append(time.thread_time() - began)
        holder.session_data.pop(session_id, None)
        holder.time_last_used.pop(session_id, None)
        began = time.thread_time()
        SessionState(app.demo)
        gradio_costs.append(time.thread_time() - began)
    print(f"\nA new session (a visitor's first request) costs {median(app_costs) * 1000:.1f} ms of app CPU (median "
          f"of {repeat}; Gradio's own SessionState, which computes the config of all {len(app.demo.blocks)} blocks: "
          f"{median(gradio_costs) * 1000:.0f} ms); sessions held now: {len(holder.session_data)} (capacity "
          f"{holder.capacity})")


def print_profile(limit: int = 30, out: str | None = None) -> None:
    import yappi

    stats = yappi.get_func_stats()
    stats.sort("tsub", "desc")
    print(f"\nyappi (CPU clock, all threads of the app process): top {limit} functions by own time")
    print(f"{'own s':>8} {'total s':>8} {'calls':>9}  function")
    for stat in list(stats)[:limit]:
        where = f"{Path(stat.module).name}:{stat.lineno} {stat.name}"
        print(f"{stat.tsub:8.3f} {stat.ttot:8.3f} {stat.ncall:>9}  {where}")
    stats.sort("ttot", "desc")
    print(f"\ntop {limit} by total (inclusive) time")
    for stat in list(stats)[:limit]:
        where = f"{Path(stat.module).name}:{stat.lineno} {stat.name}"
        print(f"{stat.tsub:8.3f} {stat.ttot:8.3f} {stat.ncall:>9}  {where}")
    own = [stat for stat in stats if str(ROOT) in stat.module and "/.venv/" not in stat.module]
    print(f"\ntop {limit} of this project's functions by total (inclusive) time")
    for stat in own[:limit]:
        where = f"{Path(stat.module).relative_to(ROOT)}:{stat.lineno} {stat.name}"
        print(f"{stat.tsub:8.3f} {stat.ttot:8.3f} {stat.ncall:>9}  {where}")
    if out:
        stats.save(out, type="pstat")  # for ``python -m pstats``: callers and callees
        print(f"\nprofile saved to {out} (pstat)")
    threads = [t for t in yappi.get_thread_stats() if t.ttot >= 0.01]
    print("\nCPU by thread (threads with at least 10 ms):")
    for t in threads:
        print(f"  {t.name:<30} {t.ttot:8.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", default="1,25,50", help="comma-separated concurrent visitor counts")
    parser.add_argument("--rounds", type=int, default=2, help="batches per visitor count and side")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--step-seconds", type=float, default=0.12)
    parser.add_argument("--startup-seconds", type=float, default=0.3)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--sides", default=",".join(SIDES), help=f"which of {', '.join(SIDES)} to run")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile the app phase at N visitors with yappi (pip install yappi)")
    parser.add_argument("--profile-out", metavar="PATH", help="also save the profile there (pstat format)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main()
    counts = [int(x) for x in args.visitors.split(",") if x.strip()]
    sides = [x.strip() for x in args.sides.split(",") if x.strip()]
    if "fal_client" not in sides or set(sides) - set(SIDES):
        parser.error(f"--sides: fal_client plus any of {', '.join(APP_SIDES)}")
    if not counts or min(counts) < 1 or max(counts) > 200 or not 1 <= args.rounds <= 20:
        parser.error("visitors must be 1..200 and rounds 1..20")
    if args.profile:
        try:
            import yappi  # noqa: F401
        except ImportError:
            parser.error("--profile needs yappi: pip install yappi (a local look only; not a requirement)")
    capacity = max(64, max(counts))
    options = {"capacity": capacity, "step_seconds": args.step_seconds, "startup_seconds": args.startup_seconds}
    started = time.monotonic()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; sandbox capacity {capacity}")
    with sandbox_process(**options) as sandbox, launched_app(sandbox.url) as app:
        tap = RunTap(app.ctx)
        worker = Worker()
        try:
            made = worker.call(cmd="visitors", app_url=app.url, n=max(counts))
            print(f"{max(counts)} gradio_client visitors connected in {made['seconds']:.1f} s "
                  f"(app RSS {rss_kib() / 1024:.0f} MiB)")
            # Warm-up, untimed: connections, imports, first-call caches, and one Gradio session per visitor (a
            # visitor's first run also pays for its session; that cost is printed separately below).
            for side in sides:
                run_phase(side, max(counts) if side in APP_SIDES else 2, 0, args, worker, sandbox, app, tap,
                          profile=False)
            results: dict[int, dict[str, Phase]] = {}
            profiled = next((side for side in sides if side in APP_SIDES), "")
            for n in counts:
                phases: dict[str, list[Phase]] = {side: [] for side in sides}
                for r in range(1, args.rounds + 1):
                    order = sides if r % 2 else sides[::-1]
                    for side in order:
                        profile = args.profile == n and r == 1 and side == profiled
                        phase = run_phase(side, n, r, args, worker, sandbox, app, tap, profile)
                        phases[side].append(phase)
                        print(f"  {n:>3} visitors, round {r}, {side:<10}: median {median(phase.walls):5.2f} s, "
                              f"errors {len(phase.errors)}, cross-talk {len(phase.crosstalk)}", flush=True)
                results[n] = {side: merge(ps) for side, ps in phases.items()}
            stats = sandbox.stats()
        finally:
            worker.close()
        print_table(results, args)
        print_session_cost(app)
        print(f"\nsandbox: {sum(stats['submits'].values())} submits, {stats['status_requests']} status polls, "
              f"{stats['stream_connections']} status streams; app RSS {rss_kib() / 1024:.0f} MiB; "
              f"total {time.monotonic() - started:.0f} s")
        if args.profile and profiled:
            print(f"\nprofiled: {profiled} at {args.profile} visitors, round 1")
            print_profile(out=args.profile_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
