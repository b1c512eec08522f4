"""Starting and stopping the sandbox: in a thread, and as ``python -m sandbox``."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from sandbox import SandboxOptions, start_sandbox

REPO = Path(__file__).resolve().parents[2]


def test_start_sandbox_urls_and_context_manager():
    with start_sandbox(SandboxOptions(step_seconds=0.01)) as running:
        assert running.url.startswith("http://127.0.0.1:")
        assert running.fal_queue_url == f"{running.url}/fal/queue"
        assert running.fal_rest_url == f"{running.url}/fal/rest"
        assert running.segmind_api_url == f"{running.url}/segmind"
        assert running.fal_api_url == f"{running.url}/fal/api"
        index = httpx.get(running.url).json()
        assert index["FAL_QUEUE_URL"] == running.fal_queue_url
        started = time.monotonic()
    assert time.monotonic() - started < 3
    with pytest.raises(httpx.ConnectError):
        httpx.get(running.url, timeout=1)
    running.stop()  # idempotent


def test_refuses_non_loopback_hosts():
    with pytest.raises(ValueError):
        start_sandbox(host="0.0.0.0")


def test_two_sandboxes_side_by_side():
    with start_sandbox() as first, start_sandbox() as second:
        assert first.url != second.url
        assert httpx.get(f"{second.url}/_sandbox/stats").json()["submits"] == {}


def test_python_dash_m_sandbox_prints_urls_and_serves():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--step-seconds", "0.01", "--capacity", "1", "--credits", "3"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        urls = dict(process.stdout.readline().strip().split("=", 1) for _ in range(4))
        assert set(urls) == {"FAL_QUEUE_URL", "FAL_REST_URL", "SEGMIND_API_URL", "FAL_API_URL"}
        base = urls["FAL_QUEUE_URL"].removesuffix("/fal/queue")
        assert urls["FAL_API_URL"] == f"{base}/fal/api"
        deadline = time.monotonic() + 10
        while True:
            try:
                assert httpx.get(f"{base}/_sandbox/stats").json()["segmind_credits"] == 3
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        process.terminate()
        assert process.wait(timeout=5) is not None


async def test_sockets_have_tcp_nodelay_so_keep_alive_requests_are_not_delayed(sbx):
    """Nagle's algorithm held each keep-alive response ~40 ms (benchmarks/sandbox_keepalive.py prints the time)."""
    listening = [sock for server in sbx.server.servers for sock in server.sockets]
    assert listening and all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in listening)
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(2):  # the second request reuses the connection
            assert (await client.get(f"{sbx.url}/_sandbox/stats")).status_code == 200
        connections = list(sbx.server.server_state.connections)
        accepted = [connection.transport.get_extra_info("socket") for connection in connections]
        assert accepted and all(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for sock in accepted)


async def test_an_idle_connection_outlives_httpx_keep_alive_expiry(sbx):
    """A connection idle for about 5 s is reused by httpx (its keep-alive expiry is 5 s), and uvicorn's default
    closed it at 5 s: a submit sent as it closed failed with a ReadError. The sandbox keeps it, as real hosts do."""
    reader, writer = await asyncio.open_connection(sbx.server.config.host or "127.0.0.1", urlsplit(sbx.url).port)
    request = f"GET /_sandbox/stats HTTP/1.1\r\nHost: {urlsplit(sbx.url).netloc}\r\n\r\n".encode()
    try:
        for wait in (0, 5.5):
            await asyncio.sleep(wait)
            writer.write(request)
            await writer.drain()
            async with asyncio.timeout(5):
                status = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
            assert status.startswith(b"HTTP/1.1 200"), f"after {wait} s idle: {status!r}"
    finally:
        writer.close()
