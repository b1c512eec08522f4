"""A hostile sweep axis against the launched app: 140 KB of ``0-999`` tokens (23 million seeds once expanded) sent
to ``/flux_pro_sweep`` through ``gradio_client``, while another visitor asks the app's ``/media`` route (answered
on the app's event loop) every 20 ms.

Prints how long the refusal took, its message, the slowest answer the other visitor got meanwhile (the stall they
saw) and this process's peak RSS growth. Asserts nothing. Loopback only; stops by itself.

    python benchmarks/sweep_hostile_axis.py [--kb 140]
"""

from __future__ import annotations

import argparse
import resource
import threading
import time

import httpx
from gradio_client import Client

from sandbox import SandboxOptions
from tests.app_support import launched_app


def main(args: argparse.Namespace) -> None:
    hostile = ", ".join(["0-999"] * (args.kb * 1024 // 7 + 1))[: args.kb * 1024]
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0)) as app:
        client = Client(app.url, verbose=False)
        worst, answers = 0.0, 0
        done = threading.Event()

        def other_visitor() -> None:
            nonlocal worst, answers
            with httpx.Client(timeout=120) as http:
                while not done.is_set():
                    started = time.monotonic()
                    http.get(f"{app.url}/media/0.png")
                    worst, answers = max(worst, time.monotonic() - started), answers + 1
                    time.sleep(0.02)

        prober = threading.Thread(target=other_visitor)
        prober.start()
        time.sleep(0.5)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.monotonic()
        try:
            client.predict(prompt="x", x_field="seed", x_values=hostile, api_name="/flux_pro_sweep")
            message = "(accepted)"
        except Exception as exc:  # noqa: BLE001 - the refusal is what we measure
            message = str(exc).splitlines()[0][:160]
        took = time.monotonic() - started
        time.sleep(0.3)
        done.set()
        prober.join()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"axis text: {len(hostile) / 1024:.0f} KB ({hostile.count(',') + 1} tokens of 0-999)")
        print(f"refused in {took * 1000:.0f} ms: {message}")
        print(f"other visitor: slowest answer {worst * 1000:.0f} ms over {answers} requests (the stall they saw)")
        print(f"peak RSS of the app process: {rss_before:.0f} -> {rss_after:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", type=int, default=140)
    main(parser.parse_args())
