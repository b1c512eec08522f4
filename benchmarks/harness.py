"""Shared pieces of the load and soak benchmarks: a sandbox in its own process, the app launched in this process
against it, and small measuring helpers (percentiles, RSS, CPU time, folder sizes).

Why a separate sandbox process: the sandbox stands in for fal, which is remote. In the app's process its event
loop and image rendering would share the app's GIL and make the app look slower than it is; in a process of its
own it serves the official client and the app in exactly the same way.

Nothing here opens a connection anywhere but 127.0.0.1, and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# No telemetry, no hub look-ups: loopback only.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

SANDBOX_START_TIMEOUT = 30.0
SANDBOX_MAX_LIFETIME = 3600.0  # the sandbox process ends by itself after this, whatever happens to its parent


# ----------------------------------------------------------------------------------------------- measuring


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rss_kib(pid: int | str = "self") -> int:
    """Resident set size (VmRSS) in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (all its threads): this one by default."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat)


def machine_cpu_seconds() -> float:
    """CPU seconds spent by everything on the machine (all cores, busy time only), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def folder_usage(path: str | Path) -> tuple[int, int]:
    """(files, bytes) under a folder, recursively; (0, 0) when it does not exist."""
    files = size = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, name)).st_size
                files += 1
    return files, size


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ----------------------------------------------------------------------------------------- sandbox process


@dataclass
class SandboxProcess:
    """``sandbox.start_sandbox(options)`` in a child process; ``url`` is its base URL."""

    process: subprocess.Popen[str]
    url: str

    @property
    def fal_queue_url(self) -> str:
        return f"{self.url}/fal/queue"

    @property
    def fal_rest_url(self) -> str:
        return f"{self.url}/fal/rest"

    @property
    def fal_cdn_url(self) -> str:
        return f"{self.url}/fal/cdn"

    def stats(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.url}/_sandbox/stats", timeout=10, trust_env=False).json()

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(Exception):
                assert self.process.stdin is not None
                self.process.stdin.close()  # the child stops on EOF
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@contextlib.contextmanager
def sandbox_process(**options: Any) -> Iterator[SandboxProcess]:
    """Start ``python benchmarks/harness.py sandbox '<options json>'``; stop it on exit."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "sandbox", json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + SANDBOX_START_TIMEOUT
        url = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the sandbox process ended before it printed its URL")
            if line.startswith("SANDBOX_URL="):
                url = line.split("=", 1)[1].strip()
                break
        if not url:
            raise TimeoutError("the sandbox process did not start in time")
        running = SandboxProcess(process, url)
        yield running
    finally:
        if process.poll() is None:
            with contextlib.suppress(Exception):
                assert process.stdin is not None
                process.stdin.close()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@dataclass
class ServerProcess:
    """A server in a child process (``url``); ``cpu_seconds()`` is its CPU time so far."""

    process: subprocess.Popen[str]
    url: str

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)


@contextlib.contextmanager
def peer_space_process(sandbox_url: str, *extra: str) -> Iterator[ServerProcess]:
    """``benchmarks/peer_space.py`` (the one-function Space on ``fal_client``) in a child process; stopped on exit."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve().parent / "peer_space.py"), "--sandbox", sandbox_url, *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT),
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 2 * SANDBOX_START_TIMEOUT
        url = ""
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the peer Space ended before it printed its URL")
            if line.startswith("PEER_URL="):
                url = line.split("=", 1)[1].strip()
                break
        if not url:
            raise TimeoutError("the peer Space did not start in time")
        yield ServerProcess(process, url)
    finally:
        if process.poll() is None:
            with contextlib.suppress(Exception):
                assert process.stdin is not None
                process.stdin.close()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _serve_sandbox(options_json: str) -> int:
    """Child side: serve until stdin closes (the parent ended or stopped us) or the lifetime is over."""
    import threading

    from sandbox import SandboxOptions, start_sandbox

    options = SandboxOptions(**json.loads(options_json))
    sandbox = start_sandbox(options)
    print(f"SANDBOX_URL={sandbox.url}", flush=True)
    closed = threading.Event()

    def watch_stdin() -> None:
        with contextlib.suppress(Exception):
            sys.stdin.read()
        closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    closed.wait(SANDBOX_MAX_LIFETIME)
    sandbox.stop()
    return 0


# --------------------------------------------------------------------------------------------- the app


@dataclass
class LaunchedApp:
    url: str
    demo: Any
    ctx: Any


@contextlib.contextmanager
def launched_app(
    sandbox_url: str,
    env: Mapping[str, str] | None = None,
    media: Any = None,
    *,
    media_max_bytes: int | None = None,
    sessions: Any = None,
) -> Iterator[LaunchedApp]:
    """The app as ``python app.py`` builds it with no keys (every provider on the sandbox at ``sandbox_url``),
    launched in this process on a free loopback port with ``main()``'s queue settings; closed on exit.

    ``media_max_bytes`` bounds the benchmark's own media folder; ``sessions`` (a ``SessionLifetimes``) replaces
    the app's session lifetimes, so a short benchmark can show them at work."""
    from app import build_app, freeze_built_objects, launch_kwargs, make_backends, make_context
    from providers.config import ProviderSettings
    from providers.media import MediaStore

    env = dict(env or {})
    env.setdefault("PLAYGROUND_TRUSTED_PROXIES", "1")  # as on Spaces: visitor_headers() plays the Space's proxy
    own_data = None
    if "PLAYGROUND_DATA_DIR" not in env:  # a ledger and result cache of our own, not the user's, removed on exit
        own_data = Path(tempfile.mkdtemp(prefix="flux-bench-data-"))
        env["PLAYGROUND_DATA_DIR"] = str(own_data)
    own_media = None
    if media is None:  # a media folder of our own, removed on exit (the app's default mkdtemp folder is not)
        own_media = Path(tempfile.mkdtemp(prefix="flux-bench-media-"))
        media = MediaStore(own_media) if media_max_bytes is None else MediaStore(own_media, max_bytes=media_max_bytes)
    settings = ProviderSettings()  # no keys: every run takes the sandbox route
    backends = make_backends(settings, sandbox_url=sandbox_url)
    ctx = make_context(backends, env, media=media)
    if sessions is not None:
        ctx.sessions = sessions
    demo = build_app(ctx)
    demo.queue(max_size=1024, default_concurrency_limit=None)  # as app.main()
    freeze_built_objects()  # as app.main()
    kwargs = launch_kwargs(ctx)
    kwargs.pop("theme", None)
    try:
        _, url, _ = demo.launch(
            prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, **kwargs
        )
        yield LaunchedApp(url=url.rstrip("/"), demo=demo, ctx=ctx)
    finally:
        demo.close()
        if own_media is not None:
            shutil.rmtree(own_media, ignore_errors=True)
        if own_data is not None:
            shutil.rmtree(own_data, ignore_errors=True)


def gradio_cache_dir() -> Path:
    import gradio as gr

    return Path(gr.utils.get_upload_folder())


def fresh_gradio_temp_dir(prefix: str) -> Path:
    """Point Gradio's cache at a new empty folder (call before the app is built) and return it."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["GRADIO_TEMP_DIR"] = str(path)
    return path


# -------------------------------------------------------------------------------------------- the clients


def visitor_headers(index: int) -> dict[str, str]:
    """A distinct client address per visitor (TEST-NET/benchmark range), as a Space's proxy would append it
    (``launched_app`` trusts one proxy, as on Spaces)."""
    return {"X-Forwarded-For": f"198.18.{index // 250}.{index % 250 + 1}"}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "sandbox":
        sys.exit(_serve_sandbox(sys.argv[2]))
    print("usage: harness.py sandbox '<SandboxOptions as JSON>'", file=sys.stderr)
    sys.exit(2)
