"""Print, every 100 runs over 1,000 runs through the app, what should stay flat: the app's memory, open files,
threads, its media folder and Gradio's cache on disk, and the bookkeeping of runs, visitors and sessions.

    python benchmarks/soak.py [--runs 1000] [--visitors 8] [--reload-every 10] [--every 100]
                              [--session-idle 15] [--media-max-kib 256]

The app runs in this process (so RSS, open files and threads are the app's own) against a fast sandbox in another
process (2 steps of 5 ms, 64x48 JPEGs, capacity = visitors); the visitors are a client process speaking Gradio's
queue protocol (as the page does), ``--visitors`` at a time, each with a distinct client address. Each visitor
"reloads the page" (a new Gradio session) every ``--reload-every`` of its runs, so sessions come and go as on a
real Space. Gradio's cache is pointed at a fresh folder first so its growth can be seen. Nothing is asserted:
judge "flat" from the table (the first checkpoint includes warm-up).

Time is compressed so the app's bounds show within a couple of minutes: sessions are dropped after
``--session-idle`` seconds unused (the app's default is 24 h, or 1 h after the tab closed) and the media folder is
capped at ``--media-max-kib`` (default 512 MiB and 24 h). ``--session-idle 0`` and ``--media-max-kib 0`` keep the
app's defaults.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    cpu_seconds,
    folder_usage,
    fresh_gradio_temp_dir,
    launched_app,
    median,
    open_fds,
    percentile,
    rss_kib,
    sandbox_process,
)

GRADIO_TEMP = fresh_gradio_temp_dir("flux-soak-gradio-")  # before gradio is imported anywhere
SOAK_TIMEOUT = 900.0  # the whole soak stops after this, whatever the run count


def vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def object_types() -> Counter[str]:
    """Live objects by type (module.qualname), after a full collection."""
    gc.collect()
    return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def snapshot(app: Any, sandbox: Any) -> dict[str, Any]:
    ctx = app.ctx
    media_files, media_bytes = folder_usage(ctx.runner.media.root)
    cache_files, cache_bytes = folder_usage(GRADIO_TEMP)
    holder = app.demo.state_holder
    return {
        "rss": rss_kib() / 1024,
        "hwm": vm_hwm_kib() / 1024,
        "fds": open_fds(),
        "threads": threading.active_count(),
        "objects": len(gc.get_objects()),
        "media_files": media_files,
        "media_kib": media_bytes / 1024,
        "cache_files": cache_files,
        "cache_kib": cache_bytes / 1024,
        "sessions": len(holder.session_data),
        "active_runs": len(ctx.active_runs),
        "slots": sum(ctx.visitor_slots.running.values()),
        "background": len(ctx.runner._background),
        "copies": len(ctx.runner.copies),
        "cpu": cpu_seconds(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--visitors", type=int, default=8, help="concurrent visitors")
    parser.add_argument("--reload-every", type=int, default=10, help="a visitor's runs per session (0: never)")
    parser.add_argument("--every", type=int, default=100, help="runs between checkpoints")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--step-seconds", type=float, default=0.005)
    parser.add_argument("--session-idle", type=float, default=15.0, help="drop sessions unused this long (0: app default)")
    parser.add_argument("--media-max-kib", type=int, default=256, help="media folder cap (0: app default)")
    args = parser.parse_args()
    if not 1 <= args.visitors <= 64 or not 1 <= args.runs <= 100_000 or args.every < args.visitors:
        parser.error("visitors 1..64, runs 1..100000, --every at least --visitors")

    import load_vs_fal_client as load  # the client worker (Gradio's queue protocol, one event loop)

    options = {"capacity": max(2, args.visitors), "step_seconds": args.step_seconds, "startup_seconds": 0.0}
    batch_args = {"steps": args.steps, "width": 64, "height": 48}
    started = time.monotonic()
    print(f"soak: {args.runs} runs, {args.visitors} visitors at once, a new session every {args.reload_every} runs "
          f"per visitor; {os.cpu_count()} cores; Gradio cache {GRADIO_TEMP}")
    from components.gradio_fixes import SessionLifetimes

    lifetimes = SessionLifetimes(idle=args.session_idle, every=1.0) if args.session_idle > 0 else None
    media_max = args.media_max_kib * 1024 if args.media_max_kib > 0 else None
    with (sandbox_process(**options) as sandbox,
          launched_app(sandbox.url, sessions=lifetimes, media_max_bytes=media_max) as app):
        media = app.ctx.runner.media
        print(f"media folder {media.root} (MediaStore max {media.max_bytes / 1024:.0f} KiB, max age "
              f"{media.max_age / 3600:g} h); sessions dropped after {app.ctx.sessions.idle:g} s unused")
        worker = load.Worker()
        rows: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
        try:
            gc.collect()
            rows.append((0, snapshot(app, sandbox), {}))
            done = batches = 0
            window: list[float] = []
            errors = crosstalk = 0
            types_first: Counter[str] | None = None
            types_first_runs = 0
            seen_errors: dict[str, int] = {}
            while done < args.runs and time.monotonic() - started < SOAK_TIMEOUT:
                n = min(args.visitors, args.runs - done)
                fresh = bool(args.reload_every) and batches % args.reload_every == 0
                reply = worker.call(cmd="raw", n=n, app_url=app.url, seed0=done, tag=f"soak b{batches}",
                                    fresh_sessions=fresh, **batch_args)
                batches += 1
                for run in reply["runs"]:
                    done += 1
                    if "error" in run:
                        errors += 1
                        seen_errors[run["error"]] = seen_errors.get(run["error"], 0) + 1
                        continue
                    window.append(run["t1"] - run["t0"])
                    crosstalk += bool(run.get("crosstalk"))
                if done // args.every > (done - n) // args.every or done >= args.runs:
                    gc.collect()
                    rows.append((done, snapshot(app, sandbox), {
                        "p50": median(window), "p95": percentile(window, 95), "errors": errors,
                        "crosstalk": crosstalk}))
                    window = []
                    if types_first is None:
                        types_first, types_first_runs = object_types(), done
                    last = rows[-1]
                    print(f"  {done:>6} runs: RSS {last[1]['rss']:.0f} MiB, sessions {last[1]['sessions']}, "
                          f"media {last[1]['media_files']} files", flush=True)
            time.sleep(1.0)  # let the last runs' bookkeeping settle
            gc.collect()
            final = snapshot(app, sandbox)
            types_last = object_types()
            stats = sandbox.stats()
        finally:
            worker.close()
    print()
    print(f"{'runs':>6} {'p50 s':>6} {'p95 s':>6} {'err':>4} {'xtalk':>5} {'RSS MiB':>8} {'HWM MiB':>8} "
          f"{'fds':>5} {'thr':>4} {'objects':>9} {'media files':>11} {'media KiB':>9} {'cache files':>11} "
          f"{'cache KiB':>9} {'sessions':>8} {'active':>6} {'slots':>5} {'bg':>3} {'CPU ms/run':>10}")
    previous_cpu, previous_runs = rows[0][1]["cpu"], 0
    for runs, s, w in rows:
        per_run = (s["cpu"] - previous_cpu) / (runs - previous_runs) * 1000 if runs > previous_runs else float("nan")
        previous_cpu, previous_runs = s["cpu"], runs
        print(f"{runs:>6} {w.get('p50', float('nan')):6.2f} {w.get('p95', float('nan')):6.2f} "
              f"{w.get('errors', 0):>4} {w.get('crosstalk', 0):>5} {s['rss']:8.1f} {s['hwm']:8.1f} {s['fds']:>5} "
              f"{s['threads']:>4} {s['objects']:>9} {s['media_files']:>11} {s['media_kib']:9.0f} "
              f"{s['cache_files']:>11} {s['cache_kib']:9.0f} {s['sessions']:>8} {s['active_runs']:>6} "
              f"{s['slots']:>5} {s['background']:>3} {per_run:10.1f}")
    print(f"after settling: active runs {final['active_runs']}, visitor slots {final['slots']}, background copies "
          f"{final['background']}, sessions {final['sessions']}, RSS {final['rss']:.1f} MiB")
    print("  err/xtalk are cumulative; p50/p95 are over the runs since the previous checkpoint; sessions = Gradio's")
    print("  StateHolder.session_data; active = ctx.active_runs; slots = runs held in ctx.visitor_slots; bg = background")
    print("  copies; CPU ms/run = this process's CPU time over the interval / runs")
    for message, count in sorted(seen_errors.items(), key=lambda kv: -kv[1])[:5]:
        print(f"  error x{count}: {message}")
    if types_first is not None and done > types_first_runs:
        grown = (types_last - types_first).most_common(12)
        span = done - types_first_runs
        print(f"object types that grew most from run {types_first_runs} to run {done} (live objects per 100 runs):")
        for name, count in grown:
            print(f"  {count * 100 / span:8.1f}  {name}")
    print(f"sandbox: {sum(stats['submits'].values())} submits; total {time.monotonic() - started:.0f} s")
    shutil.rmtree(GRADIO_TEMP, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
