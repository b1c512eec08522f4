"""Files given by URL in an event's inputs are held to the upload limit.

An API caller may send a file input as ``{"path": "https://…"}`` (``gradio_client.handle_file(url)``, which the
app's API docs name for image fields): Gradio 6.31 downloads it into its cache before any handler runs
(``processing_utils.async_ssrf_protected_download``), reading the whole response into memory first, whatever its
size; a multi-gigabyte file was one request away from exhausting the Space's memory, then its disk. ``cap_url_files``
puts in its place the same download — the same SSRF checks (``safehttpx``: a public address pinned for the
connection, Gradio's own allow-list of Hugging Face hosts, each redirect checked again) and the same cache path —
streamed to disk and stopped at ``PLAYGROUND_MAX_UPLOAD_MB``, as an upload is. Installed only on the tested Gradio
(``gradio_fixes.fixes_active``).

What an event's inputs name by URL is charged to the hour's upload allowance of whoever sent the event, as an
upload would be (``upload_quota.UploadLedger``, the app's one ledger): otherwise a visitor could have the Space
fetch 25 MB files, URL after URL, into the cache its uploads are counted for. The queue runs an event with its
sender as the caller (``gradio_fixes``; ``session_owners.CALLER``), and the inputs' preprocessing names who pays
(``upload_quota.INPUT_FILES_PAID_BY``). Each file costs at least ``FILE_MIN_BYTES``, charged before connecting; a
download past the allowance is refused with the upload's message and its bytes stop there. Nothing of a failed
download stays in the cache, not even its folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import urljoin, urlparse

import anyio
import gradio as gr
import httpx
import safehttpx
from gradio import processing_utils
from gradio_client import utils as client_utils

from components.gradio_fixes import fixes_active
from components.upload_quota import INPUT_FILES_PAID_BY, Charge, UploadLedger


class URLFileError(gr.Error, ValueError):
    """A file given by URL that was not taken (what Gradio raised as a bare Exception, one too large, one past the
    sender's allowance): a ``gr.Error``, so the caller is told why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, print_exception=False)


class URLFileTooLarge(URLFileError):
    pass


class URLFileOverAllowance(URLFileError):
    pass


#: The least a file given by URL is charged, even when it is empty or never arrives (a 404, a refusal): each costs a
#: request and a cache entry, and otherwise an event naming thousands of tiny files was charged next to nothing
#: (3,000 URLs in one event, a probe).
FILE_MIN_BYTES = 64 * 1024


_limit: dict[str, int] = {}
_allowance: dict[str, UploadLedger] = {}


def cap_url_files(max_bytes: int, ledger: UploadLedger | None = None) -> None:
    """Downloads of input files given by URL stop at ``max_bytes`` and are charged to ``ledger`` (the app's upload
    allowance; the app calls it as it builds the page)."""
    if not fixes_active():
        return
    _limit["bytes"] = max_bytes
    if ledger is not None:
        _allowance["ledger"] = ledger
    processing_utils.async_ssrf_protected_download = capped_download


def _charge_up_to(charge: Charge, size: int) -> None:
    """``charge.up_to``, refused with the upload's message past the sender's allowance."""
    if not charge.up_to(size):
        raise URLFileOverAllowance(charge.refused(size)[0])


async def capped_download(url: str, cache_dir: str) -> str:
    """Gradio's ``async_ssrf_protected_download``, streamed, held to the limit and charged (module doc). The file
    is written under a temporary name and renamed when complete, so a download of the same URL at the same time
    never takes a partial file for a finished one."""
    limit = _limit.get("bytes", 25 * 1024 * 1024)
    folder = Path(cache_dir) / processing_utils.hash_url(url)
    name = client_utils.strip_invalid_filename_characters(Path(urlparse(url).path.rstrip("/")).name) or "file"
    target = os.path.abspath(folder / name)
    if Path(target).exists():
        return target  # fetched before: nothing to charge
    payer = INPUT_FILES_PAID_BY.get()  # nobody outside an event's inputs
    charge = Charge(_allowance.get("ledger") if payer is not None else None, payer or "", FILE_MIN_BYTES)
    _charge_up_to(charge, 0)  # the minimum, before connecting: with no room left, no request is made
    try:
        return await _fetch(url, folder, target, limit, charge)
    except httpx.HTTPError as exc:
        raise URLFileError(f"The file at {url} could not be downloaded ({type(exc).__name__}).") from exc
    finally:
        charge.settle()


async def _fetch(url: str, folder: Path, target: str, limit: int, charge: Charge) -> str:
    for _hop in range(processing_utils.MAX_REDIRECTS + 1):
        host = httpx.URL(url).host
        if not host:
            raise URLFileError(f"URL {url} does not have a valid hostname")
        try:
            transport = (None if safehttpx.matches_domain_whitelist(host, processing_utils.PUBLIC_HOSTNAME_WHITELIST)
                         else safehttpx.AsyncSecureTransport(await safehttpx.async_validate_url(host)))
        except ValueError as exc:  # not a public address (safehttpx's message names the host)
            raise URLFileError(f"The file at {url} could not be downloaded: {exc}") from None
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
            _charge_up_to(charge, int(declared) if declared.isdigit() else 0)  # before a byte is read
            folder.mkdir(exist_ok=True, parents=True)
            part = f"{target}.{secrets.token_hex(6)}.part"
            try:
                async with await anyio.open_file(part, "wb") as out:  # off the event loop
                    async for chunk in response.aiter_bytes():
                        charge.received += len(chunk)
                        if charge.received > limit:
                            raise URLFileTooLarge(_too_large(url, limit))
                        _charge_up_to(charge, charge.received)
                        await out.write(chunk)
                os.replace(part, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.remove(part)  # no partial file left in the cache
                with contextlib.suppress(OSError):
                    folder.rmdir()  # nor an empty folder (Gradio's sweep removes files only)
                raise
            return target
    raise URLFileError(f"Exceeded maximum of {processing_utils.MAX_REDIRECTS} redirects.")


def _too_large(url: str, limit: int) -> str:
    return f"The file at {url} is larger than {limit / (1024 * 1024):g} MB, the largest file this app takes."
