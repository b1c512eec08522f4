"""fal storage in memory: the file store (uploaded and generated files), the CDN token and the single-use
upload URLs of the older flow. Their routes are in ``sandbox.storage_routes``.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

CDN_PREFIX = "/fal/cdn"
FILES_PREFIX = f"{CDN_PREFIX}/files/"
TOKEN_LIFETIME = timedelta(hours=1)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str


class FileStore:
    """Files by name, in memory, bounded by total bytes: the least recently used go first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.total_bytes = 0
        self._files: OrderedDict[str, StoredFile] = OrderedDict()

    def put(self, name: str, data: bytes, content_type: str) -> None:
        if len(data) > self.max_bytes:
            raise ValueError(f"file of {len(data)} bytes exceeds the sandbox store ({self.max_bytes} bytes)")
        if old := self._files.pop(name, None):
            self.total_bytes -= len(old.data)
        self._files[name] = StoredFile(data, content_type)
        self.total_bytes += len(data)
        while self.total_bytes > self.max_bytes:
            _, evicted = self._files.popitem(last=False)
            self.total_bytes -= len(evicted.data)

    def get(self, name: str) -> StoredFile | None:
        found = self._files.get(name)
        if found is not None:
            self._files.move_to_end(name)
        return found

    def clear(self) -> None:
        self._files.clear()
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self._files)


def new_file_name(file_name: str | None, content_type: str) -> str:
    """A unique, URL-safe name that keeps the client's file name (or an extension for the content type)."""
    safe = _UNSAFE.sub("_", (file_name or "").rsplit("/", 1)[-1]).strip("._")[:100]
    if not safe:
        safe = "upload" + (mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin")
    return f"{uuid.uuid4().hex[:16]}_{safe}"


def file_url(base: str, name: str) -> str:
    return f"{base}{FILES_PREFIX}{name}"


def file_name_from_url(url: str, base: str) -> str | None:
    """The store name when ``url`` is one of this sandbox's file URLs, else None."""
    prefix = f"{base}{FILES_PREFIX}"
    return url[len(prefix) :].split("?", 1)[0] if url.startswith(prefix) else None


class Storage:
    """The store plus the credentials of both upload flows."""

    def __init__(self, max_bytes: int) -> None:
        self.files = FileStore(max_bytes)
        self._tokens: dict[str, datetime] = {}
        self._pending: dict[str, tuple[str, str]] = {}  # name -> (signature, content_type)

    def clear(self) -> None:
        self.files.clear()
        self._tokens.clear()
        self._pending.clear()

    def issue_token(self) -> tuple[str, datetime]:
        token = "sbx-cdn-" + secrets.token_urlsafe(24)
        expires = datetime.now(UTC) + TOKEN_LIFETIME
        self._tokens[token] = expires
        return token, expires

    def token_valid(self, token: str) -> bool:
        expires = self._tokens.get(token)
        return expires is not None and expires > datetime.now(UTC)

    def initiate(self, file_name: str | None, content_type: str) -> tuple[str, str]:
        """(name, signature) for a PUT to the upload URL."""
        name = new_file_name(file_name, content_type)
        signature = secrets.token_urlsafe(16)
        self._pending[name] = (signature, content_type)
        return name, signature

    def take_pending(self, name: str, signature: str) -> str | None:
        """The content type declared at initiate time, once, when the signature matches."""
        pending = self._pending.get(name)
        if pending is None or not secrets.compare_digest(pending[0], signature):
            return None
        del self._pending[name]
        return pending[1]
