"""The run record as an image carries it: compact JSON, inline images left out.
"""

from __future__ import annotations

import json
from typing import Any

from runs.record import RunRecord

ELIDE_DATA_URI_OVER = 1024


def _elide_data_uris(value: Any, elided: list[int]) -> Any:
    if isinstance(value, str) and value.startswith("data:") and len(value) > ELIDE_DATA_URI_OVER:
        elided.append(len(value))
        head = value.split(",", 1)[0]
        return f"{head},<{len(value)} characters omitted: too large to embed>"
    if isinstance(value, list):
        return [_elide_data_uris(v, elided) for v in value]
    if isinstance(value, dict):
        return {k: _elide_data_uris(v, elided) for k, v in value.items()}
    return value


def record_json_text(record: RunRecord) -> str:
    """The record as compact JSON for embedding, inline (``data:``) images over 1 KB left out and counted: a run's
    record then fits one JPEG XMP segment (64 KB). A format that cannot hold it carries the A1111 text alone."""
    elided: list[int] = []
    data = _elide_data_uris(record.to_json(), elided)
    if elided:
        data["_elided_data_uris"] = len(elided)
    return compact_json(data)


def compact_json(data: Any) -> str:
    """Compact JSON; a stray NaN/Infinity (say, in provider timings) is written as Python's json reads it back."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def record_from_json(text: str | bytes, notes: list[str]) -> tuple[dict[str, Any] | None, RunRecord | None]:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        notes.append(f"the embedded run record is not valid JSON ({exc})")
        return None, None
    if not isinstance(data, dict):
        notes.append("the embedded run record is not a JSON object")
        return None, None
    if data.get("_elided_data_uris"):
        notes.append(f"{data['_elided_data_uris']} inline image(s) were too large to embed and are left out")
    try:
        return data, RunRecord.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        notes.append(f"the embedded run record could not be read ({type(exc).__name__}: {exc})")
        return data, None
