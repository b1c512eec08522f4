"""The sweep's status as HTML: the plan's line, the table of cells as they run, the final line and the hosts table
(a provider sweep's side by side). Plain functions of a plan and its updates; ``sweep_run`` and ``sweep_panel`` show
them."""

from __future__ import annotations

import html

from runs.compare import host_figures
from runs.pricing import format_usd
from runs.record import RunRecord
from runs.sweep import SweepPlan
from runs.sweep_output import compares_hosts, done_caption
from runs.sweep_runner import SweepUpdate, outcome


def progress_html(plan: SweepPlan, update: SweepUpdate | None) -> str:
    """A table of cells (rows = Y values, columns = X values), each with its state, and the overall line."""
    columns, rows = plan.shape
    head = "".join(f"<th>{html.escape(label)}</th>" for label in plan.x_axis.labels)
    body = []
    for y in range(rows):
        label = html.escape(plan.y_axis.labels[y]) if plan.y_axis else ""
        cells = []
        for x in range(columns):
            index = y * columns + x
            status = update.cells[index] if update else None
            state = status.state if status else "waiting"
            text = html.escape(status.caption() if status else "waiting")
            record = status.record if status else None
            images = ((record.result or {}).get("images") or []) if record is not None else []
            if record is not None and images and images[0].get("url", "").startswith(("http://", "https://")):
                caption = done_caption(plan, record)
                text = (f'<img src="{html.escape(images[0]["url"])}" alt="{html.escape(caption)}" loading="lazy">'
                        f"<br>{html.escape(caption)}")  # cells appear as they finish
            cells.append(f'<td class="fp-cell fp-{state}">{text}</td>')
        body.append(f"<tr><th>{label}</th>{''.join(cells)}</tr>")
    # Before the sweep runs, the plan's own line (``plan_html``) says what this one would repeat.
    summary = f"<p>{html.escape(update.summary())}</p>" if update else ""
    bar = f'<progress max="1" value="{update.progress if update else 0:.3f}"></progress>'
    return (
        f'<div class="fp-sweep">{summary}{bar}<table><tr><th></th>{head}</tr>{"".join(body)}</table></div>'
    )


def hosts_table_html(records: tuple[RunRecord, ...] | list[RunRecord]) -> str:
    """Per provider: cells done, median latency (queued, running) and cost per image."""
    def seconds(value: float | None) -> str:
        return f"{value:.1f} s" if value is not None else "–"

    rows = []
    for row in host_figures(records):
        cost = format_usd(row.usd_per_image) if row.usd_per_image is not None else "unknown"
        rows.append(
            f"<tr><td>{html.escape(row.provider)}<br><code>{html.escape(row.endpoint_id)}</code></td>"
            f"<td>{row.done}/{row.cells}{f' ({row.cached} from cache)' if row.cached else ''}</td><td>{seconds(row.median_total)}</td><td>{seconds(row.median_queued)}</td>"
            f"<td>{seconds(row.median_running)}</td><td>{html.escape(cost)}</td></tr>"
        )
    return (
        '<table class="fp-hosts"><caption>Side by side: median latency and cost per image</caption>'
        "<tr><th>provider</th><th>done</th><th>median latency</th><th>queued</th><th>running</th>"
        f"<th>cost per image</th></tr>{''.join(rows)}</table>"
    )


def final_html(plan: SweepPlan, update: SweepUpdate, stopped: bool) -> str:
    """What a finished or stopped sweep did: cells done, failed, stopped (cancelled remotely), cost and time; for
    a sweep across hosts, the side-by-side table of latency and cost."""
    head = "⏹ <b>Sweep stopped</b>" if stopped else "✅ <b>Sweep finished</b>"
    kept = " The finished cells, the grid and the ZIP are kept below." if stopped else ""
    records = update.records or ()
    table = hosts_table_html(records) if compares_hosts(plan) else ""
    # as the plan said: a sandbox sweep's cost is what live runs would cost
    sandbox = bool(records) and all(r.route == "sandbox" for r in records)
    unbilled = " The sandbox billed nothing: the cost is what the live runs would be." if sandbox else ""
    return f"<p>{head}: {html.escape(outcome(records, update.elapsed))}.{unbilled}{kept}</p>{table}"


def plan_html(plan: SweepPlan, live: bool) -> str:
    lines = [f"<p>📋 <b>Plan</b>: {html.escape(plan.summary())}</p>"]
    if live:
        lines.append("<p>⚠️ This sweep runs on a live provider and will be billed: tick <b>Confirm</b> to run it.</p>")
    for endpoint_id, fields in plan.unmapped.items():
        if fields:
            lines.append(f"<p>Not carried to <code>{html.escape(endpoint_id)}</code>: {html.escape(', '.join(fields))}</p>")
    lines += [f"<p>{html.escape(note)}</p>" for note in plan.notes]
    return "".join(lines)
