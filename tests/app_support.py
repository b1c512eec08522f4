"""Launch the whole app on loopback against an embedded sandbox, for app-level and browser tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from app import build_app, make_backends
from providers.config import ProviderSettings, Timeouts
from providers.routing import Backends
from sandbox import RunningSandbox, SandboxOptions, start_sandbox


@dataclass
class LaunchedApp:
    url: str
    demo: gr.Blocks
    backends: Backends
    sandbox: RunningSandbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def launched_app(
    options: SandboxOptions | None = None, *, timeouts: Timeouts | None = None, with_sandbox: bool = True
) -> Iterator[LaunchedApp]:
    """The app as ``python app.py`` builds it with no keys set, on a free loopback port; stops on exit."""
    sandbox = start_sandbox(options or SandboxOptions(step_seconds=0.02))
    settings = ProviderSettings.from_env({})
    if timeouts is not None:
        settings = ProviderSettings(timeouts=timeouts)
    urls = (sandbox.fal_queue_url, sandbox.fal_rest_url, sandbox.segmind_api_url) if with_sandbox else None
    backends = make_backends(settings, sandbox_urls=urls)
    demo = build_app(backends)
    demo.queue(default_concurrency_limit=None)
    try:
        _, url, _ = demo.launch(
            prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True
        )
        yield LaunchedApp(url=url, demo=demo, backends=backends, sandbox=sandbox)
    finally:
        demo.close()
        sandbox.stop()
