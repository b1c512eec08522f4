"""Print how long a keep-alive request to the sandbox takes: the first request on a connection, then the next ones.

    python benchmarks/sandbox_keepalive.py [--requests 50]

Before the sandbox's sockets had ``TCP_NODELAY`` every request after the first on one connection took ~44 ms
(Nagle's algorithm waiting for a delayed ACK); with it they take about a millisecond. Figures are printed, never
asserted (tests/sandbox/test_embedded.py checks the socket option itself).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from sandbox import start_sandbox

KEY = {"Authorization": "Key benchmark"}


async def timings(base: str, requests: int) -> dict[str, list[float]]:
    """Milliseconds per request, by kind, all on one keep-alive connection."""
    out: dict[str, list[float]] = {"GET stats": [], "POST submit": [], "GET pricing": []}
    async with httpx.AsyncClient(timeout=10) as client:
        first_started = time.perf_counter()
        (await client.get(f"{base}/_sandbox/stats")).raise_for_status()
        out["first request"] = [(time.perf_counter() - first_started) * 1000]
        for _ in range(requests):
            for kind, call in (
                ("GET stats", lambda: client.get(f"{base}/_sandbox/stats")),
                (
                    "POST submit",
                    lambda: client.post(
                        f"{base}/fal/queue/fal-ai/flux-pro",
                        json={"prompt": "keep-alive", "image_size": {"width": 64, "height": 48}},
                        headers=KEY,
                    ),
                ),
                (
                    "GET pricing",
                    lambda: client.get(
                        f"{base}/fal/api/v1/models/pricing", params={"endpoint_id": "fal-ai/flux-pro"}, headers=KEY
                    ),
                ),
            ):
                started = time.perf_counter()
                (await call()).raise_for_status()
                out[kind].append((time.perf_counter() - started) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with start_sandbox() as sandbox:
        results = asyncio.run(timings(sandbox.url, args.requests))
        httpx.post(f"{sandbox.url}/_sandbox/reset", timeout=10)
    print(f"sandbox keep-alive latency over one connection ({args.requests} requests of each kind)")
    for kind, values in results.items():
        print(
            f"  {kind:<14} median {statistics.median(values):7.2f} ms   max {max(values):7.2f} ms   n={len(values)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
