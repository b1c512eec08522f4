"""This session's running cost: each run and sweep of any tab counted once, billed runs apart from sandbox runs,
in a State and shown in one line under the title."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from components.context import SESSION_TTL_SECONDS
from components.endpoint_tab import EndpointTab
from components.prose import Prose


@dataclass
class SessionSpend:
    """This session's running cost: billed runs and sandbox runs apart (``new_total``), in a state, shown in a line."""

    state: gr.State
    line: Prose

    @classmethod
    def build(cls) -> SessionSpend:
        state = gr.State(new_total(), time_to_live=SESSION_TTL_SECONDS)
        line = Prose("Since this page opened: no runs yet.", elem_id="session-spend", elem_classes=["fp-badge"])
        return cls(state, line)


def new_total() -> dict[str, Any]:
    """``usd``/``runs``/``unpriced``: runs a provider billed (or would have: a live route); ``sandbox_*``: sandbox
    runs and what they would have cost live; ``seen``: the ids already counted."""
    return {"usd": 0.0, "runs": 0, "unpriced": 0, "sandbox_usd": 0.0, "sandbox_runs": 0, "sandbox_unpriced": 0,
            "seen": []}


def add_to_session(total: dict[str, Any] | None, record_json: dict[str, Any] | None) -> tuple[dict[str, Any], str]:
    """Count a finished run or sweep once (by id) into the session total; the line keeps billed spend apart from
    sandbox runs ("$0.00 billed · 2 sandbox runs that would cost $0.10"). A sweep counts each of its cells."""
    total = {**new_total(), **(total or {})}
    seen = list(total.get("seen") or [])
    if isinstance(record_json, dict) and record_json.get("id") and record_json["id"] not in seen:
        seen = [*seen, record_json["id"]][-200:]
        sweep: dict[str, Any] = record_json["sweep"] if isinstance(record_json.get("sweep"), dict) else {}
        cells = sweep.get("cells") or []
        runs = len(cells) if isinstance(cells, list) and cells else 1
        prefix = "sandbox_" if record_json.get("route") == "sandbox" else ""
        total[f"{prefix}runs"] += runs
        usd = (record_json.get("cost") or {}).get("usd")
        # Served from the result cache, nothing spent: a run, or the cells of a sweep that were (the rest ran).
        served = record_json.get("cached") is True
        cached = runs if served else sweep.get("cached_cells")
        if isinstance(cached, int) and not isinstance(cached, bool) and cached > 0:
            total["cached"] = total.get("cached", 0) + min(cached, runs)  # all of them; of sandbox runs apart
            total[f"{prefix}cached_runs"] = total.get(f"{prefix}cached_runs", 0) + min(cached, runs)
        if served:
            usd = 0.0
        if isinstance(usd, int | float):
            total[f"{prefix}usd"] = round(total[f"{prefix}usd"] + float(usd), 6)
        else:
            total[f"{prefix}unpriced"] += runs
    total["seen"] = seen
    return total, session_line(total)


def session_line(total: dict[str, Any]) -> str:
    """The spend line: billed runs and sandbox runs, each with how many of them the result cache served (nothing
    paid: named with its group, so that one run does not read as two)."""
    if not total["runs"] and not total["sandbox_runs"]:
        return "Since this page opened: no runs yet."
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'s' if n != 1 else ''}"

    def notes(prefix: str) -> str:
        runs, cached = total[f"{prefix}runs"], total.get(f"{prefix}cached_runs", 0)
        unknown = total[f"{prefix}unpriced"]
        parts = [("from cache" if cached == runs == 1 else "all from cache" if cached == runs
                  else f"{cached} from cache")] if cached else []
        parts += [f"+{unknown} of unknown cost"] if unknown else []
        return f" ({'; '.join(parts)})" if parts else ""

    parts = [f"Since this page opened: **${total['usd']:.2f} billed**"
             + (f" over {plural(total['runs'], 'run')}{notes('')}" if total["runs"] else "")]
    if total["sandbox_runs"]:
        # "nothing": runs stopped before they ran, or served from the cache
        would = "nothing" if not total["sandbox_usd"] and not total["sandbox_unpriced"] else f"${total['sandbox_usd']:.2f}"
        parts.append(f"{plural(total['sandbox_runs'], 'sandbox run')}{notes('sandbox_')} that would cost {would}")
    return " · ".join(parts) + "."


def count_in_session(tab: EndpointTab, spend: SessionSpend) -> None:
    """Each run of the tab, and each sweep (each cell was a run, billed or not), counts in the session's spend."""
    tab.after_record.add(add_to_session, [spend.state, tab.last_record], [spend.state, spend.line])
    tab.after_sweep(add_to_session, [spend.state, tab.sweep_record], [spend.state, spend.line],
                    api_visibility="private", queue=False)
