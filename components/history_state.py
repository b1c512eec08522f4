"""The run history as plain data: entries built from RunRecords, newest first, capped, filtered, compared.

No Gradio here (the panel in ``components/history_panel.py`` stores the list in the browser's localStorage).
An entry carries the whole record JSON — never a key: records hold none — plus what the list shows.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import EndpointSpec
from endpoints.models import model_of, translate
from providers.catalog import provider_title
from runs.pricing import format_usd
from runs.sweep.syntax import axis_text, sweepable_fields

HISTORY_LIMIT = 100
ALL = "all endpoints"
#: data: URIs longer than this are not kept in an entry (localStorage holds about 5 MB per site, all entries included)
MAX_KEPT_DATA_URI = 4096
ELIDED = "<data: URI not kept in the history>"


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
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_large_data_uri(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("data:") and len(value) > MAX_KEPT_DATA_URI


def _elide(value: Any) -> Any:
    if _is_large_data_uri(value):
        return ELIDED
    if isinstance(value, dict):
        return {k: _elide(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_elide(v) for v in value]
    return value


def compact_record(record: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The record as the history keeps it, and the input fields left out: a large ``data:`` URI typed into a field
    is dropped from the input (a restore leaves that field to its default) and elided everywhere else."""
    record = dict(record)
    source = record.get("input") or {}
    dropped = [name for name, value in source.items() if _is_large_data_uri(value)]
    record["input"] = _elide({k: v for k, v in source.items() if k not in dropped})
    if isinstance(record.get("request"), dict):
        record["request"] = _elide(record["request"])
    if isinstance(record.get("result"), dict):
        record["result"] = _elide(record["result"])
    return record, dropped


def entry_of(record: dict[str, Any]) -> dict[str, Any]:
    """A history entry for a RunRecord JSON (``RunRecord.to_json``)."""
    record, dropped = compact_record(record)
    seed_name: str | None = None
    try:
        spec = get_endpoint(record["api_name"])
        label = spec.label
        changed = changed_parameters(spec, record.get("input") or {})
        seed_name = spec.field_for("seed")
    except KeyError:
        label, changed = record.get("endpoint_id", "?"), dict(record.get("input") or {})
    result = record.get("result") or {}
    timings = record.get("timings") or {}
    duration = None
    if timings.get("submitted") and timings.get("finished"):
        duration = round(timings["finished"] - timings["submitted"], 1)
    seed = result.get("seed") if isinstance(result.get("seed"), int) else None
    if seed is None and seed_name is not None:
        seed = (record.get("input") or {}).get(seed_name)
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
        "cached": record.get("cached") is True,
        "created": dt.datetime.fromtimestamp(timings.get("finished") or 0, dt.UTC).isoformat(timespec="seconds")
        if timings.get("finished") else None,
        "images": [image.get("url") for image in result.get("images") or [] if image.get("url")],
        "changed": changed,
        "not_kept": dropped,
        "record": record,
    }


def added(history: list[dict[str, Any]] | None, record: dict[str, Any] | None, now: float | None = None
          ) -> list[dict[str, Any]]:
    """The history with ``record`` added on top, keeping the newest ``HISTORY_LIMIT``. A record already in the
    history stays where it is (runs are listed by when they ran, not by when they were last seen). A run added again
    after it was deleted (an image of it opened) says when (``restored_at``): the delete no longer applies to it,
    in any tab."""
    entries, marks = filtered(history, ALL), deleted_marks(history)
    if not record or "id" not in record or any(e["id"] == record["id"] for e in entries):
        return marked(entries, marks)
    entry = entry_of(record)
    if record["id"] in marks:
        entry["restored_at"] = max(time.time() if now is None else now, marks[record["id"]] + 1e-6)
    return marked(*_applied([entry, *entries], marks))


#: The stored list ends with a mark, ``{"deleted": {id: when}}``, once a run was deleted from it: a tab putting its
#: own runs back into a list another tab wrote (``with_stored``) leaves out those deleted in any tab. Entries have
#: an ``id`` and the mark has none, so whatever reads entries (``filtered``) passes it by. The newest
#: ``MAX_DELETED`` deletes are kept, chosen by (when, id): two tabs merging their marks keep the same ones.
MAX_DELETED = 100


def deleted_marks(history: Any) -> dict[str, float]:
    """id -> when it was deleted, from the list's last mark (the browser's list: any shape, any size; at most
    ``2 * MAX_DELETED`` of its ids are read)."""
    if not isinstance(history, list):
        return {}
    mark = next((item for item in reversed(history)
                 if isinstance(item, dict) and "id" not in item and "deleted" in item), None)
    return _valid_marks(mark.get("deleted") if mark is not None else None)


def _valid_marks(raw: Any) -> dict[str, float]:
    """``{id: when}`` as the browser (or a page's state) kept it: at most ``2 * MAX_DELETED`` of its ids read."""
    if not isinstance(raw, dict):
        return {}
    marks: dict[str, float] = {}
    for key, when in itertools.islice(raw.items(), 2 * MAX_DELETED):
        if isinstance(key, str) and isinstance(when, int | float) and not isinstance(when, bool) and math.isfinite(when):
            marks[key] = float(when)
    return marks


def newest_marks(*sources: dict[str, float]) -> dict[str, float]:
    """The deletes of every source (each id at its latest), the newest ``MAX_DELETED`` by (when, id), oldest first:
    two tabs merging their marks keep the same ones."""
    merged: dict[str, float] = {}
    for marks in sources:
        for key, when in marks.items():
            if when > merged.get(key, float("-inf")):
                merged[key] = when
    return dict(_by_age(merged)[-MAX_DELETED:])


def _by_age(marks: dict[str, float]) -> list[tuple[str, float]]:
    return sorted(marks.items(), key=lambda mark: (mark[1], mark[0]))


def deleted_ids(history: Any) -> list[str]:
    """The ids the list's mark names as deleted, oldest delete first."""
    return [key for key, _ in _by_age(deleted_marks(history))]


def marked(entries: list[dict[str, Any]], marks: dict[str, float]) -> list[dict[str, Any]]:
    """The list as stored: the newest ``HISTORY_LIMIT`` entries, then the mark of the newest deletes (when any)."""
    kept, newest = entries[:HISTORY_LIMIT], newest_marks(marks)
    return [*kept, {"deleted": newest}] if newest else kept


def _restored_at(entry: dict[str, Any]) -> float:
    when = entry.get("restored_at")
    return float(when) if isinstance(when, int | float) and not isinstance(when, bool) else 0.0


def _applied(entries: list[dict[str, Any]], marks: dict[str, float]
             ) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The entries a delete does not remove (none since, or added again after it), and the marks still needed."""
    kept = [e for e in entries if marks.get(str(e.get("id")), float("-inf")) <= _restored_at(e)]
    outlived = {e["id"] for e in kept if e.get("id") in marks}
    return kept, {key: when for key, when in marks.items() if key not in outlived}


#: A page puts its newest few runs back into any stored list that lacks them and did not delete them
#: (``with_stored``); they are kept whole (~3 KB each) in its session on the server.
MAX_OWN = 4


def page_runs(seen: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The page's ``seen`` state as (ids of the records this page listed, the entries of its newest own runs)."""
    if not isinstance(seen, dict):
        return [], []
    own = [entry for entry in seen.get("own") or [] if isinstance(entry, dict) and entry.get("id")]
    return list(seen.get("ids") or []), own


def page_marks(seen: Any) -> dict[str, float]:
    """The deletes this page made (``seen["marks"]``, kept on the server: a sync sent before a delete's answer came
    carries the page's list from before it)."""
    return _valid_marks(seen.get("marks") if isinstance(seen, dict) else None)


def seen_with(seen: Any, **changes: Any) -> dict[str, Any]:
    """The page's ``seen`` state with ``changes`` (its other parts as they were)."""
    return {**(seen if isinstance(seen, dict) else {}), **changes}


def with_stored(stored: list[dict[str, Any]], own: list[dict[str, Any]], page: Any = None,
                made: dict[str, float] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The list another tab stored, made to agree with this page (``page``: its own list, as the page sent it).

    - This page's newest runs the stored list lacks are put back (``own``, kept on the server): two tabs whose runs
      ended together each wrote before it saw the other's write, and a tab may echo this page's write back before
      its own older list arrives. A list with runs put back is ordered by when each run ended (newest first), then
      id, so both tabs of a crossing pair of writes come to the same list.
    - A run deleted in any tab stays deleted: the deletes marked in either list apply to both (a tab that wrote
      before it saw a delete still had the run), unless the run was added again since.

    ``made``: the deletes this page made (``page_marks``), which its list as sent may not show yet.

    Returns the list and the page's own runs not deleted."""
    marks = newest_marks(deleted_marks(stored), deleted_marks(page), made or {})
    own = [entry for entry in own if marks.get(str(entry.get("id")), float("-inf")) <= _restored_at(entry)]
    entries = filtered(stored, ALL)
    listed_ids = {entry.get("id") for entry in entries}
    missing = [entry for entry in own if entry.get("id") not in listed_ids]
    if missing:
        entries = sorted([*missing, *entries], key=_newest_first)
    return marked(*_applied(entries, marks)), own


def _newest_first(entry: dict[str, Any]) -> tuple[float, str]:
    timings = (entry.get("record") or {}).get("timings") or {}
    ended = timings.get("finished") or timings.get("submitted") or 0
    return (-float(ended) if isinstance(ended, int | float) else 0.0, str(entry.get("id")))


def removed(history: list[dict[str, Any]] | None, entry_id: str | None, now: float | None = None
            ) -> list[dict[str, Any]]:
    """The history without the run, marked deleted now (so no tab puts it back)."""
    entries, marks = filtered(history, ALL), deleted_marks(history)
    kept = [e for e in entries if e.get("id") != entry_id]
    if entry_id and len(kept) < len(entries):
        marks[entry_id] = time.time() if now is None else now
    return marked(kept, marks)


def filtered(history: list[dict[str, Any]] | None, endpoint: str | None) -> list[dict[str, Any]]:
    """Entries for one endpoint (by API name), or all of them; of the list's first ``HISTORY_LIMIT`` (the list is
    the browser's: it may be any length)."""
    kept = history[:HISTORY_LIMIT] if isinstance(history, list) else []
    entries = [e for e in kept if isinstance(e, dict) and "id" in e]
    if not endpoint or endpoint == ALL:
        return entries
    return [e for e in entries if e.get("api_name") == endpoint]


def filter_choices() -> list[tuple[str, str]]:
    return [(ALL, ALL), *((spec.label, spec.api_name) for spec in ENDPOINTS)]


def sweep_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The ``sweep`` part of a whole sweep's entry (its axes and cells), or None for a single run."""
    sweep = (entry.get("record") or {}).get("sweep")
    return sweep if isinstance(sweep, dict) else None


def sweep_size(sweep: dict[str, Any]) -> str:
    cells = sweep.get("cells")
    count = len(cells) if isinstance(cells, list) else 0
    return f"sweep of {count} cell{'s' if count != 1 else ''}"


def sweep_axes(sweep: dict[str, Any]) -> str:
    """``seed = 1, 2, 3 × guidance_scale = 2, 5``: each axis as the sweep's values box takes it."""
    axes = [axis for axis in (sweep.get("x"), sweep.get("y")) if isinstance(axis, dict)]

    def values(axis: dict[str, Any]) -> list[Any]:
        shown = axis.get("labels") or axis.get("values")
        if not isinstance(shown, list):  # the entry is the browser's: any shape
            return []
        # A label names its field ("seed = 1", "prompt: dog"): the heading already does.
        prefixes = tuple(f"{axis.get(key)}{sep}" for key in ("field", "title") for sep in (" = ", ": "))
        return [v.removeprefix(next((p for p in prefixes if v.startswith(p)), "")) if isinstance(v, str) else v
                for v in shown]

    return " × ".join(f"{axis.get('title') or axis.get('field')} = " + ", ".join(_short(v, 40) for v in values(axis))
                      for axis in axes)


@dataclass(frozen=True)
class RestoredAxes:
    """A sweep's axes as its section's boxes take them (``y_field`` None: no Y axis), and what could not be."""

    x_field: str | None
    x_text: str | None
    y_field: str | None = None
    y_text: str | None = None
    left_out: list[str] = field(default_factory=list)  # "Y axis (guidance_scale)": not restored

    def to_json(self) -> dict[str, Any]:
        """As a page's State keeps it (plain data: Gradio compares and copies State values)."""
        return {"x_field": self.x_field, "x_text": self.x_text, "y_field": self.y_field, "y_text": self.y_text,
                "left_out": list(self.left_out)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RestoredAxes:
        return cls(value.get("x_field"), value.get("x_text"), value.get("y_field"), value.get("y_text"),
                   list(value.get("left_out") or []))


def restored_axes(spec: EndpointSpec, sweep: dict[str, Any]) -> RestoredAxes:
    """The axes of a sweep that ran on ``spec``, as the text that makes the same cells again (``axis_text``). An
    axis the tab cannot take back (a field it no longer has, values the box would read otherwise) is left out."""
    texts: dict[str, tuple[str | None, str | None]] = {}
    left_out: list[str] = []
    fields = sweepable_fields(spec)
    for name in ("x", "y"):
        axis = sweep.get(name)
        if not isinstance(axis, dict):
            texts[name] = (None, None)
            continue
        field_name, values = axis.get("field"), axis.get("values")
        text = (axis_text(spec, field_name, str(axis.get("kind")), values)
                if field_name in fields and isinstance(values, list) else None)
        if text is None:
            left_out.append(f"{name.upper()} axis ({field_name})")
            texts[name] = (None, None)
        else:
            texts[name] = (field_name, text)
    if texts["x"][0] is None and texts["y"][0] is not None:  # a Y axis alone is no sweep: it goes with its X
        left_out.append(f"Y axis ({texts['y'][0]}, with the X axis)")
        texts["y"] = (None, None)
    return RestoredAxes(*texts["x"], *texts["y"], left_out=left_out)


def caption(entry: dict[str, Any]) -> str:
    """One line per entry: endpoint · state · seed (or the sweep's size) · time · cost."""
    state = {"done": "✅", "failed": "❌", "stopped": "⏹"}.get(entry.get("state") or "", "")
    parts = [entry.get("label") or "?", state]
    sweep = sweep_of(entry)
    if sweep is not None:
        parts.append(f"📊 {sweep_size(sweep)}")
    elif entry.get("seed") is not None:
        parts.append(f"seed {entry['seed']}")
    if entry.get("duration") is not None:
        parts.append(f"{entry['duration']} s")
    if entry.get("cost_usd") is not None:
        parts.append(format_usd(entry['cost_usd']))
    if entry.get("cached"):
        parts.append("💾 cached")
    return " · ".join(p for p in parts if p)


def tile_caption(entry: dict[str, Any]) -> str:
    """Three short lines for a history tile: endpoint / seed / state, time and cost."""
    seed = entry.get("seed")
    third = [{"done": "✅ done", "failed": "❌ failed", "stopped": "⏹ stopped"}.get(entry.get("state") or "", "")]
    if entry.get("duration") is not None:
        third.append(f"{entry['duration']} s")
    if entry.get("cost_usd") is not None:
        third.append(format_usd(entry['cost_usd']))
    if entry.get("cached"):
        third.append("💾 cached")
    sweep = sweep_of(entry)
    second = sweep_size(sweep) if sweep is not None else f"seed {seed}" if seed is not None else "no seed"
    return "\n".join([str(entry.get("label") or "?"), second, " · ".join(p for p in third if p)])


def shown_time(created: Any) -> str:
    """A run's stored time (ISO 8601, UTC) as ``2026-12-07 16:11:08 UTC``; anything else as it is."""
    try:
        when = dt.datetime.fromisoformat(str(created))
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # an edited history's odd value
        return str(created)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def details_markdown(entry: dict[str, Any] | None) -> str:
    if not entry:
        return "Select a run to see its parameters and actions."
    rest = caption(entry).removeprefix(str(entry.get("label") or "?")).removeprefix(" · ")
    lines = [f"**{entry.get('label')}**" + (f" — {rest}" if rest else "")]
    if entry.get("request_id"):
        lines.append(f"Request id: `{entry['request_id']}`")
    if entry.get("created"):
        lines.append(f"Finished: {shown_time(entry['created'])}")
    record = entry.get("record") or {}
    cost = record.get("cost") or {}
    if cost.get("basis"):
        usd = format_usd(cost["usd"]) if isinstance(cost.get("usd"), int | float) else "unknown"
        lines.append(f"Cost: {usd} ({cost['basis']})")
    sweep = sweep_of(entry)
    if sweep is not None:
        lines.append(f"Sweep: {sweep_axes(sweep)} (Restore fills the form and the sweep's axes)")
    error = record.get("error") or {}
    if error.get("message"):
        lines.append(f"Error: {error['message']}")
    changed = entry.get("changed") or {}
    if changed:
        lines.append("Changed from the defaults: " + ", ".join(f"`{k}` = {_short(v)}" for k, v in changed.items()))
    if entry.get("not_kept"):
        kept_out = ", ".join(f"`{k}`" for k in entry["not_kept"])
        lines.append(f"Not kept (too large for the browser's storage): {kept_out}")
    return "  \n".join(lines)


def _seed_field(record: dict[str, Any]) -> str | None:
    """The input field playing the seed role on the record's endpoint (None when unknown)."""
    try:
        return get_endpoint(str(record.get("api_name") or "")).field_for("seed")
    except KeyError:
        return None


def parameter_diff(a: dict[str, Any], b: dict[str, Any]) -> list[list[str]]:
    """Rows (parameter, A, B) of only the parameters that differ between two entries (endpoint included)."""
    ra, rb = a.get("record") or {}, b.get("record") or {}
    ia, ib = ra.get("input") or {}, rb.get("input") or {}
    rows = _across_providers(ra, rb, ia, ib)
    if rows is None:
        rows = []
        if ra.get("endpoint_id") != rb.get("endpoint_id"):
            rows.append(["endpoint", str(ra.get("endpoint_id")), str(rb.get("endpoint_id"))])
        for name in dict.fromkeys([*ia, *ib]):
            if ia.get(name) != ib.get(name):
                rows.append([name, _short(ia.get(name, "—"), 80), _short(ib.get(name, "—"), 80)])
    seed_names = {_seed_field(ra), _seed_field(rb)}
    if a.get("seed") != b.get("seed") and not any(r[0] in seed_names for r in rows):
        rows.append(["seed (used)", _shown(a.get("seed")), _shown(b.get("seed"))])
    return rows


def _shown(value: Any) -> str:
    return "—" if value is None else str(value)  # a sweep's entry has no one seed: not "None"


def _default(spec: EndpointSpec, name: str) -> Any:
    info = spec.input_model.model_fields.get(name)
    return None if info is None or info.is_required() else info.get_default(call_default_factory=True)


def _across_providers(ra: dict[str, Any], rb: dict[str, Any], ia: dict[str, Any],
                      ib: dict[str, Any]) -> list[list[str]] | None:
    """The same model on two providers: B's values read in A's schema (``image_size`` against ``width``/``height``,
    ``"2"`` against ``2``), so only what differs in meaning shows, after a provider row. None for anything else."""
    try:
        spec_a, spec_b = get_endpoint(str(ra.get("endpoint_id"))), get_endpoint(str(rb.get("endpoint_id")))
    except KeyError:
        return None
    model = model_of(spec_a.id)
    if spec_a.id == spec_b.id or model is None or model != model_of(spec_b.id):
        return None
    moved = translate(ib, spec_b, spec_a)
    rows = [["provider", provider_title(spec_a.provider), provider_title(spec_b.provider)]]
    for name in dict.fromkeys([*ia, *moved.values]):
        va, vb = ia.get(name, _default(spec_a, name)), moved.values.get(name, _default(spec_a, name))
        if va != vb:
            rows.append([name, _short(ia.get(name, "—"), 80), _short(moved.values.get(name, "—"), 80)])
    for name, _why in moved.unmapped:  # B's settings A has no such thing for: a difference unless left at default
        if name in ib and ib[name] != _default(spec_b, name):
            rows.append([name, "—", _short(ib[name], 80)])
    return rows
