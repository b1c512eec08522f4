"""Everything one sandbox server holds in memory, created by ``create_app`` and shared by its routes."""

from __future__ import annotations

import asyncio

from sandbox.accounts import BflAccount, SegmindAccount
from sandbox.faults import FaultInjector
from sandbox.jobs import JobRunner
from sandbox.options import SandboxOptions
from sandbox.stats import SandboxStats
from sandbox.storage import Storage

DECODE_SLOTS = 2


class SandboxState:
    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.stats = SandboxStats()
        self.closing = asyncio.Event()
        self.faults = FaultInjector(
            options.faults, self.closing, lambda family, kind: self.stats.record_fault(family, kind)
        )
        self.storage = Storage(options.storage_max_bytes)
        self.jobs = JobRunner(self)
        self.segmind = SegmindAccount(options)
        self.bfl = BflAccount(options.bfl_credits)
        self.decode_slots = asyncio.Semaphore(DECODE_SLOTS)  # input images decoded at once, across all jobs

    def begin_shutdown(self) -> None:
        """Release open streams and hanging responses so the server can stop promptly."""
        self.closing.set()
        self.jobs.wake_all()

    async def aclose(self) -> None:
        self.begin_shutdown()
        await self.jobs.stop()

    async def reset(self) -> None:
        """Back to a fresh server with the same options: jobs cancelled, files, counters and credits cleared."""
        await self.jobs.stop("The sandbox was reset")
        self.jobs.jobs.clear()
        self.storage.clear()
        self.stats = SandboxStats()
        self.faults.clear()
        self.segmind = SegmindAccount(self.options)
        self.bfl = BflAccount(self.options.bfl_credits)
