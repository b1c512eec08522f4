"""Files given by URL in an event's inputs are held to the upload limit.

An API caller may send a file input as ``{"path": "https://…"}`` (``gradio_client.handle_file(url)``, which the
app's API docs name for image fields): Gradio 6.31 downloads it into its cache before any handler runs
(``processing_utils.async_ssrf_protected_download``), reading the whole response into memory first, whatever its
size; a multi-gigabyte file was one request away from exhausting the Space's memory, then its disk. ``cap_url_files``
puts in its place the same download — the same SSRF checks (``safehttpx``: a public address pinned for the
connection, Gradio's own allow-list of Hugging Face hosts, each redirect checked again) and the same cache path —
streamed to disk and stopped at ``PLAYGROUND_MAX_UPLOAD_MB``, as an upload is. Installed only on the tested Gradio
(``gradio_fixes.fixes_active``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from urllib.parse import urljoin, urlparse

import anyio
import httpx
import safehttpx
from gradio import processing_utils
from gradio_client import utils as client_utils

from components.gradio_fixes import fixes_active


class URLFileError(ValueError):
    """A file given by URL that was not taken (what Gradio raised as a bare Exception, and one too large)."""


class URLFileTooLarge(URLFileError):
    pass


_limit: dict[str, int] = {}


def cap_url_files(max_bytes: int) -> None:
    """Downloads of input files given by URL stop at ``max_bytes`` (the app calls it as it builds the page)."""
    if not fixes_active():
        return
    _limit["bytes"] = max_bytes
    processing_utils.async_ssrf_protected_download = capped_download


async def capped_download(url: str, cache_dir: str) -> str:
    """Gradio's ``async_ssrf_protected_download``, streamed and held to the limit (module doc)."""
    limit = _limit.get("bytes", 25 * 1024 * 1024)
    folder = Path(cache_dir) / processing_utils.hash_url(url)
    folder.mkdir(exist_ok=True, parents=True)
    name = client_utils.strip_invalid_filename_characters(Path(urlparse(url).path.rstrip("/")).name) or "file"
    target = os.path.abspath(folder / name)
    if Path(target).exists():
        return target
    for _ in range(processing_utils.MAX_REDIRECTS + 1):
        host = httpx.URL(url).host
        if not host:
            raise ValueError(f"URL {url} does not have a valid hostname")
        transport = (None if safehttpx.matches_domain_whitelist(host, processing_utils.PUBLIC_HOSTNAME_WHITELIST)
                     else safehttpx.AsyncSecureTransport(await safehttpx.async_validate_url(host)))
        async with (httpx.AsyncClient(transport=transport) as client,
                    client.stream("GET", url, follow_redirects=False) as response):
            if response.has_redirect_location:
                url = urljoin(str(response.url), response.headers["Location"])
                continue
            if response.status_code != 200:
                raise URLFileError(f"Failed to download file. Status code: {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise URLFileTooLarge(_too_large(url, limit))
            written = 0
            try:
                async with await anyio.open_file(target, "wb") as out:  # off the event loop
                    async for chunk in response.aiter_bytes():
                        written += len(chunk)
                        if written > limit:
                            raise URLFileTooLarge(_too_large(url, limit))
                        await out.write(chunk)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.remove(target)  # no partial file left in the cache (a later call would take it as done)
                raise
            return target
    raise URLFileError(f"Exceeded maximum of {processing_utils.MAX_REDIRECTS} redirects.")


def _too_large(url: str, limit: int) -> str:
    return f"The file at {url} is larger than {limit / (1024 * 1024):g} MB, the largest file this app takes."
