"""What every view of one app shares: routing, the runner, per-visitor limits and the runs under way.

Nothing here is per visitor beyond the short-lived bookkeeping of runs in progress (for Stop) and the count of
runs each visitor has going (fair use); both empty themselves as runs end.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.route_utils import get_root_url
from starlette.requests import Request as StarletteRequest

from components.gradio_fixes import SessionLifetimes
from components.mcp_caller import caller_of
from components.upload_quota import UploadLedger, UploadLimits
from endpoints import ENDPOINTS
from endpoints.base import EndpointSpec
from providers.errors import ProviderError
from providers.routing import Backends, Route
from runs.pricing import PriceBook, refresh_route_prices
from runs.record import Cost
from runs.runner import Run, Runner
from runs.spend_guard import admit_sweep
from runs.sweep.limits import DEFAULT_MAX_SWEEPS, MAX_SWEEPS_VAR, SweepLimits
from runs.sweep_files import SweepFiles
from runs.sweep_runner import SweepRun
from runs.visitors import visitor_id

DEFAULT_VISITOR_CONCURRENCY = 2
SESSION_TTL_SECONDS = 6 * 3600  # every per-session state (keys, last records, spend) expires after this


class VisitorBusy(Exception):
    """The visitor already has as many runs going as one visitor may."""


class ServerBusy(Exception):
    """The server already runs as many sweeps as it may at once (``PLAYGROUND_MAX_SWEEPS``)."""


@dataclass
class SweepSlots:
    """Sweeps running at once on the whole server, whoever runs them; ``take`` refuses at once when none is free."""

    limit: int = DEFAULT_MAX_SWEEPS
    running: int = 0

    def take(self) -> contextlib.AbstractContextManager[None]:
        if self.running >= self.limit:
            raise ServerBusy(
                f"The server is already running {self.limit} sweep(s), the most it runs at once "
                f"({MAX_SWEEPS_VAR}). Try again in a minute."
            )
        self.running += 1
        return self._release_on_exit()

    @contextlib.contextmanager
    def _release_on_exit(self) -> Iterator[None]:
        try:
            yield
        finally:
            self.running -= 1


@dataclass
class VisitorSlots:
    """Runs at once per visitor (``PLAYGROUND_VISITOR_CONCURRENCY``), for every route, sandbox included."""

    limit: int = DEFAULT_VISITOR_CONCURRENCY
    running: dict[str, int] = field(default_factory=dict)

    def take(self, visitor: str) -> contextlib.AbstractContextManager[None]:
        """A slot for one run, held until the returned context exits; raises VisitorBusy at once when none is free."""
        if self.running.get(visitor, 0) >= self.limit:
            raise VisitorBusy(
                f"You already have {self.limit} run(s) going, the most one visitor may have at once on this app. "
                "Wait for one to finish or stop it, then try again."
            )
        self.running[visitor] = self.running.get(visitor, 0) + 1
        return self._release_on_exit(visitor)

    @contextlib.contextmanager
    def _release_on_exit(self, visitor: str) -> Iterator[None]:
        try:
            yield
        finally:
            left = self.running[visitor] - 1
            if left:
                self.running[visitor] = left
            else:
                del self.running[visitor]


def forwarded_for(request: gr.Request | None) -> str | None:
    """Every ``X-Forwarded-For`` line of the request, joined in order (a proxy may add a line of its own rather than
    append to the visitor's; taking only the first line would take the visitor's)."""
    headers = getattr(request, "headers", None) if request is not None else None
    if headers is None:
        return None
    if hasattr(headers, "getlist"):
        lines = [str(line) for line in headers.getlist("x-forwarded-for")]
        return ", ".join(lines) if lines else None
    value = headers.get("x-forwarded-for") if hasattr(headers, "get") else None
    return None if value is None else str(value)


def visitor_of(request: gr.Request | None, trusted_proxies: int = 0) -> str:
    """The one identity every per-visitor limit uses (budgets, runs at once, sweeps, MCP tools): the signed-in
    Hugging Face user, else the address the trusted proxy appended (``runs.visitors.visitor_id``)."""
    if request is None:
        return "ip:unknown"
    client = getattr(request, "client", None)
    host = caller_of(request) or getattr(client, "host", None)  # an MCP call passed on over loopback: its caller
    return visitor_id(getattr(request, "username", None), host, forwarded_for(request), trusted_proxies)


@dataclass
class AppContext:
    backends: Backends
    runner: Runner
    visitor_slots: VisitorSlots = field(default_factory=VisitorSlots)
    active_runs: dict[str, Run] = field(default_factory=dict)
    trusted_proxies: int = 0  # PLAYGROUND_TRUSTED_PROXIES: proxies in front that append to X-Forwarded-For
    max_upload_bytes: int = 25 * 1024 * 1024  # PLAYGROUND_MAX_UPLOAD_MB: Gradio refuses larger uploads
    upload_limits: UploadLimits = field(default_factory=UploadLimits)  # bytes an hour (components/upload_quota.py)
    live_prices: PriceBook = field(default_factory=PriceBook)
    sandbox_prices: PriceBook = field(default_factory=PriceBook)
    mcp: bool = False  # PLAYGROUND_MCP=1: each tab's named endpoint is also an MCP tool
    sandbox_step_seconds: float = 0.15  # for sweep time estimates on the sandbox
    sandbox_capacity: int = 2  # the embedded sandbox's runners at once (SandboxOptions.capacity), for estimates
    sweep_limits: SweepLimits = field(default_factory=SweepLimits)
    active_sweeps: dict[str, SweepRun] = field(default_factory=dict)
    sweep_slots: SweepSlots = field(default_factory=SweepSlots)  # server-wide; make_context sets its limit
    # Each finished sweep's grid PNG, ZIP and history entry, for its page; bounded by bytes, age and count.
    sweep_files: SweepFiles = field(default_factory=SweepFiles)
    # When Gradio sessions are dropped (components/gradio_fixes.py).
    sessions: SessionLifetimes = field(default_factory=SessionLifetimes)

    temp_dirs: list[Path] = field(default_factory=list)

    @functools.cached_property
    def upload_ledger(self) -> UploadLedger:
        """The hour's uploads per address: what the upload middleware and files given by URL both charge."""
        return UploadLedger(self.upload_limits)

    def temp_dir(self, prefix: str) -> Path:
        """A private folder (0700) for files handed out to visitors, removed by ``cleanup()``."""
        path = Path(tempfile.mkdtemp(prefix=f"flux-playground-{prefix}-"))
        self.temp_dirs.append(path)
        return path

    async def close_store(self) -> None:
        """At shutdown: close the shared-state store (a PostgreSQL pool) the ledger and the cache use."""
        holders = (getattr(self.runner.guard, "ledger", None), self.runner.cache)
        stores = {id(h.store): h.store for h in holders if h is not None}
        for store in stores.values():
            await store.close()

    def cleanup(self) -> None:
        """At shutdown: remove the folders this app made (downloads, sweeps, and the media folder if it made it)."""
        for path in self.temp_dirs:
            shutil.rmtree(path, ignore_errors=True)
        self.temp_dirs.clear()
        self.sweep_files.close()
        self.runner.media.close()

    async def check_budget(self, visitor: str, routes: list[Route], estimate: Cost) -> None:
        """Refuse (as a visitor-facing error) a sweep whose whole estimate does not fit the budgets of the server's
        key; each cell still reserves its own share when it runs."""
        try:
            await admit_sweep(self.runner.guard, visitor, routes, estimate)
        except ProviderError as exc:
            raise gr.Error(exc.message, title="Budget", print_exception=False) from None

    def prices(self, route: Route) -> PriceBook:
        """Prices for a route: the sandbox publishes its own (so tests can tell a refresh from the shipped table)."""
        return self.sandbox_prices if route.is_sandbox else self.live_prices

    async def refresh_prices(self, route: Route, spec: EndpointSpec) -> None:
        """Read the provider's current prices where it has a pricing API and a key is at hand (cached a day)."""
        ids = [s.id for s in _endpoints_of(route.provider.name)]
        await refresh_route_prices(self.prices(route), route, ids or [spec.id])

    def request_hosts(self) -> tuple[str, ...]:
        """The base URLs this app sends runs to (live providers, and the sandbox when it runs)."""
        sets = [self.backends.live, *([self.backends.sandbox] if self.backends.sandbox is not None else [])]
        return tuple(p.request_base.rstrip("/") + "/" for s in sets for p in s)

    def busy_sessions(self) -> set[str]:
        """Session hashes with a run or sweep going (never dropped, however old)."""
        return {key.rsplit(":", 1)[0] for key in [*self.active_runs, *self.active_sweeps]}

    def visitor(self, request: gr.Request | None) -> str:
        """Who is asking (``visitor_of`` with this app's trusted proxies)."""
        return visitor_of(request, self.trusted_proxies)

    @staticmethod
    def active_key(request: gr.Request | None, api_name: str) -> str:
        session = getattr(request, "session_hash", None) or "no-session"
        return f"{session}:{api_name}"

    @classmethod
    def sweep_key(cls, request: gr.Request | None, api_name: str) -> str:
        """The key of this session's sweep of ``api_name`` in ``active_sweeps``."""
        return cls.active_key(request, f"{api_name}_sweep")

    @staticmethod
    def media_url_for(request: gr.Request | StarletteRequest | None) -> Callable[[str], str]:
        """Absolute URLs of ``/media/{name}`` as the caller reaches this app (proxy headers honoured).

        ``request`` is a ``gr.Request``, or the bare Starlette request an MCP tool call gets (Gradio's MCP bridge
        passes that one as is). Without any request the URL is a path on this app's own host (``/media/…``),
        never a guessed host."""
        root = ""
        inner: Any = request if isinstance(request, StarletteRequest) else getattr(request, "request", None)
        if inner is not None:
            root = get_root_url(inner, inner.url.path, None)
            for suffix in ("/gradio_api/queue/join", "/gradio_api/queue/data", "/queue/join", "/gradio_api/mcp"):
                root = root.removesuffix(suffix)
        return lambda name: f"{root}/media/{name}"


def _endpoints_of(provider: str) -> list[EndpointSpec]:
    return [spec for spec in ENDPOINTS if spec.provider == provider]
