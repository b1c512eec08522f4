"""The sandbox's accounts with the providers that bill per key: Segmind's credits and runner slots, BFL's credits
and tasks. Plain state held by ``SandboxState``; the routes that use them are in ``sandbox.segmind`` and
``sandbox.bfl``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sandbox.jobs import Job
from sandbox.options import SandboxOptions


class SegmindAccount:
    """Credits and the runner slots of the Segmind side."""

    def __init__(self, options: SandboxOptions) -> None:
        self.credits = options.credits
        self.slots = asyncio.Semaphore(options.capacity)


@dataclass
class BflAccount:
    """Credits and active tasks per key, and the tasks themselves (by id) with their moderation verdicts."""

    credits: float
    tasks: dict[str, BflTask] = field(default_factory=dict)


@dataclass(eq=False)
class BflTask:
    job: Job
    key: str
    moderation: str | None  # "Request Moderated" | "Content Moderated" | None
    expires_after: float

    @property
    def active(self) -> bool:
        return not self.job.done
