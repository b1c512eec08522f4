"""Step progress read from provider log lines: ``Step 14/28``, ``14/28 [00:05<00:09]`` (tqdm), ``step 3 of 10``, and
a percentage (``Progress 45%``, ``Ready: 100%``: Black Forest Labs reports no steps, only how far a task is)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_STEP = re.compile(r"(?i)\bstep\s*(\d{1,6})\s*(?:/|of)\s*(\d{1,6})\b")
_TQDM = re.compile(r"(?<![\d/])(\d{1,6})\s*/\s*(\d{1,6})\s*\[")
_PERCENT = re.compile(r"(?i)^\s*(?:progress|ready)\s*:?\s*(\d{1,3})\s*%\s*$")


@dataclass(frozen=True)
class Step:
    index: int  # steps done
    total: int
    percent: bool = False  # a percentage (index of 100), said as one

    @property
    def fraction(self) -> float:
        return self.index / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.index}%" if self.percent else f"Step {self.index}/{self.total}"


def parse_step(message: str) -> Step | None:
    """The step a log line reports, if it reports one (and it is plausible: 0 <= index <= total, total > 0)."""
    match = _STEP.search(message) or _TQDM.search(message)
    if match is None:
        percent = _PERCENT.match(message)
        return Step(int(percent.group(1)), 100, percent=True) if percent and int(percent.group(1)) <= 100 else None
    index, total = int(match.group(1)), int(match.group(2))
    if total <= 0 or index > total:
        return None
    return Step(index, total)


@dataclass
class StepClock:
    """Time left from the step rate seen so far (None until two step reports are apart in time)."""

    first: tuple[float, int] | None = None  # (time, index) of the first step seen
    last: Step | None = None

    def observe(self, step: Step, now: float) -> None:
        if self.first is None or step.index < self.first[1]:
            self.first = (now, step.index)
        self.last = step

    def eta(self, now: float) -> float | None:
        if self.first is None or self.last is None:
            return None
        done = self.last.index - self.first[1]
        if done <= 0:
            return None
        per_step = (now - self.first[0]) / done
        return max(0.0, per_step * (self.last.total - self.last.index))
