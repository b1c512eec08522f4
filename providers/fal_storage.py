"""fal storage: upload a local file once per content and reuse its URL.

Flow ("fal_v3"): ``POST {rest}/storage/auth/token?storage_type=fal-cdn-v3`` → ``{token, token_type, base_url,
expires_at}``; then ``POST {base_url}/files/upload`` with the raw bytes → ``{"access_url": ...}``.

The cache is keyed by the SHA-256 of the bytes: a sweep of many runs over one input image uploads it once, and
concurrent runs that need the same new file wait for one upload instead of starting their own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import httpx

from providers.base import Credentials
from providers.data_uris import image_content_type
from providers.errors import ProviderFailure, from_response
from providers.retry import RetryPolicy, send_idempotent

MAX_UPLOAD_BYTES = 100 * 1024 * 1024


@dataclass
class _Token:
    value: str
    token_type: str
    base_url: str
    expires: float  # time.monotonic() deadline


def _expiry(expires_at: object) -> float:
    """Seconds from now until ``expires_at`` (ISO-8601), less a safety margin; 5 minutes when unknown."""
    try:
        when = dt.datetime.fromisoformat(str(expires_at))  # 3.11 reads a trailing "Z"
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        remaining = (when - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        remaining = 300.0
    return time.monotonic() + max(0.0, remaining - 30.0)


def _read_image(path: Path, field: str) -> tuple[bytes, str, str]:
    """Blocking (one worker thread): the file's bytes, their digest and their image content type."""
    data = path.read_bytes()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ProviderFailure(f"{path.name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
    return data, hashlib.sha256(data).hexdigest(), image_content_type(data, field)


def _cache_key(digest: str, content_type: str, credentials: Credentials) -> str:
    """Uploads are cached per key, content and declared type (the same bytes as another type get their own URL;
    a file one visitor's key uploaded is not handed to another key, nor its URL, which says it was uploaded)."""
    return f"{_fingerprint(credentials)[:32]} {digest} {content_type}"


def _fingerprint(credentials: Credentials) -> str:
    return hashlib.sha256(credentials.key.encode()).hexdigest()


class FalStorage:
    def __init__(
        self,
        client: httpx.AsyncClient,
        rest_url: str,
        *,
        retry: RetryPolicy | None = None,
        url_ttl: float = 3600.0,
        max_entries: int = 512,
    ) -> None:
        self._client = client
        self._rest_url = rest_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._url_ttl = url_ttl
        self._max_entries = max_entries
        self._urls: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[str]] = {}
        self._tokens: dict[str, _Token] = {}
        # (path, size, mtime) -> (content digest, type): a file uploaded before is not read or hashed again.
        self._digests: OrderedDict[tuple[str, int, int], tuple[str, str]] = OrderedDict()
        self.uploads = 0  # files actually sent (cache misses), for tests and benchmarks
        self.file_reads = 0  # local files read and hashed, for tests and benchmarks

    def _cached_by_stat(self, key: tuple[str, int, int], credentials: Credentials) -> str | None:
        known = self._digests.get(key)
        cached = self._urls.get(_cache_key(*known, credentials)) if known else None
        if cached and cached[1] > time.monotonic():
            return cached[0]
        return None

    async def upload_file(self, path: Path, credentials: Credentials, field: str) -> str:
        """The storage URL of ``path``'s content, uploading it only if this content is not cached. The file is
        ``field``'s image: a PNG, JPEG or WebP image (``ValidationFailed`` naming the field), sent with the type its
        bytes show."""
        stat = await asyncio.to_thread(os.stat, path)
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if (url := self._cached_by_stat(key, credentials)) is not None:
            return url
        if stat.st_size > MAX_UPLOAD_BYTES:
            raise ProviderFailure(f"{Path(path).name} is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
        data, digest, content_type = await asyncio.to_thread(_read_image, Path(path), field)
        self.file_reads += 1
        self._digests[key] = (digest, content_type)
        while len(self._digests) > self._max_entries:
            self._digests.popitem(last=False)
        return await self.upload_bytes(data, content_type, Path(path).name, credentials, digest)

    async def upload_bytes(
        self, data: bytes, content_type: str, file_name: str, credentials: Credentials, digest: str | None = None
    ) -> str:
        digest = _cache_key(digest or hashlib.sha256(data).hexdigest(), content_type, credentials)
        cached = self._urls.get(digest)
        if cached and cached[1] > time.monotonic():
            self._urls.move_to_end(digest)
            return cached[0]
        if digest in self._inflight:
            try:
                return await asyncio.shield(self._inflight[digest])
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                # The run doing the upload was stopped; this one uploads the file itself.
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight[digest] = future
        try:
            url = await self._upload(data, content_type, file_name, credentials)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters get it, nobody else must
            raise
        finally:
            self._inflight.pop(digest, None)
        future.set_result(url)
        self._urls[digest] = (url, time.monotonic() + self._url_ttl)
        while len(self._urls) > self._max_entries:
            self._urls.popitem(last=False)
        return url

    async def _token(self, credentials: Credentials, *, refresh: bool = False) -> _Token:
        fingerprint = _fingerprint(credentials)
        token = self._tokens.get(fingerprint)
        if token and not refresh and token.expires > time.monotonic():
            return token
        url = f"{self._rest_url}/storage/auth/token"
        response = await send_idempotent(
            lambda: self._client.post(
                url,
                params={"storage_type": "fal-cdn-v3"},
                json={},
                headers={"Authorization": f"Key {credentials.key}"},
            ),
            self._retry,
        )
        if response.status_code != 200:
            raise from_response(response, provider="fal", endpoint_id="storage")
        body = response.json()
        token = _Token(
            value=body["token"],
            token_type=body.get("token_type", "Bearer"),
            base_url=body["base_url"].rstrip("/"),
            expires=_expiry(body.get("expires_at")),
        )
        self._tokens[fingerprint] = token
        return token

    async def _upload(self, data: bytes, content_type: str, file_name: str, credentials: Credentials) -> str:
        for refresh in (False, True):
            token = await self._token(credentials, refresh=refresh)
            upload = functools.partial(
                self._client.post,
                f"{token.base_url}/files/upload",
                content=data,
                headers={
                    "Content-Type": content_type,
                    "X-Fal-File-Name": file_name,
                    "Authorization": f"{token.token_type} {token.value}",
                },
            )
            response = await send_idempotent(upload, self._retry)
            if response.status_code == 401 and not refresh:
                continue  # token expired early: fetch a new one once
            if response.status_code not in (200, 201):
                raise from_response(response, provider="fal", endpoint_id="storage")
            self.uploads += 1
            return str(response.json()["access_url"])
        raise AssertionError("unreachable")  # pragma: no cover
