"""What the page shows about one run — status line, progress, log text, gallery captions — as plain data.

No Gradio here: the tab feeds ``RunUpdate``s in and copies these strings out, and tests check them without a
browser. Log lines are kept as a bounded list; ``logs_text`` joins them only when the page is updated.
"""

from __future__ import annotations

import html
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from components.widgets import SWEEP_ORIGIN_CLASS
from providers.base import LogLine
from runs.pricing import format_usd
from runs.progress import Step
from runs.record import RunRecord
from runs.runner import RunUpdate

MAX_LOG_LINES = 500


def caption(seed: int | None, nsfw: bool | None, index: int, count: int) -> str:
    """``#1/2 · seed 42 · NSFW: no``; flagged images say so in capitals; unknown stays unknown."""
    nsfw_text = {True: "⚠ NSFW: FLAGGED (blacked out)", False: "NSFW: no", None: "NSFW: not reported"}[nsfw]
    seed_text = f"seed {seed}" if seed is not None else "seed unknown"
    prefix = f"#{index + 1}/{count} · " if count > 1 else ""
    return f"{prefix}{seed_text} · {nsfw_text}"


def origin_html(origin: str, refused: list[str] | tuple[str, ...] = (), *, sweep: bool = False) -> str:
    """The status line after values came from outside the form (a history run, an image, a link): where from, and
    what was left out, so a person knows what Generate will send (``sweep``: a sweep's form and axes, which Run
    sweep runs)."""
    left_out = f" Left at their defaults: {html.escape('; '.join(refused))}." if refused else ""
    if sweep:
        return (f"<p class='fp-origin {SWEEP_ORIGIN_CLASS}'>{html.escape(origin)}{left_out} Press <b>Run sweep</b> in "
                "the Sweep section to run it again.</p>")
    return (f"<p class='fp-origin'>{html.escape(origin)}{left_out} Press <b>Generate</b> to run it.</p>")


def image_captions(result: dict[str, Any]) -> list[str]:
    """Captions for a result JSON (``Result.to_json`` shape)."""
    flags = result.get("has_nsfw_concepts")
    count = len(result.get("images") or [])
    seed = result.get("seed")
    return [
        caption(seed, flags[i] if isinstance(flags, list) and i < len(flags) else None, i, count)
        for i in range(count)
    ]


def _log_text(line: LogLine) -> str:
    return line.message if line.level in ("INFO", "STDOUT") else f"[{line.level}] {line.message}"


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 60 else f"{int(value // 60)} min {int(value % 60)} s"


@dataclass
class RunView:
    endpoint_title: str
    provider_label: str  # e.g. "fal.ai (sandbox)"
    cost_text: str = ""  # the estimate, shown while the run is under way
    state: str = "preparing"
    elapsed: float = 0.0
    position: int | None = None
    step: Step | None = None
    eta: float | None = None
    request_id: str | None = None
    log_lines: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_LOG_LINES))
    record: RunRecord | None = None

    def apply(self, update: RunUpdate) -> bool:
        """Take one update; True when it changed the state (worth an immediate page update)."""
        changed = update.state != self.state or update.position != self.position
        self.state, self.elapsed = update.state, update.elapsed
        self.position = update.position if update.state == "queued" else None
        self.step = update.step or self.step
        self.eta = update.eta
        self.request_id = update.request_id or self.request_id
        self.log_lines.extend(_log_text(line) for line in update.new_logs)
        if update.record is not None:
            self.record = update.record
            self.request_id = update.record.request_id or self.request_id
            changed = True
        return changed

    @property
    def logs_text(self) -> str:
        return "\n".join(self.log_lines)

    def _where(self) -> str:
        return f"{html.escape(self.endpoint_title)} on {html.escape(self.provider_label)}"

    def _progress_bar(self) -> str:
        if self.step is None:
            return ""
        left = f" · about {_seconds(self.eta)} left" if self.eta is not None else ""
        return (
            f'<div class="fp-progress"><progress max="{self.step.total}" value="{self.step.index}"></progress>'
            f"<span>{self.step}{left}</span></div>"
        )

    def status_html(self) -> str:
        """The status line (HTML: a progress bar while steps are known)."""
        seconds = _seconds(self.elapsed)
        cost = f" · {html.escape(self.cost_text)}" if self.cost_text else ""
        rid = f" · request <code>{html.escape(self.request_id)}</code>" if self.request_id else ""
        if self.state == "preparing":
            return f"<p>⏳ <b>Preparing</b> the request for {self._where()} · {seconds}{cost}</p>"
        if self.state == "queued":
            if self.position is None:
                return f"<p>📨 <b>Submitted</b> to {self._where()} · {seconds}{rid}</p>"
            ahead = "next in line" if self.position == 0 else f"{self.position} request(s) ahead"
            return f"<p>🕒 <b>Queued</b> at position {self.position} ({ahead}) · {seconds}{rid}</p>"
        if self.state in ("running", "saving"):
            doing = "Running" if self.state == "running" else "Saving images"
            return f"<p>⚙️ <b>{doing}</b> on {html.escape(self.provider_label)} · {seconds}{rid}</p>{self._progress_bar()}"
        record = self.record
        if record is None and self.state == "stopped":  # stopped before a record was made
            return "<p class='fp-stopped'>⏹ <b>Stopped</b>; the remote request was cancelled.</p>"
        if record is None:
            return f"<p>{html.escape(self.state)}</p>"
        duration = _seconds(record.timings.duration or self.elapsed)
        spent = _cost_line(record)
        if record.state == "done" and record.result is not None:
            result = record.result
            n = len(result.get("images") or [])
            flagged = sum(bool(x) for x in (result.get("has_nsfw_concepts") or []))
            flag_text = f" · ⚠ {flagged} flagged NSFW" if flagged else ""
            lines = "".join(f"<br>🖼 {html.escape(text)}" for text in image_captions(result))
            return (
                f"<p>✅ <b>Done</b> in {duration} · {n} image{'' if n == 1 else 's'} · seed {result.get('seed')}{flag_text}{spent}{rid}"
                f"{lines}</p>"
            )
        error = record.error
        message = html.escape(error.message if error else "")
        if record.state == "stopped":
            return f"<p class='fp-stopped'>⏹ <b>Stopped</b> after {duration}. {message}{rid}</p>"
        fields = ""
        if error and error.fields:
            fields = "<ul>" + "".join(  # data-field: the page also shows the message next to the field
                f'<li data-field="{html.escape(_root(path))}" data-path="{html.escape(path)}"><code>{html.escape(path)}</code>: '
                f"{html.escape(problem)}</li>"
                for path, problem in error.fields
            ) + "</ul>"
        return f'<div class="fp-failed"><p>❌ <b>Failed</b> after {duration}: {message}{rid}</p>{fields}</div>'


def _root(path: str) -> str:
    """``loras[0].scale`` -> ``loras``: the form field a nested path belongs to."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _cost_line(record: RunRecord) -> str:
    cost = record.cost
    if record.cached:  # "from cache (first run <when>, request <id>) · $0.00": nothing was billed
        return f" · 💾 {html.escape(cost.basis)} · ${cost.usd or 0.0:.2f}"
    if cost.usd is None:
        return ""
    if record.route == "sandbox":  # the estimate said nothing is billed: the Done line says it again
        return f" · {format_usd(cost.usd)} live, not billed in the sandbox ({html.escape(cost.basis)})"
    return f" · {format_usd(cost.usd)} ({html.escape(cost.basis)})"
