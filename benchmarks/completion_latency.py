"""Print how long after the sandbox finishes a job the fal provider delivers its result, streamed vs polled,
and how many uploads a batch of runs over one input image costs.

    python benchmarks/completion_latency.py [--runs 20] [--concurrency 4] [--step-seconds 0.02]

The sandbox runs in this process (its own thread), so both sides read the same monotonic clock: the delay is
``provider yields Completed`` minus ``sandbox marks the job finished`` and includes the result fetch.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from PIL import Image

from endpoints import get_endpoint
from providers.base import Completed, Credentials
from providers.fal import FalQueueProvider
from sandbox import SandboxOptions, start_sandbox

KEY = Credentials("benchmark", "sandbox")


async def one_run(provider: FalQueueProvider, sandbox, spec, values) -> float:
    job = await provider.submit(spec, spec.build_input(values), KEY)
    async for event in job.events():
        if isinstance(event, Completed):
            delivered = time.monotonic()
            finished = sandbox.state.jobs.jobs[job.request_id].finished_at
            return delivered - finished
    raise RuntimeError("no result")


async def measure(sandbox, *, stream: bool, runs: int, concurrency: int, poll_interval: float) -> list[float]:
    spec = get_endpoint("flux_pro")
    values = {"prompt": "benchmark", "num_inference_steps": 10, "image_size": "square"}
    async with httpx.AsyncClient() as client:
        provider = FalQueueProvider(
            client,
            queue_url=sandbox.fal_queue_url,
            rest_url=sandbox.fal_rest_url,
            prefer_stream=stream,
            poll_interval=poll_interval,
        )
        gate = asyncio.Semaphore(concurrency)

        async def bounded() -> float:
            async with gate:
                return await one_run(provider, sandbox, spec, values)

        return list(await asyncio.gather(*(bounded() for _ in range(runs))))


async def uploads_for_one_image(sandbox, runs: int) -> tuple[int, int]:
    spec = get_endpoint("flux_dev_image_to_image")
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "input.png"
        Image.radial_gradient("L").convert("RGB").save(image)
        before = sandbox.state.stats.uploads
        async with httpx.AsyncClient() as client:
            provider = FalQueueProvider(
                client, queue_url=sandbox.fal_queue_url, rest_url=sandbox.fal_rest_url, local_file_roots=(Path(tmp),)
            )
            values = {"prompt": "reuse", "image_url": str(image), "num_inference_steps": 10}
            jobs = await asyncio.gather(*(provider.submit(spec, spec.build_input(values), KEY) for _ in range(runs)))
            for job in jobs:
                async for _ in job.events():
                    pass
        return runs, sandbox.state.stats.uploads - before


def describe(label: str, delays: list[float]) -> str:
    ms = sorted(d * 1000 for d in delays)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{label:<28} runs={len(ms):<3} median={statistics.median(ms):7.1f} ms  p95={p95:7.1f} ms  max={ms[-1]:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--step-seconds", type=float, default=0.02)
    parser.add_argument("--poll-interval", type=float, default=0.5, help="polling interval to compare against")
    args = parser.parse_args()
    with start_sandbox(SandboxOptions(step_seconds=args.step_seconds, capacity=args.concurrency)) as sandbox:
        streamed = asyncio.run(measure(sandbox, stream=True, runs=args.runs, concurrency=args.concurrency, poll_interval=args.poll_interval))
        polled = asyncio.run(measure(sandbox, stream=False, runs=args.runs, concurrency=args.concurrency, poll_interval=args.poll_interval))
        runs, uploads = asyncio.run(uploads_for_one_image(sandbox, args.runs))
    print("Delay from the sandbox finishing a job to the provider delivering its result:")
    print(describe("SSE status stream (default)", streamed))
    print(describe(f"polling every {args.poll_interval:g} s", polled))
    print(f"Uploads for {runs} concurrent runs over one input image: {uploads}")


if __name__ == "__main__":
    main()
