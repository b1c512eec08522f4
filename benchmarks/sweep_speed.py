"""Sweeps on the sandbox: a 16-cell sweep against one single run of the same job, uploads of a shared input image,
and how long after Stop the last remote cancel is sent.

The sandbox runs in its own process (benchmarks/harness.py) with capacity >= the cell count, so no cell waits in
its queue; the runs go through the run engine and the sweep runner exactly as the app's do (no Gradio in the
loop). Prints figures; asserts nothing. Loopback only; stops by itself.

    python benchmarks/sweep_speed.py [--cells 16] [--steps 10] [--step-seconds 0.1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import median, sandbox_process  # harness puts the repository root on sys.path

from endpoints import get_endpoint
from providers.fal import FalJob
from providers.media import MediaStore
from providers.registry import build_providers, sandbox_settings
from providers.routing import SANDBOX_KEY, Route
from runs.record import UNKNOWN_COST
from runs.runner import Runner
from runs.sweep import parse_json_axis, plan_sweep
from runs.sweep_runner import start_sweep


def stats(url: str) -> dict:
    return httpx.get(f"{url}/_sandbox/stats", timeout=10).json()


async def single(runner: Runner, route: Route, values: dict) -> float:
    spec = get_endpoint(values.pop("_api"))
    payload = spec.input_model.model_validate(values)
    started = time.monotonic()
    async for update in runner.run(spec, payload, route):
        if update.record is not None:
            assert update.record.state == "done", update.record.error
    return time.monotonic() - started


def plan(api_name: str, base: dict, cells: int):
    spec = get_endpoint(api_name)
    seeds = random.Random(7).sample(range(1, 10**6), cells)
    x = parse_json_axis(spec, "seed", [*seeds], base, axis="X")
    return plan_sweep(spec, base, x, None, cost_of=lambda s, w: UNKNOWN_COST,
                      seconds_per_job=lambda s, w: 1.0, max_cells=cells, concurrency={"fal": cells, "segmind": 4})


async def sweep(runner: Runner, route: Route, api_name: str, base: dict, cells: int) -> float:
    started = time.monotonic()
    run = start_sweep(plan(api_name, base, cells), runner, lambda spec: route, concurrency={"fal": cells})
    async for update in run.updates():
        if update.records is not None:
            assert all(r.state == "done" for r in update.records), [r.error for r in update.records]
    return time.monotonic() - started


async def stop_latency(runner: Runner, route: Route, base: dict, cells: int) -> tuple[float, int]:
    """Seconds from ``stop()`` to the last remote cancel sent, and how many cancels were sent."""
    sent: list[float] = []
    original = FalJob.cancel

    async def timed(self: FalJob) -> None:
        await original(self)
        sent.append(time.monotonic())

    FalJob.cancel = timed  # type: ignore[method-assign]
    try:
        run = start_sweep(plan("flux_pro", {**base, "num_inference_steps": 50}, cells), runner, lambda spec: route,
                          concurrency={"fal": cells})
        updates = run.updates()
        async for update in updates:
            if update.count("running") == cells:
                break
        stopping = time.monotonic()
        await run.stop()
        await updates.aclose()
    finally:
        FalJob.cancel = original  # type: ignore[method-assign]
    return (max(sent) - stopping if sent else float("nan")), len(sent)


async def main(args: argparse.Namespace) -> None:
    with sandbox_process(capacity=max(args.cells, 2) * 2, step_seconds=args.step_seconds, startup_seconds=0.1) as sbx:
        uploads_dir = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
        providers = build_providers(sandbox_settings(sbx.url), local_file_roots=(uploads_dir,), is_sandbox=True)
        route = Route(providers.get("fal"), SANDBOX_KEY, "sandbox")
        runner = Runner(MediaStore(uploads_dir / "media"))
        base = {"prompt": "a lighthouse", "num_inference_steps": args.steps, "image_size": {"width": 256, "height": 192}}
        await single(runner, route, {"_api": "flux_pro", **base, "seed": 1})  # warm-up
        singles, sweeps = [], []
        for _ in range(args.rounds):
            singles.append(await single(runner, route, {"_api": "flux_pro", **base, "seed": 2}))
            sweeps.append(await sweep(runner, route, "flux_pro", base, args.cells))
        print(f"job time: {args.steps} steps x {args.step_seconds} s + 0.1 s start-up; {args.rounds} rounds")
        print(f"one run:            median {median(singles):.2f} s  ({', '.join(f'{s:.2f}' for s in singles)})")
        print(f"{args.cells}-cell sweep:      median {median(sweeps):.2f} s  ({', '.join(f'{s:.2f}' for s in sweeps)})")
        print(f"ratio sweep / run:  {median(sweeps) / median(singles):.2f}x   (target <= 1.3x)")

        image = io.BytesIO()
        Image.linear_gradient("L").resize((256, 192)).convert("RGB").save(image, "PNG")
        source = uploads_dir / "shared-input.png"
        source.write_bytes(image.getvalue())
        before = stats(sbx.url)["uploads"]
        i2i = {"prompt": "a wizard cat", "image_url": str(source), "num_inference_steps": max(args.steps, 10)}
        await sweep(runner, route, "flux_dev_image_to_image", i2i, args.cells)
        print(f"uploads of a shared input image over a {args.cells}-cell sweep: "
              f"{stats(sbx.url)['uploads'] - before}   (target 1)")

        latency, cancels = await stop_latency(runner, route, base, args.cells)
        print(f"Stop with {args.cells} cells running: last remote cancel sent {latency * 1000:.0f} ms after Stop "
              f"({cancels} cancels)")
        left = stats(sbx.url)["jobs"]
        print(f"jobs left on the sandbox after Stop: IN_QUEUE {left.get('IN_QUEUE', 0)}, "
              f"IN_PROGRESS {left.get('IN_PROGRESS', 0)}")
        await providers.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--step-seconds", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
