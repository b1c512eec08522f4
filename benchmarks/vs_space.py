"""The app against the Space a user would otherwise write (issue 20, "As fast as a hand-written Space").

    python benchmarks/vs_space.py [--visitors 25,50] [--runs 3] [--rounds 2] [--page-loads 10] [--page-runs 12]
                                  [--skip-load] [--skip-page]

The method:

- **Clients.** 25, then 50 visitors speak Gradio's own queue protocol, as the page does: ``POST
  /gradio_api/queue/join`` with the page's ``x-gradio-user: app`` header, then the ``/gradio_api/queue/data``
  event stream. Each visitor opens one session (one page) and makes 3 runs in a row in it. All visitors run in
  asyncio in one client process (``load_vs_fal_client.py --worker``), so no side pays for a heavy client.
- **Job.** One sandbox process serves every side: capacity 128, 0.05 s per step, 28 steps, 256x256 JPEGs.
- **Three sides.** ``direct``: ``fal_client.AsyncClient.subscribe(..., with_logs=True)`` from the client process,
  straight to the sandbox. ``app``: the app (in this process), ``/flux_pro``. ``peer``: ``peer_space.py``, one
  Gradio function awaiting ``fal_client.AsyncClient.subscribe("fal-ai/flux-pro", ..., with_logs=True)`` and
  returning the image URL and the result JSON, launched with ``default_concurrency_limit=None``, in its own process
  on this machine, against the same sandbox.
- **Order.** Phases alternate: direct, app, peer, then all three again (``--rounds``).
- **CPU per run.** The server process's CPU time over a phase divided by its runs: this process for the app (its
  orchestrating thread only waits on a pipe), the peer's process for the peer, and the client process for
  direct (it has no server). ``others``: cores kept busy by everything else on the machine (noise).
- **A run** lasts until the visitor has the image it is shown: after the result, the client loads that image as
  the browser would (the app's gallery URL, ``/media/<name>``, which waits for the app's copy; the peer's and
  direct's result URL on the sandbox's CDN). The app ends its run before its copy of the image is made, as it does
  for a live fal run, so timing only the result would flatter it.
- **Wrong or missing.** A run whose result is not its own (seed, prompt, log lines, image shared with another run),
  lacks its image, or whose shown image is not served as an image.

Then the page: for the app and the peer, the blocks and bytes of ``/config`` (raw and gzipped as sent), the server
CPU per page load, and the time until Generate works in Chromium (``/usr/bin/chromium`` through Playwright): from
navigation to the first click on Generate that sends ``queue/join`` (that request is stopped in the page, where it
calls ``fetch``, so no run starts; the page's own queued load events send ``queue/join`` too: they go through and
do not count; Playwright's request routing is not used for this, as it turns the browser's HTTP cache off). The app's
and the peer's loads take turns in one browser (app, peer, then peer, app, ...), so that a slow spell of the machine
falls on both alike. Where that time goes is printed too, as medians from navigation (``PHASES``): the page's
``load`` event, its component modules asked for and arrived, the first block and Generate in the page, Generate's
click, its ``queue/join``. Printed, never asserted.

Last, a run as the page makes it: Chromium clicks Generate in 4 pages at once, round after round, each round until
every queued event the page joined has completed and its other requests to the server have stopped for a second
(the run, and what the page's events chain after it, which the load figures leave out; an event stream Gradio's
client leaves open is counted, not waited for: ``EVENT_WATCH_JS``); the server's CPU per run, all of it and less
its idle CPU (measured for 8 s before and after with the pages open), and the page's requests per run by kind, for
the app and the peer. ``--page-loads 0`` or ``--page-runs 0`` leaves a part out.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    ROOT,
    cpu_seconds,
    launched_app,
    machine_cpu_seconds,
    median,
    peer_space_process,
    percentile,
    sandbox_process,
    visitor_headers,
)
from load_vs_fal_client import Worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SIDES = ("direct", "app", "peer")
TTI_TIMEOUT = 60.0
IDLE_SECONDS = 3.0  # how long the server's idle CPU is measured before the page loads, and again after them
PAGE_CLOSE_SECONDS = 0.3  # after a page closes, before the next load (on the other side, taking turns) starts
PAGE_RUN_SETTLE_SECONDS = 1.0  # a page's run is over when its server requests have stopped for this long
PAGE_RUN_PAGES = 4  # pages making runs at once (more runs per second of the server's idle CPU subtracted)
PAGE_RUN_IDLE_SECONDS = 8.0  # the server's idle CPU (~36 ms a second for either side here), before and after


@dataclass
class Phase:
    side: str
    visitors: int
    walls: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)
    image_loads: list[float] = field(default_factory=list)  # seconds from the result to the shown image's bytes
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    other_cpu: float = 0.0
    seconds: float = 0.0
    runs: int = 0

    def add(self, other: Phase) -> None:
        self.walls += other.walls
        self.errors += other.errors
        self.wrong += other.wrong
        self.updates += other.updates
        self.image_loads += other.image_loads
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu
        self.other_cpu += other.other_cpu
        self.seconds += other.seconds
        self.runs += other.runs


def run_phase(side: str, n: int, round_no: int, args: argparse.Namespace, worker: Worker, sandbox: Any,
              app_url: str, peer: Any) -> Phase:
    cmd: dict[str, Any] = {"cmd": "visits", "side": {"direct": "fal"}.get(side, side), "n": n, "runs": args.runs,
                           "steps": args.steps, "width": args.width, "height": args.height,
                           "seed0": 100_000 * round_no + 10_000 * SIDES.index(side) + 7,
                           "tag": f"{side} r{round_no} n{n}"}
    if side == "direct":
        cmd.update(queue_url=sandbox.fal_queue_url, rest_url=sandbox.fal_rest_url, cdn_url=sandbox.fal_cdn_url)
    else:
        cmd["url"] = app_url if side == "app" else peer.url

    def server() -> float:
        return {"direct": worker.cpu_seconds, "app": cpu_seconds, "peer": peer.cpu_seconds}[side]()

    phase = Phase(side, n)
    server0, client0, sandbox0, machine0 = server(), worker.cpu_seconds(), sandbox.cpu_seconds(), machine_cpu_seconds()
    began = time.monotonic()
    reply = worker.call(**cmd)
    phase.seconds = time.monotonic() - began
    phase.server_cpu = server() - server0
    phase.client_cpu = worker.cpu_seconds() - client0
    own = phase.server_cpu + (0.0 if side == "direct" else phase.client_cpu) + sandbox.cpu_seconds() - sandbox0
    phase.other_cpu = max(0.0, machine_cpu_seconds() - machine0 - own)
    seen_images: set[str] = set()
    for run in reply["runs"]:
        phase.runs += 1
        if "error" in run:
            phase.errors.append(run["error"])
            continue
        phase.walls.append(run["t1"] - run["t0"])
        if "updates" in run:
            phase.updates.append(run["updates"])
        if "image_s" in run:
            phase.image_loads.append(run["image_s"])
        problems = list(run.get("crosstalk") or [])
        image = run.get("image")
        if not image:
            problems.append("no image URL")
        elif image in seen_images:
            problems.append("image shared with another run")
        seen_images.add(image or "")
        if problems:
            phase.wrong.append(f"visitor {run['i']} run {run['r']}: {', '.join(problems)}")
    return phase


def print_load(results: dict[int, dict[str, Phase]], args: argparse.Namespace) -> None:
    job = args.steps * args.step_seconds
    print(f"\nRuns per side and load: visitors x {args.runs} runs x {args.rounds} rounds; job {args.steps} x "
          f"{args.step_seconds:g} s = {job:.2f} s on the sandbox; {args.width}x{args.height} JPEG; seconds")
    header = (f"{'visitors':>8} {'side':<7} {'runs':>5} {'median':>7} {'p95':>6} {'max':>6} {'CPU/run':>8} "
              f"{'client CPU/run':>14} {'errors':>6} {'wrong/missing':>13} {'updates':>7} {'image':>6} {'others':>6}")
    print(header)
    print("-" * len(header))
    for n, by_side in results.items():
        for side in SIDES:
            p = by_side[side]
            per = max(1, p.runs)
            updates = f"{median(p.updates):.0f}" if p.updates else "-"
            print(f"{n:>8} {side:<7} {p.runs:>5} {median(p.walls):7.2f} {percentile(p.walls, 95):6.2f} "
                  f"{max(p.walls, default=float('nan')):6.2f} {p.server_cpu / per * 1000:6.0f}ms "
                  f"{p.client_cpu / per * 1000:12.0f}ms {len(p.errors):>6} {len(p.wrong):>13} {updates:>7} "
                  f"{median(p.image_loads) * 1000 if p.image_loads else float('nan'):4.0f}ms "
                  f"{p.other_cpu / max(p.seconds, 1e-9):6.2f}")
    print("  a run: from queue/join (direct: subscribe) until the visitor has the image it shows (the app's gallery"
          "\n  URL, /media/<name>; the peer's and direct's result URL on the sandbox), as a browser loads it after the"
          "\n  result; image: that last load alone (median)"
          "\n  CPU/run: the server process's CPU over the phase / runs (direct: the client process, it has no server);"
          "\n  updates: streamed updates per run (median); others: cores busy with other processes (noise)")
    print(f"\n{'visitors':>8} {'app/peer median':>16} {'app/peer p95':>13} {'app/direct':>11} {'peer/direct':>12} "
          f"{'app/peer CPU':>13}   goal: median <= 1.00x, p95 <= 1.10x, CPU no higher, none wrong")
    for n, by_side in results.items():
        app, peer, direct = by_side["app"], by_side["peer"], by_side["direct"]
        m = median(app.walls) / median(peer.walls)
        q = percentile(app.walls, 95) / percentile(peer.walls, 95)
        cpu = (app.server_cpu / max(1, app.runs)) / max(1e-9, peer.server_cpu / max(1, peer.runs))
        met = m <= 1.00 and q <= 1.10 and cpu <= 1.0 and not (app.errors or app.wrong)
        print(f"{n:>8} {m:15.2f}x {q:12.2f}x {median(app.walls) / median(direct.walls):10.2f}x "
              f"{median(peer.walls) / median(direct.walls):11.2f}x {cpu:12.2f}x   {'met' if met else 'NOT met'}")
    for n, by_side in results.items():
        for side in SIDES:
            p = by_side[side]
            for label, items in (("error", p.errors), ("wrong/missing", p.wrong)):
                for item in sorted(set(items))[:5]:
                    print(f"  {side} x{n} {label}: {item}  (x{items.count(item)})")


# ------------------------------------------------------------------------------------------------ the page


def page_bytes(url: str) -> tuple[int, int, int, int]:
    """(``GET /`` bytes: the HTML page with the config and API description in it, the same as sent with gzip and br
    accepted, as a browser asks, and the blocks and events of the config in the page: what the browser builds)."""
    import re

    import httpx

    with httpx.Client(timeout=30, trust_env=False) as http:
        raw = http.get(url, headers={"Accept-Encoding": "identity"})
        with http.stream("GET", url, headers={"Accept-Encoding": "gzip, deflate, br"}) as sent:
            wire = sum(len(chunk) for chunk in sent.iter_raw())
    match = re.search(r"window\.gradio_config = (\{.*?\});</script>", raw.text, re.DOTALL)
    config = json.loads(match.group(1)) if match else {}
    return len(raw.content), wire, len(config.get("components") or []), len(config.get("dependencies") or [])


def config_figures(url: str) -> tuple[int, int, int, int]:
    """(blocks, dependencies, /config bytes, /config bytes as sent with gzip accepted)."""
    import httpx

    with httpx.Client(timeout=30, trust_env=False) as http:
        raw = http.get(f"{url}/config", headers={"Accept-Encoding": "identity"})
        sent = http.get(f"{url}/config", headers={"Accept-Encoding": "gzip"})
    config = raw.json()
    wire = int(sent.headers.get("content-length") or 0) or len(
        gzip.compress(sent.content) if sent.headers.get("content-encoding") == "gzip" else sent.content)
    return len(config.get("components") or []), len(config.get("dependencies") or []), len(raw.content), wire


def generate_id(url: str, selector: str) -> int:
    """The component id of the button ``selector`` (``#elem_id``) names, from ``/config``: a ``queue/join`` with
    this ``trigger_id`` is a click on it."""
    import httpx

    config = httpx.get(f"{url}/config", timeout=30, trust_env=False).json()
    elem_id = selector.removeprefix("#")
    return next(c["id"] for c in config["components"] if (c.get("props") or {}).get("elem_id") == elem_id)


# The click on Generate is stopped in the page, where it calls ``fetch``, and not with Playwright's ``page.route``:
# routing turns the browser's HTTP cache off, so every load would fetch every script and stylesheet again (74 for
# the app's page, 48 for the peer's) and a warm load would not be one. The page's own queued load events (the app's
# history and share links) send ``queue/join`` too: they go through. ``__generate_joined``: the page's clock
# (milliseconds from navigation) when the page called ``fetch`` for the first join of a click on Generate;
# ``__page_marks``: when the page's ``load`` event fired, the first block and Generate were in the page, and Generate
# got the click (pointerdown).
STOP_GENERATE_JS = """(() => {
  const fetch = window.fetch;
  window.__generate_joined = null;
  window.fetch = function (input, init) {
    const address = typeof input === "string" ? input : String((input && input.url) || input);
    if (address.includes("/queue/join") && init && typeof init.body === "string") {
      let trigger = null;
      try { trigger = JSON.parse(init.body).trigger_id; } catch (error) { /* not a join we know */ }
      if (trigger === %d) {
        if (window.__generate_joined === null) window.__generate_joined = performance.now();
        return Promise.reject(new TypeError("stopped by the benchmark: no run"));
      }
    }
    return fetch.apply(this, arguments);
  };
  // Where the time goes (PHASES): when the first block and Generate are in the page, and when it gets the click.
  const marks = window.__page_marks = {};
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const watch = new MutationObserver(() => {  // stops once Generate is there (it costs the page little)
    if (document.querySelector(".block")) mark("first_block");
    if (document.querySelector(%s)) { mark("generate_drawn"); watch.disconnect(); }
  });
  watch.observe(document, {childList: true, subtree: true});
  document.addEventListener("pointerdown", (event) => {
    if (event.target instanceof Element && event.target.closest(%s)) mark("clicked");
  }, true);
  window.addEventListener("load", () => mark("load"));
})();"""


#: Where a load's time goes, in order (milliseconds from navigation, each load's own; printed as medians): the
#: page's ``load`` event; its component modules asked for and all arrived (the ``/assets/`` scripts the page asks
#: for after ``load``: Gradio imports a module per component type once it has read the config); the first block,
#: then Generate, in the page; Generate's click (Playwright clicks once it is drawn and steady); the click's
#: ``queue/join``.
PHASES = ("load", "modules_asked", "modules_in", "first_block", "generate_drawn", "clicked", "joined")
PHASES_JS = """(() => {
  const marks = {...(window.__page_marks || {})};
  if (window.__generate_joined !== null) marks.joined = window.__generate_joined;
  const after = marks.load || 0;
  const modules = performance.getEntriesByType("resource").filter(
    (e) => e.initiatorType === "script" && e.name.includes("/assets/") && e.startTime > after);
  if (modules.length) {
    marks.modules_asked = Math.min(...modules.map((e) => e.startTime));
    marks.modules_in = Math.max(...modules.map((e) => e.responseEnd));
  }
  return marks;
})()"""


def browser_main(pages: list[tuple[str, str]]) -> int:
    """Child process: for each side (``url``, ``selector``), a first visit in a fresh context (nothing cached) and a
    warm-up load in the context its timed loads use (its cache warm, as for a returning visitor); then one timed
    load per ``load <side>`` line on stdin, until ``end``. A load's figure is the seconds from navigation until a
    click on ``selector`` sends ``queue/join`` (stopped in the page: ``STOP_GENERATE_JS``, so no run starts and the
    HTTP cache stays on). Prints ``@@ {json}``."""
    from playwright.sync_api import sync_playwright

    triggers = [generate_id(url, selector) for url, selector in pages]

    def load(context: Any, side: int) -> tuple[float, dict[str, float]]:
        """Seconds until Generate works, or NaN: it never did within TTI_TIMEOUT, or the page failed; and the
        load's PHASES (milliseconds from navigation)."""
        url, selector = pages[side]
        phases: dict[str, float] = {}
        page = context.new_page()
        joined = None
        try:
            page.goto(url, wait_until="commit")
            began = time.monotonic()
            while joined is None and time.monotonic() - began < TTI_TIMEOUT:
                with contextlib.suppress(Exception):  # not there, or not wired, yet
                    page.click(selector, timeout=2000, no_wait_after=True)
                page.wait_for_timeout(25)
                joined = page.evaluate("window.__generate_joined")
            phases = page.evaluate(PHASES_JS)
            page.wait_for_timeout(1000)  # the page's own load events finish (counted in the CPU per load)
        except Exception as exc:  # noqa: BLE001 - one load lost, reported as NaN and counted by the parent
            print(f"a {url} load failed: {exc!r}", file=sys.stderr, flush=True)
        finally:
            page.close()
        time.sleep(PAGE_CLOSE_SECONDS)  # what the server does as the page goes (its streams) counts for this load
        return (joined / 1000 if joined is not None else float("nan")), phases

    def context_for(side: int) -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        selector = json.dumps(pages[side][1])
        context.add_init_script(STOP_GENERATE_JS % (triggers[side], selector, selector))
        return context

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            cold = []
            for side in range(len(pages)):
                cold_context = context_for(side)
                cold.append(load(cold_context, side)[0])  # a first visit: nothing cached
                cold_context.close()
            contexts = [context_for(side) for side in range(len(pages))]
            for side, context in enumerate(contexts):
                load(context, side)  # warm the cache
            print("@@ " + json.dumps({"cold": cold}), flush=True)
            for line in sys.stdin:
                word, _, side_text = line.strip().partition(" ")
                if word != "load":
                    break
                side = int(side_text)
                tti, phases = load(contexts[side], side)
                print("@@ " + json.dumps({"tti": tti, "phases": phases}), flush=True)
        finally:
            browser.close()
    return 0


def _request_kind(url: str) -> str | None:
    """What a page's request is, for counting a run's requests (None: not counted, e.g. the heartbeat)."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    if "/heartbeat" in path:
        return None
    if path.endswith("/queue/join"):
        return "join"
    if path.endswith("/queue/data"):
        return "stream"
    if "/gradio_api/run/" in path or path.endswith("/predict"):
        return "predict"
    if path.startswith("/media/"):
        return "image"
    if "/gradio_api/" in path:
        return "other"
    return None


# Page side, for a run as the page makes it: the queued events the page has joined and those whose
# ``process_completed`` it has read off an event stream. Gradio's client can open an event stream that nothing will
# ever close (``docs/upstream.md`` §16): a join's answer that arrives after its event finished and the session's
# stream closed makes the client open a new one, which stays open until the session's next event. A run is over
# when every event the page joined has completed, not when every stream has closed.
EVENT_WATCH_JS = r"""
(() => {
  const joined = new Set(), completed = new Set();
  window.__fpOpenEvents = () => [...joined].filter((id) => !completed.has(id)).length;
  const fetch0 = window.fetch;
  window.fetch = async function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || String(input);
    const response = await fetch0.apply(this, arguments);
    if (url.includes("/queue/join")) {
      response.clone().json().then((body) => body && body.event_id && joined.add(body.event_id), () => {});
    } else if (url.includes("/queue/data") && response.body) {
      const [mine, theirs] = response.body.tee();
      (async () => {
        const reader = theirs.getReader(), decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          const lines = buffer.split("\n");
          buffer = lines.pop();
          for (const line of lines) {
            if (!line.startsWith("data:")) continue;
            try {
              const message = JSON.parse(line.slice(5));
              if (message.msg === "process_completed" && message.event_id) completed.add(message.event_id);
            } catch (error) {}
          }
        }
      })().catch(() => {});
      return new Response(mine, { status: response.status, statusText: response.statusText,
                                  headers: response.headers });
    }
    return response;
  };
})();
"""


class _PageRequests:
    """One page's requests to the server (heartbeat aside): those open, and those of the current run by kind."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.inflight: set[Any] = set()
        self.counts: dict[str, int] = {}
        self.last_change = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Any) -> None:
        kind = _request_kind(request.url)
        if kind is not None:
            self.inflight.add(request)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.last_change = time.monotonic()

    def _ended(self, request: Any) -> None:
        if request in self.inflight:
            self.inflight.discard(request)
            self.last_change = time.monotonic()

    def streams_open(self) -> int:
        return sum(_request_kind(r.url) == "stream" for r in self.inflight)

    def settled(self) -> bool:
        """Every event the page joined has completed, no other request is open, and none started or ended for
        ``PAGE_RUN_SETTLE_SECONDS`` (an event stream may stay open: see ``EVENT_WATCH_JS``)."""
        if len(self.inflight) > self.streams_open():
            return False
        if time.monotonic() - self.last_change < PAGE_RUN_SETTLE_SECONDS:
            return False
        return self.page.evaluate("window.__fpOpenEvents()") == 0


def browser_runs_main(url: str, selector: str, runs: int) -> int:
    """Child process: ``PAGE_RUN_PAGES`` pages, then (after a line on stdin) rounds of one click on ``selector`` in
    each page at once, each round waited for until every page's server requests have stopped for
    ``PAGE_RUN_SETTLE_SECONDS`` (the run, and whatever the page sends after it), until ``runs`` runs are made.
    Prints ``@@ {json}`` lines: the requests of each run by kind."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # One visitor per page (the app allows a visitor a few runs at once; visitor_headers plays a Space's
            # proxy, which the benchmark's app trusts as on Spaces).
            contexts = [browser.new_context(viewport={"width": 1400, "height": 1000},
                                            extra_http_headers=visitor_headers(index))
                        for index in range(PAGE_RUN_PAGES)]
            for context in contexts:
                context.add_init_script(EVENT_WATCH_JS)
            pages = [context.new_page() for context in contexts]
            watched = [_PageRequests(page) for page in pages]

            def settle(waiting: list[_PageRequests]) -> None:
                deadline = time.monotonic() + TTI_TIMEOUT
                while not all(w.settled() for w in waiting):
                    if time.monotonic() > deadline:
                        open_requests = sorted(f"{r.method} {r.url}" for w in waiting for r in w.inflight)
                        raise RuntimeError(f"a page did not settle; still open: {open_requests or 'none'}")
                    waiting[0].page.wait_for_timeout(50)

            for page in pages:
                page.goto(url, wait_until="load")
                page.locator(selector).wait_for(timeout=TTI_TIMEOUT * 1000)
            settle(watched)
            print("@@ " + json.dumps({"ready": True}), flush=True)
            sys.stdin.readline()
            per_run: list[dict[str, int]] = []
            while len(per_run) < runs:
                batch = watched[:runs - len(per_run)]
                for w in batch:
                    w.counts.clear()
                    w.page.click(selector)
                for w in batch:
                    while "join" not in w.counts:
                        w.page.wait_for_timeout(20)
                settle(batch)
                # "left open": event streams still open after the run's events completed (the client's race above)
                per_run += [{**w.counts, "left open": w.streams_open()} for w in batch]
            print("@@ " + json.dumps({"runs": per_run}), flush=True)
            sys.stdin.readline()  # the pages stay open while the server's idle CPU is measured again
        finally:
            browser.close()
    return 0


@contextlib.contextmanager
def _browser_child(*args: str) -> Iterator[subprocess.Popen[str]]:
    """This script in a child process, in one of its browser modes; killed on exit if still running."""
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=str(ROOT))
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()


def _reply(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The child's next ``@@ {json}`` line."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("@@ "):
            return json.loads(line[3:])
    raise RuntimeError("the browser process ended without figures")


def _tell(process: subprocess.Popen[str], word: str) -> None:
    assert process.stdin is not None
    process.stdin.write(word + "\n")
    process.stdin.flush()


def _idle_rate(server_cpu: Any, seconds: float) -> float:
    """The server's own background CPU per second (queue loop, timers, open pages' heartbeats), nothing sent."""
    before = server_cpu()
    time.sleep(seconds)
    return (server_cpu() - before) / seconds


def page_run_figures(url: str, selector: str, runs: int,
                     server_cpu: Any) -> tuple[float, float, float, dict[str, float], int]:
    """(server CPU seconds per run as the page makes it: all of it, and less the server's idle CPU over the same
    time; that idle CPU per second; the page's requests per run by kind (median); the runs after which an event
    stream was left open)."""
    with _browser_child("--browser-runs", url, selector, str(runs)) as process:
        _reply(process)  # the pages are open and settled
        idle_before = _idle_rate(server_cpu, PAGE_RUN_IDLE_SECONDS)
        cpu0, began = server_cpu(), time.monotonic()
        _tell(process, "go")
        per_run = _reply(process)["runs"]
        cpu, elapsed = server_cpu() - cpu0, time.monotonic() - began
        # Idle measured before and after, the pages open both times.
        idle = (idle_before + _idle_rate(server_cpu, PAGE_RUN_IDLE_SECONDS)) / 2
        _tell(process, "done")
        process.wait(30)
    left_open = sum(run.pop("left open", 0) > 0 for run in per_run)
    kinds = sorted({kind for run in per_run for kind in run})
    return (cpu / runs, (cpu - idle * elapsed) / runs, idle,
            {kind: median([run.get(kind, 0) for run in per_run]) for kind in kinds}, left_open)


@dataclass
class PageLoads:
    tti: list[float] = field(default_factory=list)  # seconds until Generate works, per warm load
    cold: float = 0.0  # the same for a first visit
    cpu: list[float] = field(default_factory=list)  # the server's CPU seconds per warm load, all told
    seconds: list[float] = field(default_factory=list)  # each load's duration (navigation to page closed)
    idle_before: float = 0.0  # the server's idle CPU seconds per second, measured before the timed loads
    idle_after: float = 0.0  # ... and after them
    phases: list[dict[str, float]] = field(default_factory=list)  # each warm load's PHASES (ms from navigation)

    def worked(self) -> list[float]:
        """The warm loads in which Generate worked (a NaN is one in which it never did)."""
        return [t for t in self.tti if not math.isnan(t)]

    @property
    def idle_rate(self) -> float:
        """The server's idle CPU seconds per second, taken off each load: the mean of the two readings."""
        return (self.idle_before + self.idle_after) / 2

    def net_cpu(self) -> float:
        """Server CPU seconds per load less its idle CPU over the load's time."""
        return sum(cpu - self.idle_rate * seconds for cpu, seconds in zip(self.cpu, self.seconds)) / len(self.cpu)


def page_figures(sides: list[tuple[str, str, Any]], loads: int) -> list[PageLoads]:
    """For each side (url, selector, its server's CPU clock): ``loads`` warm page loads, the sides taking turns
    (ABBA: A B, then B A, ...) in one browser so that a slow spell of the machine falls on both alike; each load's
    server CPU is read around that load alone."""
    figures = [PageLoads() for _ in sides]
    with _browser_child("--browser", *(part for url, selector, _ in sides for part in (url, selector))) as process:
        for figure, cold in zip(figures, _reply(process)["cold"]):  # first visits done, caches warm
            figure.cold = cold
        for figure, (_, _, server_cpu) in zip(figures, sides):
            figure.idle_before = _idle_rate(server_cpu, IDLE_SECONDS)
        order = list(range(len(sides)))
        for i in range(loads):
            for side in order if i % 2 == 0 else order[::-1]:
                server_cpu = sides[side][2]
                cpu0, began = server_cpu(), time.monotonic()
                _tell(process, f"load {side}")
                reply = _reply(process)
                tti = reply["tti"]
                figures[side].phases.append(reply.get("phases") or {})
                figures[side].cpu.append(server_cpu() - cpu0)
                figures[side].seconds.append(time.monotonic() - began)
                figures[side].tti.append(tti)
        # and after: the mean of both is subtracted per load (one 3 s reading alone could catch a slow spell of the
        # server's own, and the net CPU per load then came out below zero)
        for figure, (_, _, server_cpu) in zip(figures, sides):
            figure.idle_after = _idle_rate(server_cpu, IDLE_SECONDS)
        _tell(process, "end")
        process.wait(30)
    return figures


def phase_median(loads: list[dict[str, float]], phase: str) -> float:
    """The median of ``phase`` over the loads that reached it (NaN if none did)."""
    return median([marks[phase] for marks in loads if phase in marks])


def html_cpu(url: str, server_cpu: Any, repeat: int = 20, paths: tuple[str, ...] = ("",)) -> float:
    """The server's CPU seconds per ``GET /`` (the HTML page with the whole config in it), gzip accepted; or per
    round of ``paths`` (relative to ``url``)."""
    import httpx

    with httpx.Client(timeout=30, trust_env=False, headers={"Accept-Encoding": "gzip"}) as http:
        for path in paths:
            http.get(url + path)
        cpu0 = server_cpu()
        for _ in range(repeat):
            for path in paths:
                http.get(url + path).raise_for_status()
        return (server_cpu() - cpu0) / repeat


#: What a Python client (``gradio_client.Client``) reads from the server when it connects.
CLIENT_CONNECT_PATHS = ("config", "gradio_api/info?serialize=False")


def print_page(app_url: str, peer: Any, loads: int) -> None:
    sides = (("app", app_url, "#flux_pro-generate", cpu_seconds), ("peer", peer.url, "#generate", peer.cpu_seconds))
    rows = []
    for name, url, _, server in sides:
        blocks, deps, raw, wire = config_figures(url)
        html_raw, html_wire, page_blocks, page_deps = page_bytes(url)
        rows.append((name, blocks, deps, raw, wire, html_raw, html_wire, html_cpu(url, server), page_blocks,
                     page_deps, html_cpu(url.rstrip("/") + "/", server, 10, CLIENT_CONNECT_PATHS)))
    figures = page_figures([(url, selector, server) for _, url, selector, server in sides], loads)
    print(f"\nThe page ({loads} loads each after a warm-up, the sides taking turns; Chromium headless, localhost)")
    print(f"{'side':<6} {'blocks':>6} {'events':>6} {'config KB':>9} {'as sent KB':>10} {'page blocks':>11} "
          f"{'events':>6} {'page KB':>7} {'as sent KB':>10} {'CPU/GET /':>9} {'CPU/load':>9} {'TTI median':>10} "
          f"{'TTI max':>8} {'TTI first visit':>15} {'CPU/client':>10}")
    for (name, blocks, deps, raw, wire, html_raw, html_wire, per_html, p_blocks, p_deps, per_client), loaded in zip(
            rows, figures):
        worked = loaded.worked()
        print(f"{name:<6} {blocks:>6} {deps:>6} {raw / 1000:9.0f} {wire / 1000:10.0f} {p_blocks:>11} {p_deps:>6} "
              f"{html_raw / 1000:7.0f} {html_wire / 1000:10.0f} {per_html * 1000:7.1f}ms "
              f"{loaded.net_cpu() * 1000:7.0f}ms {median(worked):9.2f}s {max(worked, default=math.nan):7.2f}s "
              f"{loaded.cold:14.2f}s {per_client * 1000:8.1f}ms")
        if len(worked) < len(loaded.tti):
            print(f"  {name}: Generate never worked in {len(loaded.tti) - len(worked)} of {len(loaded.tti)} loads "
                  f"(within {TTI_TIMEOUT:g} s, or the page failed): left out of its figures")
    print("  CPU/load all told (idle CPU not taken off): " + ", ".join(
        f"{name} {sum(loaded.cpu) / len(loaded.cpu) * 1000:.0f} ms" for (name, *_), loaded in zip(sides, figures)))
    print("  idle CPU before / after the loads: " + ", ".join(
        f"{name} {loaded.idle_before * 1000:.0f} / {loaded.idle_after * 1000:.0f} ms/s"
        for (name, *_), loaded in zip(sides, figures)))
    app, peer_loads = figures
    turns = sorted(a / b for a, b in zip(app.tti, peer_loads.tti) if not (math.isnan(a) or math.isnan(b)))
    print(f"  app / peer time until Generate works: {median(app.worked()) / median(peer_loads.worked()):.2f}x "
          f"(goal <= 1.5x); "
          + (f"load by load {turns[0]:.2f}x to {turns[-1]:.2f}x, median {median(turns):.2f}x" if turns else
             "no pair of loads in which Generate worked on both sides"))
    print("  where the time goes (median ms from navigation; PHASES):")
    print("  " + f"{'side':<6}" + "".join(f"{name.replace('_', ' '):>15}" for name in PHASES))
    for (name, *_), loaded in zip(sides, figures):
        print("  " + f"{name:<6}" + "".join(f"{phase_median(loaded.phases, phase):15.0f}" for phase in PHASES))
    print("  config: /config (what gradio_client reads); page blocks/events: the config in GET / (what the browser"
          "\n  builds); page: GET / (the HTML with the config the browser reads)"
          "\n  TTI: navigation -> a click on Generate sends queue/join (app and peer loads alternate: app, peer, then"
          "\n  peer, app, ...; load by load: each app load over the peer load next to it)"
          "\n  CPU/load: the server's CPU from navigation to 1 s after that (every request of the page, browser cache"
          "\n  warm), per load, minus the server's idle CPU over the same time (the mean of 3 s before the loads and 3 s"
          "\n  after; stock Gradio's idle CPU is its 1 ms queue polling, which slows while a page loads, so taking it off"
          "\n  flatters a polling server); CPU/GET /: the HTML page alone; CPU/client: GET /config and GET"
          "\n  /gradio_api/info?serialize=False, what a gradio_client.Client reads as it connects")


def print_page_runs(app_url: str, peer: Any, runs: int) -> None:
    """A run as the page makes it: the page also sends what its events chain after the run (the load figures above
    time the run's own event, as the issue's method does)."""
    rows = []
    for name, url, selector, server in (("app", app_url, "#flux_pro-generate", cpu_seconds),
                                        ("peer", peer.url, "#generate", peer.cpu_seconds)):
        rows.append((name, *page_run_figures(url, selector, runs, server)))
    print(f"\nA run as the page makes it ({runs} clicks on Generate: {PAGE_RUN_PAGES} pages at once, round after round,"
          " Chromium)")
    print(f"{'side':<6} {'server CPU/run':>14} {'less idle':>9} {'idle':>8}   page requests per run (median); "
          "runs leaving a stream open")
    for name, cpu, net, idle, requests, left_open in rows:
        listed = ", ".join(f"{kind} {count:g}" for kind, count in requests.items())
        print(f"{name:<6} {cpu * 1000:12.0f}ms {net * 1000:7.0f}ms {idle * 1000:4.0f}ms/s   {listed}; "
              f"{left_open} of {runs}")
    print(f"  app / peer server CPU per run: {rows[0][1] / rows[1][1]:.2f}x (less idle: {rows[0][2] / rows[1][2]:.2f}x)"
          "\n  server CPU/run: all the server's CPU while the pages made the runs, per run; less idle: without the"
          "\n  server's idle CPU over that time (measured before and after, the pages open). Stock Gradio's idle CPU"
          "\n  is its queue polling every 1 ms (docs/upstream.md §17), which slows down while the server is busy, so"
          "\n  'less idle' takes off more than it spent: it flatters a polling server (the peer's)"
          "\n  a run: the click until every queued event the page joined has completed and its requests to the server"
          f"\n  (heartbeat and event streams aside) have stopped for {PAGE_RUN_SETTLE_SECONDS:g} s;\n  join: queued events (the run and the steps the page chains after it); "
          "predict: unqueued steps;\n  stream: event streams opened; image: /media/<name> loads;"
          "\n  left open: an event stream Gradio's client opened after the events it was for had completed (it stays"
          "\n  open, idle, until the session's next event; docs/upstream.md §16); counted, not waited for")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visitors", default="25,50")
    parser.add_argument("--runs", type=int, default=3, help="runs in a row per visitor (one session)")
    parser.add_argument("--rounds", type=int, default=2, help="direct, app, peer phases per load, repeated")
    parser.add_argument("--steps", type=int, default=28)
    parser.add_argument("--step-seconds", type=float, default=0.05)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--capacity", type=int, default=128)
    parser.add_argument("--page-loads", type=int, default=10)
    parser.add_argument("--skip-load", action="store_true", help="only the page figures")
    parser.add_argument("--skip-page", action="store_true", help="only the load figures")
    parser.add_argument("--page-runs", type=int, default=12, help="runs made by clicking Generate in the pages")
    parser.add_argument("--browser", nargs="+", metavar="URL SELECTOR", help=argparse.SUPPRESS)
    parser.add_argument("--browser-runs", nargs=3, metavar=("URL", "SELECTOR", "RUNS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.browser:
        return browser_main(list(zip(args.browser[::2], args.browser[1::2])))
    if args.browser_runs:
        return browser_runs_main(args.browser_runs[0], args.browser_runs[1], int(args.browser_runs[2]))
    counts = [int(x) for x in args.visitors.split(",") if x.strip()]
    if not counts or min(counts) < 1 or max(counts) > args.capacity or not 1 <= args.runs <= 10:
        parser.error("visitors must be 1..capacity and runs 1..10")
    started = time.monotonic()
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}; sandbox capacity {args.capacity}, "
          f"{args.steps} x {args.step_seconds:g} s, {args.width}x{args.height}")
    options = {"capacity": args.capacity, "step_seconds": args.step_seconds}
    with sandbox_process(**options) as sandbox, launched_app(sandbox.url) as app, \
            peer_space_process(sandbox.url, "--width", str(args.width), "--height", str(args.height),
                               "--steps", str(args.steps)) as peer:
        if not args.skip_load:
            worker = Worker()
            try:
                for side in SIDES:  # warm-up, untimed: imports, connections, first-call caches
                    run_phase(side, 2, 0, args, worker, sandbox, app.url, peer)
                results: dict[int, dict[str, Phase]] = {}
                for n in counts:
                    merged = {side: Phase(side, n) for side in SIDES}
                    for r in range(1, args.rounds + 1):
                        for side in SIDES:
                            phase = run_phase(side, n, r, args, worker, sandbox, app.url, peer)
                            merged[side].add(phase)
                            print(f"  {n:>3} visitors, round {r}, {side:<6}: median {median(phase.walls):5.2f} s, "
                                  f"p95 {percentile(phase.walls, 95):5.2f} s, CPU/run "
                                  f"{phase.server_cpu / max(1, phase.runs) * 1000:4.0f} ms, errors "
                                  f"{len(phase.errors)}, wrong {len(phase.wrong)}", flush=True)
                    results[n] = merged
            finally:
                worker.close()
            print_load(results, args)
        if not args.skip_page:
            if args.page_loads > 0:
                print_page(app.url, peer, args.page_loads)
            if args.page_runs > 0:
                print_page_runs(app.url, peer, args.page_runs)
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
