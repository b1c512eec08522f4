"""A result cache, so a seeded request is never paid for twice.

A seeded request to the same endpoint on the same provider gives the same image, so its result is kept: the key is
the provider, the endpoint and the canonical request body (keys sorted, the seed included). Uploaded inputs count
by their content (``sha256:…``), not by the temporary path or URL they had; only files in the upload folder are
read, never another path a field names. A request without a seed is never cached: the person expects a new image.

Scope: runs paid by the server's keys share one cache across visitors; a run on a visitor's own key is keyed with a
hash of that key too, so it is served to no one else. The index row holds a digest, the endpoint, the provider, the
first run's request id and time, and the result JSON (which never holds a key or a visitor): nothing identifies a
visitor. The images are kept with the entry in the cache's own folder, since provider URLs expire; an entry whose
images are gone is dropped, never served.

Bounds: ``PLAYGROUND_CACHE_DAYS`` (7) and ``PLAYGROUND_CACHE_MB`` (1024); the least recently used go first.
``PLAYGROUND_CACHE=0`` turns it off. No Gradio here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from endpoints.base import EndpointSpec
from providers.local_files import upload_file
from providers.media import CONTENT_TYPES, extension_for, private_directory
from runs.storage import CacheRow, SharedStore

log = logging.getLogger(__name__)

CACHE_ENV = "PLAYGROUND_CACHE"
CACHE_DAYS_ENV = "PLAYGROUND_CACHE_DAYS"
CACHE_MB_ENV = "PLAYGROUND_CACHE_MB"
#: The cache's image folder under ``PLAYGROUND_DATA_DIR`` (replicas share it on one volume).
CACHE_FOLDER = "result-cache"
_MB = 1024 * 1024


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool = True
    days: float = 7.0
    max_bytes: int = 1024 * _MB

@dataclass(frozen=True)
class CachedImage:
    path: Path
    content_type: str


@dataclass(frozen=True)
class CacheHit:
    """A stored result: the result JSON as first returned (its images to be re-served), and where it came from."""

    key: str
    result: dict[str, Any]
    images: tuple[CachedImage, ...]
    request_id: str | None
    first_run_at: float

    def first_run_text(self) -> str:
        return dt.datetime.fromtimestamp(self.first_run_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _canonical(value: Any, file_digest: Callable[[str], str | None]) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, file_digest) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v, file_digest) for v in value]
    if isinstance(value, str) and (digest := file_digest(value)) is not None:
        return f"sha256:{digest}"
    return value


def file_sha256(path: str, roots: Sequence[Path]) -> str | None:
    """The content digest of a visitor's upload: a regular file under ``roots`` (the app's upload folder), else
    None. Nothing else is opened: any text field's value comes here, and a prompt of ``/dev/zero`` had a worker
    thread read forever, while any other path answered whether a guessed content was the file's."""
    if not _may_be_upload(path, roots) or (upload := upload_file(path, roots)) is None:
        return None
    try:
        with open(upload, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None


INLINE_KEY_CHARS = 64 * 1024  # larger requests (data: URIs of images) are hashed in a worker thread


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def _may_be_upload(value: str, roots: Sequence[Path]) -> bool:
    """Whether ``file_sha256`` may read ``value``, by its text alone (no file system call: this decides whether a
    key is computed in place): an absolute path starting with one of ``roots`` (as given and resolved)."""
    return os.path.isabs(value) and any(value.startswith(f"{root}{os.sep}") for root in roots)


def scope_of(own_key: str | None) -> str:
    """``server`` for runs on the server's keys (one cache for everyone); a digest of the visitor's own key else."""
    if own_key is None:
        return "server"
    return "own:" + hashlib.sha256(("flux-playground-cache\0" + own_key).encode()).hexdigest()


def cache_key(
    endpoint: EndpointSpec,
    provider: str,
    wire: Mapping[str, Any],
    *,
    scope: str,
    file_digest: Callable[[str], str | None] = lambda value: None,
) -> str | None:
    """The entry's key, or None when the request has no explicit seed (never cached). ``file_digest`` gives an
    upload's content digest for a string (None: the string counts as text); the default reads no file and hashes
    every string as text. ``ResultCache.key_for`` passes one reading uploads, off the event loop."""
    seed_field = endpoint.field_for("seed")
    if seed_field is None or wire.get(seed_field) is None:
        return None
    body = json.dumps(_canonical(wire, file_digest), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    text = f"{scope}\x00{provider}\x00{endpoint.id}\x00{body}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ResultCache:
    """The index in a ``SharedStore``, the images in a private folder (shared by replicas on one volume)."""

    def __init__(
        self,
        store: SharedStore,
        folder: Path,
        settings: CacheSettings | None = None,
        *,
        upload_roots: Sequence[Path] = (),
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``upload_roots``: where visitors' uploads are kept, the only files a key reads (by their content)."""
        self.store = store
        self.folder = private_directory(folder)
        self.settings = settings or CacheSettings()
        self.upload_roots = tuple(dict.fromkeys([*upload_roots, *(root.resolve() for root in upload_roots)]))
        self._clock = clock
        self._puts_since_prune = 0

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def key_for(
        self, endpoint: EndpointSpec, provider: str, wire: Mapping[str, Any], *, own_key: str | None
    ) -> str | None:
        if not self.enabled:
            return None
        scope = scope_of(own_key)
        strings = list(_strings(wire))
        roots = self.upload_roots
        if sum(map(len, strings)) <= INLINE_KEY_CHARS and not any(_may_be_upload(s, roots) for s in strings):
            return cache_key(endpoint, provider, wire, scope=scope)  # in place: no file to read, little to hash
        return await asyncio.to_thread(cache_key, endpoint, provider, wire, scope=scope,
                                       file_digest=functools.partial(file_sha256, roots=roots))

    async def get(self, key: str) -> CacheHit | None:
        """The entry under ``key`` with its images on disk, or None. An expired or broken entry is dropped."""
        row = await self.store.cache_get(key, now=self._clock())
        if row is None:
            return None
        if self._clock() - row.created_at > self.settings.days * 86400:
            await self._drop(await self.store.cache_delete(key))
            return None
        try:
            result = json.loads(row.result_json)
        except ValueError:
            result = None
        paths = [self.folder / name for name in row.images]
        if not isinstance(result, dict) or not all(p.is_file() for p in paths):
            log.warning("result cache entry %s… is incomplete; dropped", key[:12])
            await self._drop(await self.store.cache_delete(key))
            return None
        images = tuple(CachedImage(p, CONTENT_TYPES.get(p.suffix, "application/octet-stream")) for p in paths)
        return CacheHit(key, result, images, row.request_id, row.created_at)

    async def contains(self, key: str) -> bool:
        """Whether ``get(key)`` would serve an entry now (a sweep plan counts its cached cells with this)."""
        row = await self.store.cache_get(key, now=self._clock())
        if row is None or self._clock() - row.created_at > self.settings.days * 86400:
            return False
        return await asyncio.to_thread(lambda: all((self.folder / name).is_file() for name in row.images))

    async def put(
        self,
        key: str,
        *,
        endpoint_id: str,
        provider: str,
        request_id: str | None,
        result: Mapping[str, Any],
        images: Sequence[tuple[bytes, str]],
    ) -> None:
        """Keep a result and its images (bytes, content type) under ``key``, replacing what was there."""
        if not self.enabled:
            return
        names = await asyncio.to_thread(self._write_images, key, images)
        now = self._clock()
        row = CacheRow(
            key=key,
            endpoint_id=endpoint_id,
            provider=provider,
            request_id=request_id,
            result_json=json.dumps(result, ensure_ascii=False),
            images=tuple(names),
            bytes=sum(len(data) for data, _ in images),
            created_at=now,
            used_at=now,
        )
        for old in await self.store.cache_put(row):
            await self._drop(old, keep=set(names))
        self._puts_since_prune += 1
        if self._puts_since_prune >= 20:
            self._puts_since_prune = 0
            await self.prune()

    async def prune(self) -> int:
        """Drop entries past the age bound and, least recently used first, past the size bound."""
        now = self._clock()
        gone = await self.store.cache_evict(
            created_before=now - self.settings.days * 86400, max_bytes=self.settings.max_bytes
        )
        for row in gone:
            await self._drop(row)
        return len(gone)

    def _write_images(self, key: str, images: Sequence[tuple[bytes, str]]) -> list[str]:
        names = []
        for index, (data, content_type) in enumerate(images):
            digest = hashlib.sha256(data).hexdigest()[:16]
            name = f"{key[:32]}-{digest}-{index}{extension_for(content_type)}"
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")  # created 0600
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, self.folder / name)
            names.append(name)
        return names

    async def _drop(self, row: CacheRow | None, keep: Collection[str] = ()) -> None:
        if row is None:
            return

        def unlink() -> None:
            for name in row.images:
                if name not in keep and "/" not in name:
                    (self.folder / name).unlink(missing_ok=True)

        await asyncio.to_thread(unlink)


__all__ = [
    "CACHE_DAYS_ENV",
    "CACHE_ENV",
    "CACHE_FOLDER",
    "CACHE_MB_ENV",
    "CacheHit",
    "CacheSettings",
    "CachedImage",
    "ResultCache",
    "cache_key",
    "scope_of",
]
