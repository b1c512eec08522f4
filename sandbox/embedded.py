"""Run a sandbox server in a background thread (tests, the app's sandbox mode) or in the foreground (``__main__``)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.applications import Starlette

from sandbox.addresses import is_loopback_host
from sandbox.app import base_urls, create_app
from sandbox.options import SandboxOptions
from sandbox.state import SandboxState

STARTUP_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class SandboxServer(uvicorn.Server):
    """uvicorn, but open status streams and hanging faults are released before the graceful shutdown waits."""

    def __init__(self, config: uvicorn.Config, state: SandboxState) -> None:
        super().__init__(config)
        self.sandbox_state = state

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.sandbox_state.begin_shutdown()
        await super().shutdown(sockets)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket with Nagle's algorithm off.

    ``proto=IPPROTO_TCP`` matters: asyncio turns on ``TCP_NODELAY`` for each accepted connection only when the
    socket says it is TCP, and a socket made with ``proto=0`` does not, so every keep-alive response waited
    ~40 ms for a delayed ACK. ``TCP_NODELAY`` on the listener too (Linux copies it to accepted sockets).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


#: How long an idle connection stays open. uvicorn's 5 s is httpx's own keep-alive expiry: a client reusing a
#: connection at about 5 s idle sent its request as the sandbox closed it, and a sweep cell's submit failed with a
#: ReadError. The providers' hosts keep idle connections for a minute or more.
KEEP_ALIVE_SECONDS = 75


def build_server(app: Starlette, *, log_level: str = "warning") -> SandboxServer:
    config = uvicorn.Config(
        app, log_level=log_level, access_log=False, lifespan="on", timeout_graceful_shutdown=2, loop="asyncio",
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return SandboxServer(config, app.state.sandbox)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class RunningSandbox:
    """A sandbox serving from a daemon thread. ``stop()`` (or leaving the ``with`` block) shuts it down."""

    def __init__(self, app: Starlette, server: SandboxServer, thread: threading.Thread, url: str) -> None:
        self.app = app
        self.server = server
        self.url = url
        self._thread = thread

    @property
    def fal_queue_url(self) -> str:
        return base_urls(self.url)["FAL_QUEUE_URL"]

    @property
    def fal_rest_url(self) -> str:
        return base_urls(self.url)["FAL_REST_URL"]

    @property
    def segmind_api_url(self) -> str:
        return base_urls(self.url)["SEGMIND_API_URL"]

    @property
    def bfl_api_url(self) -> str:
        return base_urls(self.url)["BFL_API_URL"]

    @property
    def fal_api_url(self) -> str:
        """fal's platform API (model pricing): the app's ``FAL_API_URL``."""
        return base_urls(self.url)["FAL_API_URL"]

    @property
    def state(self) -> SandboxState:
        return self.app.state.sandbox

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Graceful shutdown, forced after ``timeout`` seconds."""
        if not self._thread.is_alive():
            return
        self.server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningSandbox({self.url!r})"


def start_sandbox(options: SandboxOptions | None = None, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Serve a fresh sandbox on loopback (``port=0``: any free port) and return once it accepts connections."""
    if not is_loopback_host(host):
        raise ValueError(f"the sandbox serves on loopback only, not {host!r}")
    app = create_app(options)
    server = build_server(app)
    sock = bind_socket(host, port)
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            failure.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=serve, name=f"sandbox-{url_of(sock)}", daemon=True)
    url = url_of(sock)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if failure or not thread.is_alive():
            raise RuntimeError(f"the sandbox failed to start: {failure[0] if failure else 'thread ended'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the sandbox did not start within {STARTUP_TIMEOUT} s")
        time.sleep(0.005)
    return RunningSandbox(app, server, thread, url)
