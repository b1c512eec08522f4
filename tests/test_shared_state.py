"""Two app processes on one PostgreSQL share one budget: replicas behind a load balancer cannot overspend.

Each process is ``python app.py`` with the server's keys set and its "live" providers pointed at one sandbox, its
own data folder (as on two machines), and ``PLAYGROUND_DATABASE_URL`` on one throwaway database. One visitor with a
$0.12 daily budget sends six $0.05 runs at once, three to each process: exactly two reach the provider.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client.exceptions import AppError

from providers.catalog import CATALOG
from sandbox import SandboxOptions, start_sandbox
from tests.app_support import app_client, free_port
from tests.postgres_support import postgres_url

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[1]
RUN = {"prompt": "a lighthouse", "image_size": "landscape_4_3", "num_inference_steps": 4, "api_name": "/flux_pro"}


def start_app(tmp_path: Path, name: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    data = tmp_path / name
    proc_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "SEGMIND_", "PLAYGROUND_"))},
        **env,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "PLAYGROUND_DATA_DIR": str(data),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=proc_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{name} exited: {(tmp_path / f'{name}.log').read_text()[-2000:]}")
        try:
            if httpx.get(url + "config", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise AssertionError(f"{name} did not start: {(tmp_path / f'{name}.log').read_text()[-2000:]}")


def test_two_app_processes_on_one_postgres_admit_exactly_what_the_budget_holds(tmp_path: Path) -> None:
    database = postgres_url()
    sandbox = start_sandbox(SandboxOptions(step_seconds=0.05, startup_seconds=0.0, capacity=16))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        env = {k: v for spec in CATALOG for k, v in spec.sandbox_urls(sandbox.url).items()}
        env |= {"FAL_KEY": "server-id:server-secret", "SEGMIND_API_KEY": "server-segmind",
                "PLAYGROUND_DATABASE_URL": database, "PLAYGROUND_VISITOR_BUDGET_USD": "0.12",
                "PLAYGROUND_VISITOR_CONCURRENCY": "8"}  # per process: the budget is what is shared
        urls = []
        for name in ("replica-a", "replica-b"):
            proc, url = start_app(tmp_path, name, env)
            procs.append(proc)
            urls.append(url)
        clients = [app_client(url) for url in urls]

        def one(i: int) -> str:
            try:
                result = clients[i % 2].predict(**RUN, seed=1000 + i)[3]
            except AppError as exc:
                return "refused" if "budget" in str(exc) else f"error: {exc}"
            return str(result["state"])

        with ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(one, range(6)))
        assert sorted(outcomes) == ["done", "done", "refused", "refused", "refused", "refused"], outcomes
        stats = httpx.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()
        assert stats["submits"].get("fal-ai/flux-pro", 0) == 2
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        sandbox.stop()
