"""``python -m sandbox --port 8765``: serve a sandbox until Ctrl-C and print the URLs the app needs."""

from __future__ import annotations

import argparse
import asyncio
import sys

from sandbox.addresses import is_loopback_host
from sandbox.app import base_urls, create_app
from sandbox.embedded import bind_socket, build_server, url_of
from sandbox.options import SandboxOptions


def main(argv: list[str] | None = None) -> int:
    defaults = SandboxOptions()
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--step-seconds", type=float, default=defaults.step_seconds)
    parser.add_argument("--capacity", type=int, default=defaults.capacity)
    parser.add_argument("--credits", type=float, default=defaults.credits)
    parser.add_argument("--fault", default="", help="server-wide fault spec (see sandbox/faults.py)")
    args = parser.parse_args(argv)
    try:
        options = SandboxOptions(
            capacity=args.capacity, step_seconds=args.step_seconds, credits=args.credits, faults=args.fault
        )
        app = create_app(options)
    except ValueError as exc:  # FaultSpecError is a ValueError
        parser.error(str(exc))
    if not is_loopback_host(args.host):
        print(f"warning: serving on {args.host}: the sandbox checks no real keys", file=sys.stderr)
    sock = bind_socket(args.host, args.port)
    for name, url in base_urls(url_of(sock)).items():
        print(f"{name}={url}", flush=True)
    server = build_server(app, log_level="info")
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
