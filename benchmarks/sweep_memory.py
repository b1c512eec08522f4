"""Peak memory of sweeps of large images: a 64-cell sweep at 2048×2048 (and optionally several at once), through
the same steps as the app's sweep handler — plan, cells through the run engine, the labelled grid and the ZIP
(``runs.sweep_output.grid_and_zip``), the grid into the media store.

The sandbox runs in its own process (benchmarks/harness.py), so the figures are this process's: the resident set
size sampled every 10 ms, against the idle size after a small warm-up sweep. Prints figures; asserts nothing.
Loopback only; stops by itself.

    python benchmarks/sweep_memory.py [--cells 64] [--size 2048] [--sweeps 1]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import sandbox_process  # harness puts the repository root on sys.path

from app import make_backends, make_context
from components.context import AppContext
from components.sweep_run import seconds_per_job
from endpoints import get_endpoint
from providers.config import ProviderSettings
from providers.media import MediaStore
from runs.sweep import parse_json_axis, plan_sweep
from runs.sweep_output import grid_and_zip
from runs.sweep_runner import start_sweep


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class PeakRss:
    """The highest resident set size seen while the block runs, sampled every 10 ms from a thread."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.01)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


async def one_sweep(ctx: AppContext, cells: int, size: int, seed0: int) -> tuple[int, int, tuple[int, int]]:
    """One sweep as the app's handler runs it; returns (cells done, ZIP bytes, grid size)."""
    spec = get_endpoint("flux_pro")
    route = ctx.backends.route("fal", None)
    base = {"prompt": "a lighthouse", "num_inference_steps": 2, "image_size": {"width": size, "height": size},
            "seed": 1}
    base = {k: v for k, v in base.items() if k in spec.input_model.model_fields}
    x = parse_json_axis(spec, "seed", list(range(seed0, seed0 + cells)), base, axis="X",
                        max_values=ctx.sweep_limits.max_cells)
    plan = plan_sweep(spec, base, x, None, cost_of=lambda s, w: ctx.runner.estimate(s, w, route),
                      seconds_per_job=lambda s, w: seconds_per_job(ctx, route, s, w),
                      max_cells=ctx.sweep_limits.max_cells, concurrency=ctx.sweep_limits.concurrency,
                      max_grid_pixels=ctx.sweep_limits.max_grid_pixels)
    run = start_sweep(plan, ctx.runner, lambda target: route, concurrency=ctx.sweep_limits.concurrency)
    records: Any = None
    async for update in run.updates():
        records = update.records or records
    await ctx.runner.await_images(records)  # as the app does: the cells' images are copied off the critical path
    grid_path, zip_path = await asyncio.to_thread(grid_and_zip, ctx.runner, plan, records, ctx.sweep_files,
                                                     ctx.sweep_limits.max_grid_pixels)
    grid_bytes = await asyncio.to_thread(Path(grid_path).read_bytes)
    await ctx.runner.media.save(grid_bytes, "image/png")
    from PIL import Image

    with Image.open(grid_path) as grid:
        grid_size = grid.size
    return sum(r.state == "done" for r in records), os.path.getsize(zip_path), grid_size


async def main(args: argparse.Namespace) -> None:
    total = args.cells * args.sweeps
    with sandbox_process(capacity=max(total, 2), step_seconds=0.01, startup_seconds=0.0) as sbx:
        folder = Path(tempfile.mkdtemp(prefix="sweep-memory-"))
        backends = make_backends(ProviderSettings(), sandbox_url=sbx.url, force_sandbox=True)
        env = {"PLAYGROUND_SWEEP_MAX_CELLS": str(max(args.cells, 64))}
        ctx = make_context(backends, env, media=MediaStore(folder / "media"))
        try:
            await one_sweep(ctx, 2, 256, 10_000)  # warm-up: codecs, fonts, connections
            gc.collect()
            await asyncio.sleep(0.5)
            idle = rss_mb()
            started = time.monotonic()
            with PeakRss() as peak:
                results = await asyncio.gather(*(one_sweep(ctx, args.cells, args.size, 1 + i * args.cells)
                                                 for i in range(args.sweeps)))
            took = time.monotonic() - started
            for done, zip_bytes, grid_size in results:
                print(f"sweep: {done}/{args.cells} cells done, ZIP {zip_bytes / 1e6:.1f} MB, "
                      f"grid {grid_size[0]}×{grid_size[1]} ({grid_size[0] * grid_size[1] / 1e6:.1f} MP)")
            print(f"{args.sweeps} sweep(s) of {args.cells} cells at {args.size}×{args.size}: {took:.1f} s")
            print(f"RSS idle {idle:.0f} MB, peak {peak.peak:.0f} MB: peak above idle {peak.peak - idle:.0f} MB"
                  f"   (target < 400 MB for one sweep)")
        finally:
            await backends.aclose()
            ctx.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=64)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--sweeps", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
