"""Knobs of one sandbox server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sandbox.pricing import ModelPrice


@dataclass(frozen=True)
class SandboxOptions:
    capacity: int = 2  # concurrent runners (fal's default account concurrency); Segmind has as many again
    step_seconds: float = 0.05  # time per inference step
    startup_seconds: float = 0.02  # runner start-up before the first step
    credits: float = 100.0  # Segmind starting credits
    credit_cost: float = 0.05  # Segmind credits per image; Segmind credits are USD, so also the x-cost header
    bfl_credits: float = 1000.0  # Black Forest Labs credits ($0.01 each) of every key together
    bfl_active_tasks: int = 24  # unfinished BFL tasks per key (6 on flux-kontext-max); 429 beyond
    bfl_url_seconds: float = 600.0  # how long a BFL result URL serves before it expires (SANDBOX_BFL_URL_SECONDS)
    faults: str = ""  # server-wide fault spec, same grammar as the X-Sandbox-Fault header (sandbox/faults.py)
    keepalive_seconds: float = 15.0  # SSE keep-alive comment interval
    storage_max_bytes: int = 256 * 1024 * 1024  # in-memory file store; least recently used files go first
    max_render_side: int = 2048  # larger requested sizes are scaled down (aspect kept) and a log line says so
    #: fal pricing API table (sandbox/pricing.py): None serves DEFAULT_PRICES; a mapping replaces it entirely
    #: (a bare number is USD per megapixel), e.g. ``{**DEFAULT_PRICES, "fal-ai/flux-pro": 0.07}``.
    prices: Mapping[str, float | ModelPrice] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        if min(self.step_seconds, self.startup_seconds, self.credit_cost) < 0 or self.keepalive_seconds <= 0:
            raise ValueError("times and costs must not be negative; keepalive_seconds must be positive")
        for price in (self.prices or {}).values():
            if not isinstance(price, ModelPrice):
                ModelPrice(float(price))  # raises ValueError for a negative or non-finite price
