"""The run history as plain data: entries built from RunRecords, newest first, capped, filtered, compared.

No Gradio here (the panel in ``components/history_panel.py`` stores the list in the browser's localStorage).
An entry carries the whole record JSON — never a key: records hold none — plus what the list shows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import EndpointSpec

HISTORY_LIMIT = 100
ALL = "all endpoints"


def defaults_of(spec: EndpointSpec) -> dict[str, Any]:
    """The wire value each field has when the visitor leaves it alone."""
    model = spec.input_model
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            continue
        default = info.get_default(call_default_factory=True)
        out[name] = default
    return out


def changed_parameters(spec: EndpointSpec, wire_input: dict[str, Any]) -> dict[str, Any]:
    """The input's values that differ from the endpoint's defaults (the prompt and required fields always count)."""
    defaults = defaults_of(spec)
    return {
        name: value
        for name, value in wire_input.items()
        if name not in defaults or value != defaults[name]
    }


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def entry_of(record: dict[str, Any]) -> dict[str, Any]:
    """A history entry for a RunRecord JSON (``RunRecord.to_json``)."""
    try:
        spec = get_endpoint(record["api_name"])
        label = spec.label
        changed = changed_parameters(spec, record.get("input") or {})
    except KeyError:
        label, changed = record.get("endpoint_id", "?"), dict(record.get("input") or {})
    result = record.get("result") or {}
    timings = record.get("timings") or {}
    duration = None
    if timings.get("submitted") and timings.get("finished"):
        duration = round(timings["finished"] - timings["submitted"], 1)
    seed = result.get("seed") if isinstance(result.get("seed"), int) else (record.get("input") or {}).get("seed")
    cost = record.get("cost") or {}
    return {
        "id": record["id"],
        "api_name": record.get("api_name"),
        "endpoint_id": record.get("endpoint_id"),
        "label": label,
        "state": record.get("state"),
        "seed": seed,
        "duration": duration,
        "cost_usd": cost.get("usd"),
        "request_id": record.get("request_id"),
        "created": dt.datetime.fromtimestamp(timings.get("finished") or 0, dt.UTC).isoformat(timespec="seconds")
        if timings.get("finished") else None,
        "images": [image.get("url") for image in result.get("images") or [] if image.get("url")],
        "changed": changed,
        "record": record,
    }


def added(history: list[dict[str, Any]] | None, record: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The history with ``record`` added on top (once, by id), keeping the newest ``HISTORY_LIMIT``."""
    entries = [e for e in (history or []) if isinstance(e, dict) and "id" in e]
    if not record or "id" not in record:
        return entries
    entries = [e for e in entries if e["id"] != record["id"]]
    return [entry_of(record), *entries][:HISTORY_LIMIT]


def removed(history: list[dict[str, Any]] | None, entry_id: str | None) -> list[dict[str, Any]]:
    return [e for e in history or [] if e.get("id") != entry_id]


def filtered(history: list[dict[str, Any]] | None, endpoint: str | None) -> list[dict[str, Any]]:
    """Entries for one endpoint (by API name), or all of them."""
    if not endpoint or endpoint == ALL:
        return list(history or [])
    return [e for e in history or [] if e.get("api_name") == endpoint]


def filter_choices() -> list[tuple[str, str]]:
    return [(ALL, ALL), *((spec.label, spec.api_name) for spec in ENDPOINTS)]


def caption(entry: dict[str, Any]) -> str:
    """One line per entry: endpoint · state · seed · time · cost."""
    parts = [entry.get("label") or "?", {"done": "✅", "failed": "❌", "stopped": "⏹"}.get(entry.get("state") or "", "")]
    if entry.get("seed") is not None:
        parts.append(f"seed {entry['seed']}")
    if entry.get("duration") is not None:
        parts.append(f"{entry['duration']} s")
    if entry.get("cost_usd") is not None:
        parts.append(f"${entry['cost_usd']:.3g}")
    return " · ".join(p for p in parts if p)


def details_markdown(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "Select a run to see its parameters and actions."
    lines = [f"**{entry.get('label')}** — {caption(entry)}"]
    if entry.get("request_id"):
        lines.append(f"Request id: `{entry['request_id']}`")
    if entry.get("created"):
        lines.append(f"Finished: {entry['created']} UTC")
    record = entry.get("record") or {}
    cost = record.get("cost") or {}
    if cost.get("basis"):
        usd = f"${cost['usd']:.4g}" if cost.get("usd") is not None else "unknown"
        lines.append(f"Cost: {usd} ({cost['basis']})")
    error = record.get("error") or {}
    if error.get("message"):
        lines.append(f"Error: {error['message']}")
    changed = entry.get("changed") or {}
    if changed:
        lines.append("Changed from the defaults: " + ", ".join(f"`{k}` = {_short(v)}" for k, v in changed.items()))
    return "  \n".join(lines)


def parameter_diff(a: dict[str, Any], b: dict[str, Any]) -> list[list[str]]:
    """Rows (parameter, A, B) of only the parameters that differ between two entries (endpoint included)."""
    ra, rb = a.get("record") or {}, b.get("record") or {}
    rows: list[list[str]] = []
    if ra.get("endpoint_id") != rb.get("endpoint_id"):
        rows.append(["endpoint", str(ra.get("endpoint_id")), str(rb.get("endpoint_id"))])
    ia, ib = ra.get("input") or {}, rb.get("input") or {}
    for name in dict.fromkeys([*ia, *ib]):
        if ia.get(name) != ib.get(name):
            rows.append([name, _short(ia.get(name, "—"), 80), _short(ib.get(name, "—"), 80)])
    if a.get("seed") != b.get("seed") and not any(r[0] == "seed" for r in rows):
        rows.append(["seed (used)", str(a.get("seed")), str(b.get("seed"))])
    return rows
