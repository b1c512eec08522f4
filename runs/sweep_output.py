"""What a sweep leaves behind, made from its cell records: the labelled grid PNG, the ZIP of every cell with its
metadata, the cells as JSON for the API, and the whole sweep as one history record. No Gradio here: the sweep
section calls these (the blocking ones in a thread) and shows the files."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from endpoints.models import serving_endpoints
from providers.routing import Route
from runs.compare import host_caption, host_figures, latency_of
from runs.grid import GridCell, cell_caption, cells_zip, draw_grid, grid_png
from runs.provenance import download_name, embed_metadata
from runs.record import Cost, RunRecord, Timings
from runs.runner import Runner
from runs.sweep.plan import SweepPlan
from runs.sweep.syntax import PROVIDER_FIELD
from runs.sweep_files import SweepFiles
from runs.sweep_runner import outcome


def grid_heading(plan: SweepPlan) -> str:
    """What the grid shows: the model (over providers: the model, not the provider the sweep started from), or, over
    endpoints, that several are side by side."""
    axes = [axis for axis in (plan.x_axis, plan.y_axis) if axis is not None]
    if any(axis.field == PROVIDER_FIELD for axis in axes):
        return f"{serving_endpoints(plan.endpoint)[0].title} · by provider"
    if any(axis.kind == "endpoint" for axis in axes):
        return "Endpoints side by side"
    return plan.endpoint.title


def compares_hosts(plan: SweepPlan) -> bool:
    """A sweep whose axis changes the endpoint (``provider`` or ``endpoint``): its cells show latency and cost."""
    return any(axis is not None and axis.kind == "endpoint" for axis in (plan.x_axis, plan.y_axis))


def done_caption(plan: SweepPlan, record: RunRecord) -> str:
    """A finished cell's caption: seed and NSFW flag, or across hosts its provider, latency, cost and seed."""
    if compares_hosts(plan):
        return f"{host_caption(record)} · seed {record.seed}"
    nsfw = (record.result or {}).get("has_nsfw_concepts")
    return cell_caption(record.seed, nsfw[0] if isinstance(nsfw, list) and nsfw else None)


def cell_json(record: RunRecord) -> dict[str, Any]:
    """One cell for the API: axis values, state, result or error, request id, cost (and the record as text)."""
    sweep = record.sweep or {}
    result = record.result
    return {
        "x": sweep.get("x"),
        "y": sweep.get("y"),
        "x_index": sweep.get("x_index"),
        "y_index": sweep.get("y_index"),
        "endpoint_id": record.endpoint_id,
        "provider": record.provider,
        "state": record.state,
        "cached": record.cached,
        "latency": latency_of(record).to_json(),
        "result": None if result is None else {k: v for k, v in result.items() if k != "images"} | {
            "images": [{k: v for k, v in image.items() if k != "file"} for image in result.get("images") or []]
        },
        "error": record.error.message if record.error else None,
        "request_id": record.request_id,
        "cost": record.cost.to_json(),
        "record": json.dumps(record.to_json(), ensure_ascii=False),
    }


def cell_files(runner: Runner, record: RunRecord) -> list[tuple[int, str, Path]]:
    """(image number, content type, stored file) of each of a cell's images still in the media store."""
    found = []
    for n, image in enumerate((record.result or {}).get("images") or [], start=1):
        name = image.get("file") or runner.copies.get(image.get("url", ""))
        path = runner.media.path_of(name) if name else None
        if path is not None:
            found.append((n, image.get("content_type") or "image/jpeg", path))
    return found


def grid_and_zip(runner: Runner, plan: SweepPlan, records: tuple[RunRecord, ...], files: SweepFiles,
                 max_grid_pixels: int, elapsed: float | None = None) -> tuple[str, str]:
    """Draw the labelled grid and pack the cells' images with their metadata (blocking: run in a thread).

    Memory holds the grid's canvas (within ``PLAYGROUND_SWEEP_MAX_GRID_PIXELS``) and one cell at a time: tiles are
    decoded from the stored files scaled to the tile, and the ZIP is streamed to its file. The title says what
    happened (jobs done, stopped, cost, time); a cell that did not finish is a grey tile saying "stopped" or why it
    failed."""
    grid_cells: list[GridCell] = []
    for record in records:
        sweep = record.sweep or {}
        x, y = int(sweep.get("x_index", 0)), int(sweep.get("y_index", 0))
        first = next(iter(cell_files(runner, record)), None)
        if record.state == "done":
            caption = done_caption(plan, record)
        elif record.state == "stopped":
            caption = "stopped"
        else:
            caption = record.error.message if record.error else record.state
        grid_cells.append(GridCell(x, y, first[2] if first else None, caption, failed=record.state == "failed"))
    y_labels = list(plan.y_axis.labels) if plan.y_axis else []
    image = draw_grid(grid_cells, list(plan.x_axis.labels), y_labels, title=f"{grid_heading(plan)} · {outcome(records, elapsed)}",
                      x_title=plan.x_axis.title, y_title=plan.y_axis.title if plan.y_axis else "",
                      max_pixels=max_grid_pixels)
    folder = files.folder(plan.id)
    grid_path = folder / f"{plan.endpoint.api_name}-sweep-{plan.id[:8]}.png"
    grid_png(image, {**plan.to_json(), "outcome": outcome(records, elapsed)}, grid_path)
    image.close()

    def entries() -> Iterator[tuple[str, bytes]]:  # one image in memory at a time
        for record in records:
            sweep = record.sweep or {}
            x, y = int(sweep.get("x_index", 0)), int(sweep.get("y_index", 0))
            for n, content_type, path in cell_files(runner, record):
                with contextlib.suppress(FileNotFoundError):  # pruned from the media store meanwhile
                    tagged = embed_metadata(path.read_bytes(), content_type, record)
                    yield f"x{x + 1}-y{y + 1}-" + download_name(record.api_name, record.seed, n, content_type), tagged

    zip_path = folder / f"{plan.endpoint.api_name}-sweep-{plan.id[:8]}-cells.zip"
    cells_zip(entries(), sweep_json={**plan.to_json(), "outcome": outcome(records, elapsed),
                                     "cells": [cell_json(r) for r in records]}, out=zip_path)
    return str(grid_path), str(zip_path)


def image_size(path: str) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def sweep_record(plan: SweepPlan, base: dict[str, Any], records: tuple[RunRecord, ...], route: Route,
                 grid_name: str, grid_url: str, size: tuple[int, int], *, started: float | None = None) -> RunRecord:
    """The whole sweep as one history entry: the tab's input, the labelled grid as its image, the summed cost, and
    in ``sweep`` the axes and the cells' record ids (restore gives the form back; download gives the grid).
    A stopped sweep is ``stopped`` with what finished (its partial grid and the cost of the cells that ran)."""
    done = [r for r in records if r.state == "done"]
    usd = [r.cost.usd for r in records]
    total = round(sum(u for u in usd if u is not None), 6) if any(u is not None for u in usd) else None
    was_stopped = any(r.state == "stopped" for r in records)  # a Stop after every cell finished stops nothing
    state = "stopped" if was_stopped else ("done" if done else "failed")
    finished = time.time()
    told = outcome(records, finished - started if started else None)
    prompt_field = plan.endpoint.field_for("prompt")
    prompt = base.get(prompt_field) if prompt_field is not None else None
    return RunRecord(
        id=plan.id,
        endpoint_id=plan.endpoint.id,
        api_name=plan.endpoint.api_name,
        provider=route.provider.name,
        route=route.kind,
        input=dict(base),
        state=state,  # type: ignore[arg-type]
        result={
            "endpoint_id": plan.endpoint.id, "request_id": None, "seed": None, "has_nsfw_concepts": None,
            "prompt": prompt if isinstance(prompt, str) else None, "timings": {},
            "images": [{"url": grid_url, "file": grid_name, "width": size[0], "height": size[1],
                        "content_type": "image/png"}],
            "extras": {"sweep": told,
                       "cells_done": len(done), "cells": len(records)}
            | ({"hosts": [row.to_json() for row in host_figures(records)]} if compares_hosts(plan) else {}),
        },
        cost=Cost(total, f"sweep of {len(records)} cells: the sum of their costs"),
        error=None if done and not was_stopped else next((r.error for r in records if r.error), None),
        timings=Timings(submitted=started, finished=finished),
        sweep={"id": plan.id, "summary": plan.summary(), "outcome": told,
               "x": plan.x_axis.to_json(),
               "y": plan.y_axis.to_json() if plan.y_axis else None, "cells": [r.id for r in records],
               "cached_cells": sum(1 for r in records if r.cached)},
    )
