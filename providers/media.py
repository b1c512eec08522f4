"""Result images on local disk, in one private folder, bounded by size and age.

Result images are saved server-side where the visitor's browser could not fetch them itself (a sandbox on
loopback, or a provider that answers with bytes) and, off the critical path, for live providers whose CDN URLs
expire. The folder is created by the app with mode 0700 (files 0600) and served only by name through the app's
``/media/{name}`` route, so nothing else on the machine can be reached through it. File I/O runs in a thread.

The newest files written are also kept in memory (``recent``, bounded by ``RECENT_BYTES``): the page asks for a
run's image right after the run, and answering from memory spares that request the file's thread round trips on an
event loop busy with every other visitor's updates.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import mimetypes
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import httpx

from providers.errors import ProviderFailure, from_transport_error
from providers.retry import RetryPolicy, send_idempotent

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}
CONTENT_TYPES = {ext: ctype for ctype, ext in EXTENSIONS.items()}
MAX_IMAGE_BYTES = 64 * 1024 * 1024
RECENT_BYTES = 32 * 1024 * 1024  # the newest files kept in memory too, at most this many bytes in all
RECENT_FILE_BYTES = 4 * 1024 * 1024  # a larger file is served from disk only
ENTRY_BYTES = 256  # what an entry costs besides its bytes (so empty files cannot pile up)
# A content-addressed file (a grid, a copy fetched for a download) or a run's image under the run's own folder:
# ``<run id>/<api_name>-<seed>-<n>.<ext>`` (the folder keeps equal names of different runs apart, and the file
# name is what a browser's download, the /media/ URL and gradio_client's file all carry).
NAME = re.compile(r"^([0-9a-f]{32}\.(jpg|png|webp|gif)|[0-9a-f]{32}/[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}\.(jpg|png|webp|gif))$")


def extension_for(content_type: str) -> str:
    base = content_type.split(";")[0].strip().lower()
    return EXTENSIONS.get(base) or mimetypes.guess_extension(base) or ".bin"


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    """``data:image/png;base64,...`` -> (bytes, content type)."""
    header, _, data = uri.partition(",")
    if not header.startswith("data:") or ";base64" not in header:
        raise ValueError("not a base64 data URI")
    try:
        return base64.b64decode(data, validate=True), header[5:].split(";")[0] or "application/octet-stream"
    except binascii.Error as exc:
        raise ValueError(f"bad base64 in data URI: {exc}") from None


def private_directory(root: Path | None) -> Path:
    """``root`` (created 0700, refused if it is a symlink or not ours) or a fresh ``mkdtemp`` folder."""
    if root is None:
        return Path(tempfile.mkdtemp(prefix="flux-playground-media-"))
    root = Path(root)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(root)
    if os.path.islink(root) or not os.path.isdir(root) or info.st_uid != os.getuid():
        raise PermissionError(f"{root} is not a directory owned by this user; refusing to store media there")
    os.chmod(root, 0o700)
    return root


@dataclass(frozen=True)
class StoredImage:
    name: str  # the name under the store (``<sha256[:32]>.<ext>`` or ``<run id>/<file>``), the only handle given out
    content_type: str
    size: int


async def capped_get(client: httpx.AsyncClient, url: str, *, follow_redirects: bool = True) -> httpx.Response:
    """GET ``url``, read at most ``MAX_IMAGE_BYTES`` of its body (a larger one is refused as it arrives, not once it
    is all in memory: the history's Download fetches URLs the browser's stored entries name). The response keeps
    the status, the body (decoded), its content type and fal's retry hint."""
    async with client.stream("GET", url, follow_redirects=follow_redirects) as streamed:
        declared = streamed.headers.get("content-length", "")
        if streamed.status_code == 200 and declared.isdigit() and int(declared) > MAX_IMAGE_BYTES:
            raise ProviderFailure("The result image is larger than this app accepts.")
        body = bytearray()
        if streamed.status_code == 200:  # the body of an answer that is not the image is not read
            async for chunk in streamed.aiter_bytes():
                body += chunk
                if len(body) > MAX_IMAGE_BYTES:
                    raise ProviderFailure("The result image is larger than this app accepts.")
    kept = {name: streamed.headers[name] for name in ("content-type", "retry-after", "x-fal-retryable")
            if name in streamed.headers}
    return httpx.Response(streamed.status_code, headers=kept, content=bytes(body), request=streamed.request)


class MediaStore:
    """Content-addressed files in a private folder; oldest files go when it outgrows ``max_bytes`` or ``max_age``."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        max_bytes: int = 512 * 1024 * 1024,
        max_age: float = 24 * 3600.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.owns_root = root is None  # a folder made here is removed by ``close()``
        self.root = private_directory(root)
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.retry = retry or RetryPolicy(attempts=4, timeout=30.0)
        self._writes_since_prune = 0
        self._recent: OrderedDict[str, bytes] = OrderedDict()  # name -> the file's bytes, newest last
        self._recent_bytes = 0
        self._recent_lock = threading.Lock()  # files are written in worker threads

    def recent(self, name: str) -> bytes | None:
        """The bytes of ``name`` if it is one of the newest files written, else None. Memory only: serve them only
        while ``path_of(name)`` finds the file (a file removed by other means than ``prune`` is not forgotten)."""
        with self._recent_lock:
            return self._recent.get(name)

    def _remember(self, name: str, data: bytes) -> None:
        with self._recent_lock:
            self._drop(name)
            if len(data) > RECENT_FILE_BYTES:
                return
            self._recent[name] = data
            self._recent_bytes += len(data) + ENTRY_BYTES
            while self._recent_bytes > RECENT_BYTES:
                _, dropped = self._recent.popitem(last=False)
                self._recent_bytes -= len(dropped) + ENTRY_BYTES

    def _forget(self, name: str) -> None:
        with self._recent_lock:
            self._drop(name)

    def _drop(self, name: str) -> None:  # under the lock
        old = self._recent.pop(name, None)
        self._recent_bytes -= len(old) + ENTRY_BYTES if old is not None else 0

    def close(self) -> None:
        """Remove the folder if this store made it (at shutdown); a configured folder is left as it is."""
        with self._recent_lock:
            self._recent.clear()
            self._recent_bytes = 0
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def path_of(self, name: str) -> Path | None:
        """The file for a stored name, or None (names are checked, so no other path can be asked for)."""
        if not NAME.match(name):
            return None
        path = self.root / name
        return path if path.is_file() else None

    def _write(self, data: bytes, content_type: str, name: str | None = None) -> StoredImage:
        name = name or hashlib.sha256(data).hexdigest()[:32] + extension_for(content_type)
        if not NAME.match(name):
            raise ValueError(f"not a media name: {name!r}")
        path = self.root / name
        if path.exists() and name.count("/") == 0:
            os.utime(path)  # recently used: pruned last
        else:
            path.parent.mkdir(mode=0o700, exist_ok=True)
            self._forget(name)  # never the old bytes from memory while the new file is being written
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")  # created 0600
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
            self._remember(name, data)
        self._writes_since_prune += 1
        if self._writes_since_prune >= 20:
            self._writes_since_prune = 0
            self.prune()
        return StoredImage(name, content_type.split(";")[0].strip(), len(data))

    def prune(self, now: float | None = None) -> int:
        """Delete files past ``max_age`` and, oldest first, beyond ``max_bytes``; returns how many went."""
        now = time.time() if now is None else now
        entries = []
        for path in self._files():
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            entries.append((info.st_mtime, info.st_size, path))
        entries.sort()
        total = sum(size for _, size, _ in entries)
        removed = 0
        for mtime, size, path in entries:
            if now - mtime <= self.max_age and total <= self.max_bytes:
                continue
            path.unlink(missing_ok=True)
            self._forget(path.relative_to(self.root).as_posix())
            if path.parent != self.root:
                with contextlib.suppress(OSError):  # a run's folder goes with its last file
                    path.parent.rmdir()
            total -= size
            removed += 1
        return removed

    def _files(self) -> list[Path]:
        """Every stored file: at the top, and one level down in the runs' folders."""
        files: list[Path] = []
        for path in self.root.iterdir():
            if path.is_dir() and not path.is_symlink():
                files.extend(p for p in path.iterdir() if p.is_file())
            elif path.is_file():
                files.append(path)
        return files

    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self._files())

    async def save(self, data: bytes, content_type: str, name: str | None = None) -> StoredImage:
        """Store ``data`` under ``name`` (``<run id>/<file>``), or under its content hash when no name is given."""
        return await asyncio.to_thread(self.write, data, content_type, name)

    def write(self, data: bytes, content_type: str, name: str | None = None) -> StoredImage:
        """``save`` without the worker thread (blocking: for code already in one)."""
        if len(data) > MAX_IMAGE_BYTES:
            raise ProviderFailure("The result image is larger than this app accepts.")
        return self._write(data, content_type, name)

    async def fetch(self, client: httpx.AsyncClient, url: str, *, provider: str,
                    follow_redirects: bool = True) -> StoredImage:
        """Bring a result image here: decode a data URI, or GET an http(s) URL (retried; no credentials sent).
        ``follow_redirects=False`` for a URL a visitor's browser named: a redirect could lead anywhere."""
        data, content_type = await self.download(client, url, provider=provider, follow_redirects=follow_redirects)
        return await self.save(data, content_type)

    async def download(self, client: httpx.AsyncClient, url: str, *, provider: str,
                       follow_redirects: bool = True) -> tuple[bytes, str]:
        """A result image's bytes and content type: a data URI decoded, or an http(s) URL fetched (retried)."""
        if url.startswith("data:"):
            try:
                return decode_data_uri(url)
            except ValueError as exc:
                raise ProviderFailure(f"The provider returned an unreadable inline image: {exc}") from None
        if not url.startswith(("http://", "https://")):
            raise ProviderFailure(f"The provider returned an image location that cannot be read: {url[:80]}")
        try:
            response = await send_idempotent(lambda: capped_get(client, url, follow_redirects=follow_redirects),
                                             self.retry)
        except httpx.HTTPError as exc:
            raise from_transport_error(exc, provider=provider, during="the result image") from None
        if response.status_code != 200:
            raise ProviderFailure(
                f"Downloading the result image failed (HTTP {response.status_code}); it may have expired."
            )
        return response.content, response.headers.get("content-type", "image/jpeg")
