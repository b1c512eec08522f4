"""A file input given by URL is downloaded streamed and held to the upload limit (components/url_files.py), against
a server on loopback (the SSRF check, which refuses loopback, is told this one address is public)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import safehttpx
from gradio import processing_utils

from components import url_files
from components.upload_quota import INPUT_FILES_PAID_BY, UploadLedger, UploadLimits
from components.url_files import FILE_MIN_BYTES, URLFileError, URLFileOverAllowance, URLFileTooLarge, capped_download

KB = 1024


#: Every GET the test server answered, by path.
GETS: list[str] = []


class Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        GETS.append(path)
        if path == "/moved.png":
            self.send_response(302)
            self.send_header("Location", "/small.png")
            self.end_headers()
            return
        if path == "/stall.png":  # declares 200 KB, then sends nothing for a while
            self.send_response(200)
            self.send_header("Content-Length", str(200 * KB))
            self.end_headers()
            time.sleep(5)
            return
        if path == "/short.png":  # declares 200 KB, sends 100 KB and hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(200 * KB))
            self.end_headers()
            self.wfile.write(b"\0" * (100 * KB))
            return
        size = {"/small.png": 100 * KB, "/big.png": 3000 * KB, "/unsized.png": 3000 * KB, "/slow.png": 300 * KB,
                "/tiny.png": 10}.get(path)
        if size is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        if path != "/unsized.png":
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if path == "/tiny.png":
            self.wfile.write(b"\0" * size)
            return
        for _ in range(size // (100 * KB)):  # without a length: the body ends when the connection closes
            try:
                self.wfile.write(b"\0" * (100 * KB))
                self.wfile.flush()
                if path == "/slow.png":
                    time.sleep(0.3)
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
    GETS.clear()
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


@pytest.fixture
def sender() -> Iterator[str]:
    """The event's inputs are being preprocessed for 203.0.113.5 (as ``PlaygroundBlocks.preprocess_data`` sets it)."""
    token = INPUT_FILES_PAID_BY.set("203.0.113.5")
    try:
        yield "203.0.113.5"
    finally:
        INPUT_FILES_PAID_BY.reset(token)


def cache_entries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*")]


async def test_a_downloaded_file_is_charged_to_its_senders_upload_allowance(server, tmp_path, allowance, sender):
    await capped_download(f"{server}/small.png", str(tmp_path))
    assert allowance.room(sender) == 150 * KB
    await capped_download(f"{server}/small.png", str(tmp_path))  # in the cache already: nothing fetched
    assert allowance.room(sender) == 150 * KB and GETS == ["/small.png"]
    await capped_download(f"{server}/moved.png", str(tmp_path))  # another URL: fetched again, and charged
    with pytest.raises(URLFileOverAllowance, match="Upload limit reached: at most 0.244141 MB an hour"):
        await capped_download(f"{server}/small.png?again", str(tmp_path))
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 2, "the refused file is not in the cache"
    assert len(cache_entries(tmp_path)) == 4, "nor its folder"
    assert allowance.room("198.51.100.9") == 250 * KB, "another address keeps its own allowance"


async def test_a_file_sent_without_a_length_is_cut_off_at_the_allowance(server, tmp_path, allowance, sender,
                                                                         monkeypatch):
    monkeypatch.setitem(url_files._limit, "bytes", 5000 * KB)  # under the size limit: the allowance stops it
    with pytest.raises(URLFileOverAllowance, match="Upload limit reached"):
        await capped_download(f"{server}/unsized.png", str(tmp_path))
    assert 0 <= allowance.room(sender) < 100 * KB, "what came is charged, never more than the allowance"
    assert not cache_entries(tmp_path), "no partial file, no folder"


async def test_each_file_costs_at_least_the_minimum_and_none_is_fetched_past_the_allowance(server, tmp_path,
                                                                                            allowance, sender):
    """A probe named 3,000 empty files in one event, all fetched and kept while its allowance was spent."""
    fits = (250 * KB) // FILE_MIN_BYTES
    for n in range(fits):
        await capped_download(f"{server}/tiny.png?{n}", str(tmp_path))
    with pytest.raises(URLFileOverAllowance):
        await capped_download(f"{server}/tiny.png?{fits}", str(tmp_path))
    assert len(GETS) == fits, "refused before connecting"
    with pytest.raises(URLFileOverAllowance):
        await capped_download(f"{server}/missing.png", str(tmp_path))  # a 404 is no cheaper
    assert len(GETS) == fits


async def test_a_declared_length_is_charged_before_the_body_is_read(server, tmp_path, allowance, sender):
    await capped_download(f"{server}/small.png", str(tmp_path))  # 150 KB left
    # declares 200 KB and then stalls: refused on its headers, not after waiting for its bytes
    with pytest.raises(URLFileOverAllowance):
        await asyncio.wait_for(capped_download(f"{server}/stall.png", str(tmp_path)), 2)


async def test_a_body_shorter_than_declared_is_charged_what_came_and_named(server, tmp_path, allowance, sender):
    with pytest.raises(URLFileError, match=r"The file at .*/short.png could not be downloaded"):
        await capped_download(f"{server}/short.png", str(tmp_path))
    assert allowance.room(sender) == 150 * KB  # 100 KB came of the 200 KB declared (and reserved)
    assert not cache_entries(tmp_path)


async def test_a_file_fetched_outside_an_events_inputs_is_nobodys(server, tmp_path, allowance):
    """A handler's output given by URL (a provider's image copied for the page) is the app's own fetch: a paid run
    must not fail for its caller's spent allowance."""
    allowance.reserve("198.51.100.1", 10_000 * KB)  # everyone's hour spent
    assert allowance.room("") == allowance.room("unknown") == 0
    assert Path(await capped_download(f"{server}/small.png", str(tmp_path))).stat().st_size == 100 * KB


async def test_the_same_url_fetched_twice_at_once_is_never_taken_half_done(server, tmp_path):
    async def second() -> int:
        await asyncio.sleep(0.15)  # the first is part-way through
        path = await capped_download(f"{server}/slow.png", str(tmp_path))
        return Path(path).stat().st_size  # as it was handed over

    first, second_size = await asyncio.gather(capped_download(f"{server}/slow.png", str(tmp_path)), second())
    assert second_size == 300 * KB and Path(first).stat().st_size == 300 * KB
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["slow.png"], "no part file left"
