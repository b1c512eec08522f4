"""What the page shows about one run — status line, log text, gallery captions — as plain data.

No Gradio here: the tab handler feeds provider events in and copies these strings out, and tests check them
without a browser.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from providers.base import Completed, JobEvent, Queued, Result, Running

MAX_LOG_LINES = 500


def caption(seed: int | None, nsfw: bool | None, index: int, count: int) -> str:
    """``#1/2 · seed 42 · NSFW: no``; flagged images say so in capitals; unknown stays unknown."""
    nsfw_text = {True: "⚠ NSFW: FLAGGED (blacked out)", False: "NSFW: no", None: "NSFW: not reported"}[nsfw]
    seed_text = f"seed {seed}" if seed is not None else "seed unknown"
    prefix = f"#{index + 1}/{count} · " if count > 1 else ""
    return f"{prefix}{seed_text} · {nsfw_text}"


def image_captions(result: Result) -> list[str]:
    flags = result.has_nsfw_concepts
    count = len(result.images)
    return [
        caption(result.seed, flags[i] if flags is not None and i < len(flags) else None, i, count)
        for i in range(count)
    ]


@dataclass
class RunView:
    endpoint_title: str
    provider_label: str  # e.g. "fal (sandbox)"
    started: float = field(default_factory=time.monotonic)
    state: str = "submitting"  # submitting | queued | running | done | failed | stopped
    position: int | None = None
    log_lines: list[str] = field(default_factory=list)
    error: str | None = None
    result: Result | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def apply(self, event: JobEvent) -> None:
        if isinstance(event, Queued):
            self.state, self.position = "queued", event.position
        elif isinstance(event, Running):
            self.state = "running"
            for line in event.logs:
                self.log_lines.append(line.message if line.level in ("INFO", "STDOUT") else f"[{line.level}] {line.message}")
            del self.log_lines[:-MAX_LOG_LINES]
        elif isinstance(event, Completed):
            self.state, self.result = "done", event.result

    def fail(self, message: str) -> None:
        self.state, self.error = "failed", message

    def stop(self) -> None:
        self.state = "stopped"

    @property
    def logs_text(self) -> str:
        return "\n".join(self.log_lines)

    def status_line(self) -> str:
        seconds = f"{self.elapsed():.1f} s"
        where = f"{self.endpoint_title} on {self.provider_label}"
        if self.state == "submitting":
            return f"⏳ **Submitting** to {where} · {seconds}"
        if self.state == "queued":
            ahead = "next in line" if self.position == 0 else f"{self.position} request(s) ahead"
            return f"🕒 **Queued** at position {self.position} ({ahead}) · {seconds}"
        if self.state == "running":
            return f"⚙️ **Running** on {self.provider_label} · {seconds} · {len(self.log_lines)} log line(s)"
        if self.state == "done" and self.result is not None:
            n = len(self.result.images)
            flagged = sum(bool(x) for x in (self.result.has_nsfw_concepts or []))
            flag_text = f" · ⚠ {flagged} flagged NSFW" if flagged else ""
            lines = "".join(f"  \n🖼 {text}" for text in image_captions(self.result))
            return f"✅ **Done** in {seconds} · {n} image(s) · seed {self.result.seed}{flag_text}{lines}"
        if self.state == "stopped":
            return f"⏹ **Stopped** after {seconds}; the remote request was cancelled."
        return f"❌ **Failed** after {seconds}: {self.error}"
