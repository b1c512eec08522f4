"""How long jobs really took, per endpoint and route: a sweep's time estimate starts from what was seen here.

A formula (steps × a guess per step) cannot know a provider's queue, start-up or polling delay: BFL, for one, is
polled, so a job is seen done up to a poll interval after it finished. Once a job of the same endpoint, route and
steps has run, its measured time (submitted → result in hand) is the better guess.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Mapping
from typing import Any

from endpoints.base import EndpointSpec

KEEP = 20  # the most recent jobs kept per (endpoint, route, steps)


def steps_of(spec: EndpointSpec, wire: Mapping[str, Any]) -> Any:
    """The value of the field playing the steps role (None where there is none or it is left to the default)."""
    name = spec.field_for("steps")
    return wire.get(name) if name is not None else None


class JobTimes:
    def __init__(self, keep: int = KEEP) -> None:
        self._keep = keep
        self._seen: dict[tuple[str, bool, object], deque[float]] = {}

    def add(self, endpoint_id: str, sandbox: bool, steps: object, seconds: float) -> None:
        if seconds >= 0:
            self._seen.setdefault((endpoint_id, sandbox, steps), deque(maxlen=self._keep)).append(seconds)

    def typical(self, endpoint_id: str, sandbox: bool, steps: object) -> float | None:
        """The median of the recent jobs like this one, or None before any ran."""
        seen = self._seen.get((endpoint_id, sandbox, steps))
        return statistics.median(seen) if seen else None
