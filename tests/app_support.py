"""Launch the whole app on loopback against an embedded sandbox, for app-level and browser tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio_client import Client

from app import build_app, launch_kwargs, make_backends, make_context
from components.context import AppContext
from components.gradio_fixes import SessionLifetimes
from providers.catalog import CATALOG
from providers.config import ProviderSettings, Timeouts
from providers.registry import tls_context
from providers.routing import Backends
from sandbox import RunningSandbox, SandboxOptions, start_sandbox
from settings import Settings


@dataclass
class LaunchedApp:
    url: str
    demo: gr.Blocks
    ctx: AppContext
    sandbox: RunningSandbox

    @property
    def backends(self) -> Backends:
        return self.ctx.backends


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


#: Gradio checks that the app answers on localhost right after starting it, with a short timeout; on a loaded machine
#: that check can fail although the server is fine. The launch is tried again on a new port this many times, with an
#: app built afresh: closing the failed one ran its shutdown, which closes its providers' HTTP clients (a relaunch of
#: the same app answered every run with "Cannot send a request, as the client has been closed").
LAUNCH_ATTEMPTS = 3


def _launch(build: Callable[[], tuple[gr.Blocks, AppContext]]) -> tuple[str, gr.Blocks, AppContext]:
    """Build and launch the app, building it anew for each attempt (see ``LAUNCH_ATTEMPTS``)."""
    for attempt in range(1, LAUNCH_ATTEMPTS + 1):
        demo, ctx = build()
        kwargs = launch_kwargs(ctx)
        kwargs.pop("theme", None)
        try:
            _, url, _ = demo.launch(
                prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True, **kwargs
            )
            return str(url), demo, ctx
        except ValueError as exc:
            demo.close()
            ctx.cleanup()
            if "localhost is not accessible" not in str(exc) or attempt == LAUNCH_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def launched_app(
    options: SandboxOptions | None = None,
    *,
    timeouts: Timeouts | None = None,
    with_sandbox: bool = True,
    env: Mapping[str, str] | None = None,
    live_is_sandbox: bool = False,
    sessions: SessionLifetimes | None = None,
) -> Iterator[LaunchedApp]:
    """The app as ``python app.py`` builds it with no keys set, on a free loopback port; stops on exit.

    ``live_is_sandbox``: the "live" providers' URLs point at the sandbox too, so keys in ``env`` act as the
    server's own keys (budgets, pricing refresh) while the traffic stays on loopback.
    """
    sandbox = start_sandbox(options or SandboxOptions(step_seconds=0.02))
    env = dict(env or {})
    # Each app keeps its state (ledger, result cache) in a folder of its own, and caches results only where a test
    # asks for it (PLAYGROUND_CACHE=1): most tests count what reaches the sandbox.
    own_data = None if "PLAYGROUND_DATA_DIR" in env else tempfile.mkdtemp(prefix="flux-playground-test-data-")
    if own_data is not None:
        env["PLAYGROUND_DATA_DIR"] = own_data
    env.setdefault("PLAYGROUND_CACHE", "0")
    if live_is_sandbox:
        env.update({k: v for spec in CATALOG for k, v in spec.sandbox_urls(sandbox.url).items()})
    settings = Settings.from_env(env).provider_settings()
    if timeouts is not None:
        settings = ProviderSettings(urls=settings.urls, keys=settings.keys, timeouts=timeouts)

    def build() -> tuple[gr.Blocks, AppContext]:
        backends = make_backends(settings, sandbox_url=sandbox.url if with_sandbox else None)
        ctx = make_context(backends, env)
        if sessions is not None:
            ctx.sessions = sessions
        demo = build_app(ctx)
        demo.queue(default_concurrency_limit=None)
        return demo, ctx

    try:
        url, demo, ctx = _launch(build)
    except BaseException:
        sandbox.stop()
        if own_data is not None:
            shutil.rmtree(own_data, ignore_errors=True)
        raise
    try:
        yield LaunchedApp(url=url, demo=demo, ctx=ctx, sandbox=sandbox)
    finally:
        demo.close()
        sandbox.stop()
        ctx.cleanup()
        if own_data is not None:
            shutil.rmtree(own_data, ignore_errors=True)


def app_client(url: str, **options: Any) -> Client:
    """A quiet ``gradio_client.Client`` for ``url`` that verifies TLS with the providers' shared context
    (``providers.registry.tls_context``, the same certificates as httpx's default). gradio_client makes an httpx
    client for each call (join, stream, upload, download), and each loads the CA bundle anew without one: about
    16 ms of CPU, over a thousand times a suite run. The apps here are plain http on 127.0.0.1 anyway."""
    return Client(url, verbose=False, ssl_verify=tls_context(), **options)  # type: ignore[arg-type]  # httpx takes a context
