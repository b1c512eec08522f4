"""Counters the tests read from ``GET /_sandbox/stats``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SandboxStats:
    submits: Counter[str] = field(default_factory=Counter)  # by endpoint id
    status_requests: int = 0
    stream_connections: int = 0  # opened so far
    open_streams: int = 0
    result_requests: int = 0
    cancels: list[dict[str, str]] = field(default_factory=list)  # {request_id, outcome, state}
    uploads: int = 0
    upload_bytes: int = 0
    segmind_calls: int = 0  # answered with an image
    pricing_requests: int = 0  # every request to fal's pricing API route, refused ones included
    faults: Counter[str] = field(default_factory=Counter)  # "family:kind" -> times injected

    def record_fault(self, family: str, kind: str) -> None:
        self.faults[f"{family}:{kind}"] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "submits": dict(self.submits),
            "status_requests": self.status_requests,
            "stream_connections": self.stream_connections,
            "open_streams": self.open_streams,
            "result_requests": self.result_requests,
            "cancels": list(self.cancels),
            "uploads": self.uploads,
            "upload_bytes": self.upload_bytes,
            "segmind_calls": self.segmind_calls,
            "pricing_requests": self.pricing_requests,
            "faults": dict(self.faults),
        }
