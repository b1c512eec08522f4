"""The providers' connection pool against httpcore's own, side by side (``providers/connection_pool.py``).

    python benchmarks/connection_pool.py [--streams 50] [--idle 50] [--requests 2000] [--rounds 3]

The shape of the app at 50 visitors: ``--streams`` requests held open (the runs' status streams), ``--idle``
connections idle in the pool (runs that ended), and short requests (status polls, results, images) made 10 at a
time. The client's CPU per short request is measured for each pool, in one process, pools alternating round after
round, with the providers' limits (``providers.registry``: 1,000 connections, 200 kept idle). The server runs in a
process of its own (127.0.0.1), so its CPU is not counted. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import httpcore
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from providers.connection_pool import LinearConnectionPool, pooled_transport
from providers.registry import MAX_CONNECTIONS, MAX_KEEPALIVE, tls_context
from tests.providers.test_connection_pool import Server

SLOW = b"/slow"


def serve(port_out: multiprocessing.SimpleQueue, hold: float) -> None:
    """Answers ``/slow`` after ``hold`` seconds and anything else at once, keep-alive, until killed."""

    async def main() -> None:
        server = Server(0.0, slow=(SLOW, hold))
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, backlog=1024)
        port_out.put(listener.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


async def one_round(pool: type, url: str, streams: int, idle: int, requests: int) -> float:
    """CPU seconds per short request with ``streams`` held open and ``idle`` connections idle."""
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE)
    transport = pooled_transport(tls_context(), limits)
    transport._pool.__class__ = pool
    async with httpx.AsyncClient(transport=transport, timeout=60) as client:
        await asyncio.gather(*(client.get(url) for _ in range(streams + idle)))  # open that many connections
        held = [asyncio.ensure_future(client.get(url + "slow")) for _ in range(streams)]
        await asyncio.sleep(0.3)  # the streams have their connections
        began = time.process_time()
        for _ in range(requests // 10):
            await asyncio.gather(*(client.get(url) for _ in range(10)))
        spent = time.process_time() - began
        for task in held:
            task.cancel()
        await asyncio.gather(*held, return_exceptions=True)
    return spent / requests


async def run(url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"httpcore": [], "linear": []}
    for index in range(args.rounds):
        order = [("httpcore", httpcore.AsyncConnectionPool), ("linear", LinearConnectionPool)]
        for name, pool in order if index % 2 == 0 else order[::-1]:
            out[name].append(await one_round(pool, url, args.streams, args.idle, args.requests))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ports: multiprocessing.SimpleQueue = multiprocessing.SimpleQueue()
    server = multiprocessing.Process(target=serve, args=(ports, 600.0), daemon=True)
    server.start()
    try:
        url = f"http://127.0.0.1:{ports.get()}/"
        figures = asyncio.run(run(url, args))
    finally:
        server.kill()
    print(f"httpcore {httpcore.__version__}; {args.streams} streams open, {args.idle} connections idle, "
          f"{args.requests} short requests 10 at a time, {args.rounds} rounds (pools alternating)")
    for name, values in figures.items():
        print(f"{name:9} client CPU per short request: median {statistics.median(values) * 1e3:.3f} ms  "
              f"({', '.join(f'{v * 1e3:.3f}' for v in values)})")
    ratio = statistics.median(figures["linear"]) / statistics.median(figures["httpcore"])
    print(f"linear / httpcore: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
