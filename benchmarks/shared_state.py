"""Never pay twice, measured: a cache hit against a fresh sandbox run, and budget reservations on SQLite and on
PostgreSQL from two processes racing for one budget.

    python benchmarks/shared_state.py [--visitors 50] [--reservations 400] [--runs 10]

1. **Cache hit vs fresh run.** The run engine on an embedded sandbox (steps × step time as set), one seeded
   request: the median wall time of a fresh run (``no_cache``: it goes to the sandbox), and of a hit.
2. **A widened sweep.** A 4×4 sweep (seed fixed, guidance × steps) on the sandbox with the cache on, then the same
   sweep with one added column (4×5): the plan's line, the jobs that reached the sandbox and what each sweep cost.
3. **Reservations.** Two processes, each with ``visitors / 2`` concurrent visitors, reserve $0.05 and settle it,
   until the shared daily budget refuses them (budget = ``reservations`` × $0.05 / 2, so half the attempts fit).
   Printed per store: reservations per second (admitted + refused, over the wall time of the slower process),
   what was admitted, and the overspend (admitted spend above the budget; target $0.00).

PostgreSQL comes from ``tests/postgres_support.py`` (a throwaway cluster on 127.0.0.1); without it that line is
skipped with the reason. Everything stays on loopback and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from runs.budget import BudgetExceeded, BudgetLimits, SpendLedger
    from runs.storage import PostgresStore, SqliteStore

    kind, where, visitors, attempts, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])

    async def main():
        store = PostgresStore(where, max_size=10) if kind == "postgres" else SqliteStore(where)
        ledger = SpendLedger(store)
        await ledger.open()
        limits = BudgetLimits(daily_usd=budget)
        admitted = refused = 0
        per_visitor = attempts // visitors

        async def visitor(i):
            nonlocal admitted, refused
            for _ in range(per_visitor):
                try:
                    reservation = await ledger.reserve(f"ip:10.0.{i // 250}.{i % 250}", 0.05, limits)
                except BudgetExceeded:
                    refused += 1
                    continue
                admitted += 1
                await ledger.settle(reservation, 0.05)

        start = time.perf_counter()
        await asyncio.gather(*(visitor(i) for i in range(visitors)))
        elapsed = time.perf_counter() - start
        await store.close()
        print(json.dumps({"admitted": admitted, "refused": refused, "seconds": elapsed}))

    asyncio.run(main())
    """
)


def reservations(kind: str, where: str, visitors: int, attempts: int) -> str:
    budget = attempts * 0.05 / 2
    half = max(1, visitors // 2)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, kind, where, str(half), str(attempts // 2), str(budget)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        for _ in range(2)
    ]
    results = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    admitted = sum(r["admitted"] for r in results)
    total = admitted + sum(r["refused"] for r in results)
    seconds = max(r["seconds"] for r in results)
    overspend = max(0.0, admitted * 0.05 - budget)
    return (
        f"{kind:>8}: {total / seconds:7.0f} reservations/s ({total} in {seconds:.2f} s, 2 processes × {half} "
        f"visitors) · admitted {admitted} × $0.05 of a ${budget:.2f} budget · overspend ${overspend:.2f}"
    )


async def cache_hit_vs_fresh(runs: int) -> str:
    from endpoints import get_endpoint
    from providers.media import MediaStore
    from providers.registry import build_providers, sandbox_settings
    from providers.routing import SANDBOX_KEY, Route
    from runs.result_cache import ResultCache
    from runs.runner import Runner
    from runs.storage import SqliteStore
    from sandbox import SandboxOptions, start_sandbox

    spec = get_endpoint("flux_pro")
    sandbox = start_sandbox(SandboxOptions(step_seconds=0.05, startup_seconds=0.0, capacity=8))
    with tempfile.TemporaryDirectory() as tmp:
        providers = build_providers(sandbox_settings(sandbox.url), local_file_roots=(), is_sandbox=True)
        runner = Runner(MediaStore(Path(tmp) / "media"),
                        cache=ResultCache(SqliteStore(Path(tmp) / "state.sqlite3"), Path(tmp) / "cache"))
        route = Route(providers.get("fal"), SANDBOX_KEY, "sandbox")
        payload = spec.input_model.model_validate(
            {"prompt": "a lighthouse at dusk", "seed": 7, "num_inference_steps": 28,
             "image_size": {"width": 256, "height": 256}}
        )

        async def once(no_cache: bool) -> tuple[float, bool]:
            start = time.perf_counter()
            final = [u async for u in runner.run(spec, payload, route, no_cache=no_cache)][-1].record
            elapsed = time.perf_counter() - start
            await runner.drain()
            assert final is not None and final.state == "done"
            return elapsed, final.cached

        try:
            fresh = [await once(True) for _ in range(runs)]
            hits = [await once(False) for _ in range(runs)]
        finally:
            await providers.aclose()
            sandbox.stop()
    assert not any(c for _, c in fresh) and all(c for _, c in hits)
    fresh_s = statistics.median(t for t, _ in fresh)
    hit_s = statistics.median(t for t, _ in hits)
    return (
        f"cache: fresh sandbox run (28 steps × 0.05 s) median {fresh_s * 1000:.0f} ms · hit median "
        f"{hit_s * 1000:.1f} ms · {fresh_s / hit_s:.0f}× faster, $0.00 and no job sent"
    )


async def widened_sweep() -> list[str]:
    import httpx

    from endpoints import get_endpoint
    from endpoints.base import EndpointSpec
    from providers.media import MediaStore
    from providers.registry import build_providers, sandbox_settings
    from providers.routing import SANDBOX_KEY, Route
    from runs.pricing import estimate_cost
    from runs.record import Cost, RunRecord
    from runs.result_cache import ResultCache
    from runs.runner import Runner
    from runs.storage import SqliteStore
    from runs.sweep import parse_json_axis, plan_sweep
    from runs.sweep_cache import plan_with_cache
    from runs.sweep_runner import start_sweep
    from sandbox import SandboxOptions, start_sandbox

    spec = get_endpoint("flux_pro")
    sandbox = start_sandbox(SandboxOptions(step_seconds=0.002, startup_seconds=0.0, capacity=16))
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        providers = build_providers(sandbox_settings(sandbox.url), local_file_roots=(), is_sandbox=True)
        runner = Runner(MediaStore(Path(tmp) / "media"),
                        cache=ResultCache(SqliteStore(Path(tmp) / "state.sqlite3"), Path(tmp) / "cache"))
        route = Route(providers.get("fal"), SANDBOX_KEY, "sandbox")
        base = spec.input_model.model_validate(
            {"prompt": "a harbour at dusk", "seed": 11, "image_size": "square_hd"}  # 1 MP: $0.05 a job
        ).to_wire()

        def cost_of(s: EndpointSpec, w: dict[str, Any]) -> Cost:  # the catalog price: what a live run would bill
            return estimate_cost(s, w, s.price)

        def submits() -> int:
            return int(httpx.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()["submits"].get(spec.id, 0))

        async def sweep(guidance: list[float]) -> str:
            x = parse_json_axis(spec, "guidance_scale", json.dumps(guidance), base, axis="X")
            y = parse_json_axis(spec, "num_inference_steps", json.dumps([4, 8, 12, 16]), base, axis="Y")
            plan = plan_sweep(spec, base, x, y, cost_of=cost_of, seconds_per_job=lambda s, w: 1.0, max_cells=64,
                              concurrency={"fal": 16})
            plan = await plan_with_cache(plan, runner.cache, lambda _: route, cost_of=cost_of,
                                         seconds_per_job=lambda s, w: 1.0, concurrency={"fal": 16})
            before = submits()
            records: tuple[RunRecord, ...] = ()
            async for update in start_sweep(plan, runner, lambda _: route, concurrency={"fal": 16}).updates():
                records = update.records or records
            await runner.drain()
            assert records and all(r.state == "done" for r in records)
            # Billed live: the cells that were sent, at the catalog price (a cached cell costs $0.00).
            spent = sum(cost_of(cell.endpoint, cell.input).usd or 0.0
                        for cell, r in zip(plan.cells, records, strict=True) if not r.cached)
            columns, rows = plan.shape
            return (f"sweep {columns}×{rows}: plan \"{plan.summary()}\" · jobs sent {submits() - before} · "
                    f"cost ${spent:.2f} at live prices")

        try:
            lines.append(await sweep([2, 3.5, 5, 6.5]))
            lines.append(await sweep([2, 3.5, 5, 6.5, 8]))  # one added column
        finally:
            await providers.aclose()
            sandbox.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--reservations", type=int, default=400)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    print(asyncio.run(cache_hit_vs_fresh(args.runs)))
    for line in asyncio.run(widened_sweep()):
        print(line)
    with tempfile.TemporaryDirectory() as tmp:
        print(reservations("sqlite", str(Path(tmp) / "state.sqlite3"), args.visitors, args.reservations))
    try:
        import pytest

        from tests.postgres_support import postgres_url

        url = postgres_url()
    except (ImportError, pytest.skip.Exception) as exc:
        print(f"postgres: skipped ({exc})")
    else:
        print(reservations("postgres", url, args.visitors, args.reservations))


if __name__ == "__main__":
    main()
