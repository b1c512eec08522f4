"""Uploads are bounded: Gradio refuses a file over PLAYGROUND_MAX_UPLOAD_MB (default 25 MB), and its cache
(uploads included) is swept within an hour, not a day."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image

from sandbox import SandboxOptions
from settings import Settings, SettingsError
from tests.app_support import launched_app

MAX_UPLOAD_ENV = "PLAYGROUND_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 25

pytestmark = pytest.mark.timeout(120)

MB = 1024 * 1024


def upload(url: str, name: str, data: bytes, content_type: str) -> httpx.Response:
    return httpx.post(f"{url.rstrip('/')}/gradio_api/upload", files={"files": (name, data, content_type)}, timeout=60,
                      trust_env=False)


def test_an_upload_over_the_limit_is_refused_and_one_under_it_is_kept():
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(png, "PNG")
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0)) as app:
        assert app.demo.max_file_size == DEFAULT_MAX_UPLOAD_MB * MB
        frequency, age = app.demo.delete_cache
        assert frequency <= 600 and age <= 3600  # uploads do not stay a day
        refused = upload(app.url, "huge.png", b"\0" * (DEFAULT_MAX_UPLOAD_MB * MB + 1), "image/png")
        assert refused.status_code == 413, refused.text
        kept = upload(app.url, "small.png", png.getvalue(), "image/png")
        assert kept.status_code == 200, kept.text
        assert len(kept.json()) == 1


def test_the_limit_is_configurable_and_bad_values_are_refused_by_name():
    assert Settings.from_env({}).max_upload_bytes == 25 * MB
    assert Settings.from_env({MAX_UPLOAD_ENV: "2"}).max_upload_bytes == 2 * MB
    assert Settings.from_env({MAX_UPLOAD_ENV: "0.5"}).max_upload_bytes == MB // 2
    for raw in ("0", "-1", "lots", "5000"):
        with pytest.raises(SettingsError, match=f"^{MAX_UPLOAD_ENV}: "):
            Settings.from_env({MAX_UPLOAD_ENV: raw})
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env={MAX_UPLOAD_ENV: "1"}) as app:
        assert upload(app.url, "two.bin", b"\0" * (2 * MB), "image/png").status_code == 413
        assert upload(app.url, "half.bin", b"\0" * (MB // 2), "image/png").status_code == 200


def upload_from(url: str, address: str, size: int) -> httpx.Response:
    return httpx.post(f"{url.rstrip('/')}/gradio_api/upload", files={"files": ("a.png", b"\0" * size, "image/png")},
                      headers={"X-Forwarded-For": address}, timeout=60, trust_env=False)


def test_one_address_may_upload_so_much_an_hour_and_everyone_together_so_much():
    """A probe stored 20 files of 24 MB in 2.6 s from one client: nothing bounded the number of uploads, and
    Gradio keeps them an hour. Each address has an hourly allowance, and all addresses together another."""
    env = {"PLAYGROUND_UPLOAD_MB_PER_HOUR": "1", "PLAYGROUND_UPLOADS_MB_PER_HOUR": "1.5",
           "PLAYGROUND_TRUSTED_PROXIES": "1"}
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env=env) as app:
        assert upload_from(app.url, "203.0.113.1", 600 * 1024).status_code == 200
        refused = upload_from(app.url, "203.0.113.1", 600 * 1024)
        assert refused.status_code == 429, refused.text
        assert "Upload limit reached: at most 1 MB an hour from one address" in refused.json()["detail"]
        assert 60 <= int(refused.headers["retry-after"]) <= 3600
        assert upload_from(app.url, "203.0.113.2", 600 * 1024).status_code == 200  # another visitor
        assert upload_from(app.url, "203.0.113.3", 600 * 1024).status_code == 429  # everyone's hour is spent

        def chunked(address: str, size: int) -> httpx.Response:
            """A file sent without a length (chunked), as a client may: cut off once past the allowance."""
            head = (b'--x\r\nContent-Disposition: form-data; name="files"; filename="c.png"\r\n'
                    b"Content-Type: image/png\r\n\r\n")

            def body():
                yield head
                for _ in range(size // (64 * 1024)):
                    yield b"\0" * (64 * 1024)
                yield b"\r\n--x--\r\n"

            return httpx.post(f"{app.url.rstrip('/')}/gradio_api/upload", content=body(), timeout=30,
                              headers={"X-Forwarded-For": address, "Content-Type": "multipart/form-data; boundary=x"},
                              trust_env=False)

    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0),
                      env={**env, "PLAYGROUND_UPLOADS_MB_PER_HOUR": "100"}) as app:
        assert chunked("203.0.113.5", 512 * 1024).status_code == 200
        try:
            cut = chunked("203.0.113.5", 2 * MB).status_code
        except httpx.HTTPError:
            cut = None  # the connection went
        assert cut != 200, "past the allowance, a file sent without a length is not stored"


def test_the_hourly_allowances_are_configurable_and_bad_values_refused_by_name():
    assert Settings.from_env({}).upload_limits.per_address == 200 * MB
    assert Settings.from_env({"PLAYGROUND_UPLOADS_MB_PER_HOUR": "10"}).upload_limits.total == 10 * MB
    for name in ("PLAYGROUND_UPLOAD_MB_PER_HOUR", "PLAYGROUND_UPLOADS_MB_PER_HOUR"):
        with pytest.raises(SettingsError, match=f"^{name}: "):
            Settings.from_env({name: "0"})


def test_uploads_sent_at_once_share_one_allowance():
    """Ten uploads at once each found the whole allowance free when bytes were counted once stored: all ten went
    through a 1 MB allowance. Each is charged as it starts."""
    from concurrent.futures import ThreadPoolExecutor

    env = {"PLAYGROUND_UPLOAD_MB_PER_HOUR": "1", "PLAYGROUND_TRUSTED_PROXIES": "1"}
    with (launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env=env) as app,
          ThreadPoolExecutor(10) as pool):
        codes = list(pool.map(lambda _: upload_from(app.url, "203.0.113.9", 400 * 1024).status_code, range(10)))
    assert codes.count(200) == 2 and codes.count(429) == 8, codes


def noise_png(side: int) -> bytes:
    """A real PNG of about ``side``² × 3 bytes (random pixels do not compress)."""
    noise = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(noise, "PNG")
    return noise.getvalue()


@contextlib.contextmanager
def public_image_server(body: bytes, monkeypatch) -> Iterator[str]:
    """A server on loopback answering every GET with ``body`` (a PNG), its address taken as public by the SSRF check
    (which refuses loopback); yields its base URL."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import safehttpx

    class Images(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                return

        def log_message(self, *args: object) -> None:
            pass

    async def public(host: str) -> str:  # this test's server is the only "public" address
        return "127.0.0.1"

    monkeypatch.setattr(safehttpx, "async_validate_url", public)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_a_file_given_by_url_to_the_api_is_held_to_the_upload_limit(monkeypatch):
    """``handle_file(url)`` (the API docs name it for image fields): Gradio downloads the file before any handler,
    whole into memory. Past PLAYGROUND_MAX_UPLOAD_MB the call is refused and nothing is kept."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    body = noise_png(1000)  # a real image of ~3 MB: without the limit, it is downloaded and run
    assert len(body) > 2 * MB
    with (public_image_server(body, monkeypatch) as server,
          launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env={MAX_UPLOAD_ENV: "1"}) as app):
        client = Client(app.url, verbose=False)
        with pytest.raises(AppError):
            client.predict(image_url=handle_file(f"{server}/huge.png"), prompt="a", api_name="/flux_dev_image_to_image")
        stats = httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()
        assert not stats["submits"], "nothing was run"


def test_other_request_bodies_are_bounded_and_mcp_calls_charged():
    """A probe: a 100 MB queue/join body took 1.25 GB of memory; component_server read up to 1,000 files of 25 MB
    before looking at the function; process_recording stored 25 MB videos outside the allowance; MCP calls stored
    data: images (340 MB in 10 s from one address). Bodies are bounded, the unused route is gone, MCP is charged."""
    env = {"PLAYGROUND_UPLOAD_MB_PER_HOUR": "1", "PLAYGROUND_TRUSTED_PROXIES": "1", "PLAYGROUND_MCP": "1"}
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env=env) as app:
        root = app.url.rstrip("/")
        join = {"data": [[0] * 10], "fn_index": 0, "session_hash": "big", "trigger_id": None}
        huge = json.dumps({**join, "data": [[0] * (4 * MB)]})  # ~12 MB of JSON
        refused = httpx.post(f"{root}/gradio_api/queue/join", content=huge, timeout=30, trust_env=False,
                             headers={"Content-Type": "application/json"})
        assert refused.status_code == 413 and "files go by upload" in refused.text
        files = {"files": ("a.bin", b"\0" * (9 * MB), "application/octet-stream")}
        assert httpx.post(f"{root}/gradio_api/component_server", files=files, timeout=30,
                          trust_env=False).status_code == 413
        assert httpx.post(f"{root}/gradio_api/process_recording", files=files, timeout=30,
                          trust_env=False).status_code == 404
        small = httpx.post(f"{root}/gradio_api/queue/join", json=join, timeout=30, trust_env=False)
        assert small.status_code != 413  # an ordinary event's body goes through
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}, "pad": "x" * (600 * 1024)}
        codes = [httpx.post(f"{root}/gradio_api/mcp/", json=call, timeout=30, trust_env=False,
                            headers={"X-Forwarded-For": "203.0.113.20",
                                     "Accept": "application/json, text/event-stream"}).status_code for _ in range(2)]
        assert codes[0] != 429 and codes[1] == 429, codes


def test_files_given_by_url_are_charged_to_the_senders_upload_allowance(monkeypatch):
    """A visitor could have the Space fetch file after file by URL into the cache its uploads are counted for, with
    no allowance: each is charged to the sender's hour, with what it uploads. Nor does the Space relay URLs."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    body = noise_png(370)  # a real image of ~400 KB
    assert 380 * 1024 < len(body) < 450 * 1024
    env = {"PLAYGROUND_UPLOAD_MB_PER_HOUR": "1", "PLAYGROUND_TRUSTED_PROXIES": "1"}
    with (public_image_server(body, monkeypatch) as server,
          launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env=env) as app):

        def run(address: str, name: str) -> object:
            client = Client(app.url, verbose=False, headers={"X-Forwarded-For": address})
            return client.predict(image_url=handle_file(f"{server}/{name}.png"), prompt="a", num_images=1,
                                  api_name="/flux_dev_image_to_image")

        first = upload_from(app.url, "203.0.113.1", 300 * 1024)  # the same allowance
        assert first.status_code == 200
        # Gradio's /file=<url> fetched any public URL for anyone and streamed it back, unbounded: gone. An
        # uploaded file is still served by its path.
        root = app.url.rstrip("/")
        for relay in (f"{root}/gradio_api/file={server}/first.png", f"{root}/file={server}/first.png"):
            assert httpx.get(relay, timeout=10, trust_env=False).status_code == 404, relay
        assert httpx.get(f"{root}/gradio_api/file={first.json()[0]}", timeout=10,
                         trust_env=False).status_code == 200
        run("203.0.113.1", "first")  # 300 KB + ~400 KB of 1 MB
        with pytest.raises(AppError, match="Upload limit reached: at most 1 MB an hour from one address"):
            run("203.0.113.1", "second")
        run("203.0.113.2", "second")  # another visitor's hour
        assert upload_from(app.url, "203.0.113.1", 400 * 1024).status_code == 429, "the URL file was charged"
        stats = httpx.get(f"{app.sandbox.url}/_sandbox/stats", timeout=5).json()
        assert sum(stats["submits"].values()) == 2, "the refused call ran nothing"
