"""A scriptable fal server for ``httpx.MockTransport``: edge cases the sandbox does not produce on demand."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

QUEUE = "https://queue.test"
PNG = (  # a 1x1 PNG
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)
REST = "https://rest.test"


def sse(*statuses: dict[str, Any], comment: bool = True) -> bytes:
    chunks = [b": keep-alive\n\n"] if comment else []
    chunks += [f"data: {json.dumps(s)}\n\n".encode() for s in statuses]
    return b"".join(chunks)


def log(message: str) -> dict[str, Any]:
    return {"message": message, "level": "INFO", "source": "USER", "timestamp": "2026-11-21T00:00:00Z"}


OUTPUT = {
    "images": [{"url": "https://cdn.test/a.jpg", "width": 1024, "height": 768, "content_type": "image/jpeg"}],
    "timings": {"inference": 1.5},
    "seed": 42,
    "has_nsfw_concepts": [False],
    "prompt": "a fox",
}


@dataclass
class FakeFal:
    """Records every request; ``streams`` are the SSE bodies served in turn (the last one repeats)."""

    streams: list[httpx.Response | Callable[[], httpx.Response]] = field(default_factory=list)
    polls: list[dict[str, Any]] = field(default_factory=list)
    submit_responses: list[httpx.Response | Exception] = field(default_factory=list)
    result: httpx.Response | None = None
    requests: list[httpx.Request] = field(default_factory=list)

    def count(self, method: str, suffix: str) -> int:
        return sum(1 for r in self.requests if r.method == method and r.url.path.endswith(suffix))

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        base = f"{QUEUE}/fal-ai/flux-pro/requests/r1"
        if request.method == "POST" and request.url.host == "queue.test":
            if self.submit_responses:
                item = self.submit_responses.pop(0)
                if isinstance(item, Exception):
                    raise item
                return item
            return httpx.Response(
                200,
                json={
                    "request_id": "r1",
                    "status_url": f"{base}/status",
                    "response_url": base,
                    "cancel_url": f"{base}/cancel",
                    "status": "IN_QUEUE",
                    "queue_position": 1,
                },
            )
        if path.endswith("/status/stream"):
            item = self.streams.pop(0) if len(self.streams) > 1 else self.streams[0]
            return item() if callable(item) else item
        if path.endswith("/status"):
            body = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
            return httpx.Response(200 if body["status"] == "COMPLETED" else 202, json=body)
        if path.endswith("/cancel"):
            return httpx.Response(202, json={"status": "CANCELLATION_REQUESTED"})
        if path == "/storage/auth/token":
            return httpx.Response(
                200,
                json={"token": "tok", "token_type": "Bearer", "base_url": "https://cdn.test", "expires_at": "2099-01-01T00:00:00Z"},
            )
        if path == "/files/upload":
            assert request.headers["authorization"] == "Bearer tok"
            return httpx.Response(200, json={"access_url": f"https://cdn.test/files/{len(self.requests)}.png"})
        if request.method == "GET" and request.url.host == "cdn.test":
            return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
        if path.endswith("/requests/r1"):
            return self.result or httpx.Response(200, json=OUTPUT, headers={"x-fal-request-id": "r1"})
        return httpx.Response(404, json={"detail": "not found"})


def stream_response(*statuses: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(*statuses))


QUEUED = {"status": "IN_QUEUE", "queue_position": 0, "request_id": "r1"}
RUNNING_1 = {"status": "IN_PROGRESS", "logs": [log("starting")], "request_id": "r1"}
RUNNING_2 = {"status": "IN_PROGRESS", "logs": [log("starting"), log("step 1/2")], "request_id": "r1"}
DONE = {
    "status": "COMPLETED",
    "logs": [log("starting"), log("step 1/2"), log("step 2/2")],
    "metrics": {"inference_time": 1.2},
    "request_id": "r1",
}
