"""Print what the page a visitor loads weighs with N catalog models (issue 18: 5 against 25 within 10 %).

    python benchmarks/models_page_weight.py [--sizes 5 25] [--chromium]

For each size: blocks in the app, components and dependencies in ``/config``, its bytes, server CPU per ``/config``
(mean of 5), and with ``--chromium`` the time until the first Generate button is visible in headless Chromium.
Sizes above the shipped catalog are padded with renamed copies of its endpoints (their API parameters are like
the originals', so they share parameter components: a real catalog of that size costs a little more per model).
Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import build_app, make_backends, make_context
from endpoints import EndpointSpec, catalog_endpoints, install_catalog
from providers.config import ProviderSettings

CHROMIUM = "/usr/bin/chromium"


def catalog_of(size: int, shipped: tuple[EndpointSpec, ...]) -> list[EndpointSpec]:
    specs = list(shipped)
    i = 0
    while len(specs) < size:
        s = shipped[i % len(shipped)]
        specs.append(replace(s, id=f"{s.id}-copy{i}", api_name=f"{s.api_name}_copy{i}", title=f"{s.title} copy {i}"))
        i += 1
    return specs[:size]


def measure(size: int, shipped: tuple[EndpointSpec, ...], chromium: bool) -> dict[str, float]:
    install_catalog(catalog_of(size, shipped))
    ctx = make_context(make_backends(ProviderSettings()), {})
    demo = build_app(ctx)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        started = time.process_time()
        for _ in range(5):
            body = urllib.request.urlopen(url.rstrip("/") + "/config", timeout=30).read()
        cpu_ms = (time.process_time() - started) / 5 * 1000
        config = json.loads(body)
        figures: dict[str, float] = {"catalog": size, "blocks": len(demo.blocks), "components": len(config["components"]),
                   "dependencies": len(config["dependencies"]), "config_bytes": len(body), "cpu_ms": round(cpu_ms)}
        if chromium:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                times = []
                for _ in range(3):
                    page = browser.new_page()
                    started = time.monotonic()
                    page.goto(url)
                    page.get_by_role("button", name="Generate").first.wait_for(timeout=60_000)
                    times.append(time.monotonic() - started)
                    page.close()
                browser.close()
            figures["interactive_s"] = round(sorted(times)[1], 2)
        return figures
    finally:
        demo.close()
        ctx.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 25])
    parser.add_argument("--chromium", action="store_true")
    args = parser.parse_args()
    shipped = catalog_endpoints()
    rows = [measure(size, shipped, args.chromium) for size in args.sizes]
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    first, last = rows[0], rows[-1]
    for key in ("blocks", "config_bytes", "cpu_ms", "interactive_s"):
        if first.get(key):
            print(f"{key}: {last[key] / first[key] - 1:+.1%} ({first['catalog']} → {last['catalog']} models)")


if __name__ == "__main__":
    main()
