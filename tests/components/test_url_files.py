"""A file input given by URL is downloaded streamed and held to the upload limit (components/url_files.py), against
a server on loopback (the SSRF check, which refuses loopback, is told this one address is public)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import safehttpx
from gradio import processing_utils

from components import url_files
from components.session_owners import CALLER, Caller
from components.upload_quota import UploadLedger, UploadLimits
from components.url_files import URLFileOverAllowance, URLFileTooLarge, capped_download

KB = 1024


class Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        if path == "/moved.png":
            self.send_response(302)
            self.send_header("Location", "/small.png")
            self.end_headers()
            return
        size = {"/small.png": 100 * KB, "/big.png": 3000 * KB, "/unsized.png": 3000 * KB}.get(path)
        if size is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        if path != "/unsized.png":
            self.send_header("Content-Length", str(size))
        self.end_headers()
        for _ in range(size // (100 * KB)):  # without a length: the body ends when the connection closes
            try:
                self.wfile.write(b"\0" * (100 * KB))
            except OSError:  # the app stopped reading
                return

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(monkeypatch) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    httpd.protocol_version = "HTTP/1.0"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    async def public(host: str) -> str:  # this test's server only
        assert host == "127.0.0.1"
        return "127.0.0.1"

    monkeypatch.setattr(safehttpx, "async_validate_url", public)
    monkeypatch.setitem(url_files._limit, "bytes", 1024 * KB)
    monkeypatch.setattr(url_files, "_allowance", {})  # no app's allowance (a test may have built one)
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


async def test_a_small_file_is_saved_where_gradio_would_and_redirects_are_followed(server, tmp_path):
    saved = Path(await capped_download(f"{server}/small.png", str(tmp_path)))
    assert saved.stat().st_size == 100 * KB and saved.parent.name == processing_utils.hash_url(f"{server}/small.png")
    moved = Path(await capped_download(f"{server}/moved.png", str(tmp_path)))
    assert moved.stat().st_size == 100 * KB


@pytest.mark.parametrize("name", ["big.png", "unsized.png"])
async def test_a_file_over_the_limit_is_refused_and_nothing_is_left(server, tmp_path, name):
    with pytest.raises(URLFileTooLarge, match="larger than 1 MB, the largest file this app takes"):
        await capped_download(f"{server}/{name}", str(tmp_path))
    assert not [p for p in tmp_path.rglob("*") if p.is_file()], "no partial file in the cache"


def test_it_takes_gradios_place_with_the_apps_limit():
    original = processing_utils.async_ssrf_protected_download
    try:
        url_files.cap_url_files(5 * KB)
        assert processing_utils.async_ssrf_protected_download is capped_download and url_files._limit["bytes"] == 5 * KB
    finally:
        processing_utils.async_ssrf_protected_download = original


@pytest.fixture
def allowance(monkeypatch) -> UploadLedger:
    """An hour's allowance of 250 KB per address, the one ``cap_url_files`` charges."""
    ledger = UploadLedger(UploadLimits(per_address=250 * KB, total=10_000 * KB))
    monkeypatch.setitem(url_files._allowance, "ledger", ledger)
    return ledger


async def test_a_downloaded_file_is_charged_to_its_senders_upload_allowance(server, tmp_path, allowance):
    token = CALLER.set(Caller("203.0.113.5", None, 0))
    try:
        await capped_download(f"{server}/small.png", str(tmp_path))
        assert allowance.room("203.0.113.5") == 150 * KB
        await capped_download(f"{server}/small.png", str(tmp_path))  # in the cache already: nothing fetched
        assert allowance.room("203.0.113.5") == 150 * KB
        await capped_download(f"{server}/moved.png", str(tmp_path))  # another URL: fetched again, and charged
        with pytest.raises(URLFileOverAllowance, match="Upload limit reached: at most 0.244141 MB an hour"):
            await capped_download(f"{server}/small.png?again", str(tmp_path))
    finally:
        CALLER.reset(token)
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 2, "the refused file is not in the cache"
    assert allowance.room("198.51.100.9") == 250 * KB, "another address keeps its own allowance"


async def test_a_file_sent_without_a_length_is_cut_off_at_the_allowance(server, tmp_path, allowance, monkeypatch):
    monkeypatch.setitem(url_files._limit, "bytes", 5000 * KB)  # under the size limit: the allowance stops it
    token = CALLER.set(Caller("203.0.113.5", None, 0))
    try:
        with pytest.raises(URLFileOverAllowance, match="Upload limit reached"):
            await capped_download(f"{server}/unsized.png", str(tmp_path))
    finally:
        CALLER.reset(token)
    assert 0 <= allowance.room("203.0.113.5") < 100 * KB, "what came is charged, never more than the allowance"
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]
