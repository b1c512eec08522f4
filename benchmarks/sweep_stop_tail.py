"""Print how long after Stop the last remote cancel of a 16-cell sweep is sent, over many stops: the tail, not
one sample. ``sweep_speed.py`` measures the sweep's wall time, the shared-image uploads and one Stop.

    python benchmarks/sweep_stop_tail.py [--cells 16] [--stops 20] [--stop-after 1.0] [--steps 50]

Each round starts a sweep of ``--cells`` 50-step jobs on a sandbox (own process, capacity >= cells), presses Stop
``--stop-after`` seconds in, and times every ``PUT .../cancel`` as it leaves (an httpx request hook on the fal
provider's own client). A cell whose task cancellation is lost is only cancelled by ``SweepRun``'s fallback after
``STOP_GRACE`` (1 s): those show up here as cancels "after 0.5 s". Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import median, percentile, sandbox_process  # harness puts the repository root on sys.path

from endpoints import get_endpoint
from providers.media import MediaStore
from providers.registry import build_providers, sandbox_settings
from providers.routing import SANDBOX_KEY, Route
from runs.record import Cost
from runs.runner import Runner
from runs.sweep import parse_axis, plan_sweep
from runs.sweep_runner import start_sweep

FLUX_PRO = get_endpoint("flux_pro")
BOUND = 120.0  # any one measurement


def plan_for(spec: Any, base: dict[str, Any], cells: int) -> Any:
    rng = random.Random(0)
    x_axis = parse_axis(spec, "seed", f"1-{cells}", base, rng=rng)
    return plan_sweep(spec, base, x_axis, None, cost_of=lambda s, w: Cost(0.0, "benchmark"),
                      seconds_per_job=lambda s, w: 1.0, max_cells=max(64, cells), concurrency={"fal": cells},
                      rng=rng)


async def one_run(runner: Runner, route: Route, spec: Any, base: dict[str, Any]) -> tuple[float, str]:
    began = time.monotonic()
    final = None
    async with asyncio.timeout(BOUND):
        async for update in runner.run(spec, spec.build_input({**base, "seed": 7}), route):
            final = update
    assert final is not None and final.record is not None
    return time.monotonic() - began, final.record.state


async def stop_latency(runner: Runner, route: Route, plan: Any, cells: int, cancels: list[float],
                       stop_after: float) -> dict[str, Any]:
    """Start the sweep, press Stop after ``stop_after`` s, and time the cancels that leave after it."""
    sweep = start_sweep(plan, runner, lambda spec: route, concurrency={"fal": cells})
    states: dict[str, int] = {}

    async def consume() -> None:
        async for update in sweep.updates():
            if update.records is not None:
                for record in update.records:
                    states[record.state] = states.get(record.state, 0) + 1

    consumer = asyncio.ensure_future(consume())
    await asyncio.sleep(stop_after)
    before = {s.state for s in sweep._status}
    cancels.clear()
    pressed = time.monotonic()
    async with asyncio.timeout(BOUND):
        await sweep.stop()
        returned = time.monotonic()
        await consumer
    return {
        "cells_when_stopped": sorted(before),
        "cancels_sent": len(cancels),
        "first_cancel": (min(cancels) - pressed) if cancels else None,
        "last_cancel": (max(cancels) - pressed) if cancels else None,
        "late": sum(1 for t in cancels if t - pressed > 0.5),
        "stop_returned": returned - pressed,
        "records": states,
    }


async def measure(args: argparse.Namespace, sandbox: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="flux-sweep-bench-") as tmp:
        providers = build_providers(sandbox_settings(sandbox.url), is_sandbox=True)
        fal = providers.get("fal")
        cancels: list[float] = []

        async def on_request(request: Any) -> None:
            if request.method == "PUT" and request.url.path.endswith("/cancel"):
                cancels.append(time.monotonic())

        fal.client.event_hooks["request"].append(on_request)
        runner = Runner(MediaStore(Path(tmp) / "media"))
        route = Route(fal, SANDBOX_KEY, "sandbox")
        size = {"width": 256, "height": 192}
        base = {"prompt": "a lighthouse at dusk", "image_size": size, "num_inference_steps": 10}
        try:
            await one_run(runner, route, FLUX_PRO, base)  # warm-up: connections, first-call caches
            long_base = {**base, "num_inference_steps": args.steps}
            print(f"Stop {args.stop_after:g} s into a {args.cells}-cell sweep of {args.steps}-step jobs "
                  f"({args.startup_seconds + args.steps * args.step_seconds:.1f} s each), {args.stops} times:")
            lasts: list[float] = []
            late_stops = 0
            for attempt in range(args.stops):
                cancels_before = len((await asyncio.to_thread(sandbox.stats))["cancels"])
                result = await stop_latency(runner, route, plan_for(FLUX_PRO, long_base, args.cells), args.cells,
                                            cancels, args.stop_after)
                stats = await asyncio.to_thread(sandbox.stats)
                received = stats["cancels"][cancels_before:]
                first = result["first_cancel"]
                last = result["last_cancel"]
                if first is None or last is None:
                    print(f"   #{attempt + 1}: no cancel was sent; records {result['records']}")
                else:
                    outcomes = sorted({c.get("outcome", "?") for c in received})
                    print(f"   #{attempt + 1}: cells {'/'.join(result['cells_when_stopped'])} when stopped; "
                          f"{result['cancels_sent']} cancels sent ({result['late']} after 0.5 s), first "
                          f"+{first * 1000:.0f} ms, last +{last * 1000:.0f} ms; stop() returned "
                          f"+{result['stop_returned'] * 1000:.0f} ms; records {result['records']}; "
                          f"sandbox got {len(received)} {outcomes}", flush=True)
                    late_stops += result["late"] > 0
                if last is not None:
                    lasts.append(last)
                await asyncio.sleep(0.5)
            if lasts:
                print(f"last cancel after Stop: median {median(lasts) * 1000:.0f} ms, p95 "
                      f"{percentile(lasts, 95) * 1000:.0f} ms, max {max(lasts) * 1000:.0f} ms over {len(lasts)} stops; "
                      f"stops with a cancel later than 0.5 s: {late_stops}")
        finally:
            await runner.drain()
            await providers.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--step-seconds", type=float, default=0.12)
    parser.add_argument("--startup-seconds", type=float, default=0.3)
    parser.add_argument("--stop-after", type=float, default=1.0, help="seconds into the sweep to press Stop")
    parser.add_argument("--stops", type=int, default=20, help="how many sweeps to stop")
    args = parser.parse_args()
    if not 1 <= args.cells <= 64 or not 1 <= args.stops <= 50 or not 10 <= args.steps <= 50:
        parser.error("cells 1..64, stops 1..50, steps 10..50")
    options = {"capacity": max(args.cells, 16), "step_seconds": args.step_seconds,
               "startup_seconds": args.startup_seconds}
    started = time.monotonic()
    print(f"sweep Stop tail: {args.cells} cells, sandbox capacity {options['capacity']}, {os.cpu_count()} cores")
    with sandbox_process(**options) as sandbox:
        asyncio.run(measure(args, sandbox))
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
