"""Input images for the renderer, from the only places the sandbox may read.

``data:`` URIs, this sandbox's own ``/fal/cdn/files`` URLs (read from memory) and http(s) URLs on loopback
(fetched with a short timeout) are read for real; unreadable content is a late validation failure, as on fal.
Any other URL cannot be fetched here (no network), so it becomes a deterministic placeholder plus a note.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import urllib.parse
from dataclasses import dataclass

import httpx
from PIL import Image

from sandbox.renderer import decode_image, placeholder_image
from sandbox.storage import FileStore, file_name_from_url

MAX_FETCH_BYTES = 32 * 1024 * 1024


class ImageLoadError(Exception):
    """The input names an image the sandbox could read but not use; reported like fal's 422 detail."""

    def __init__(self, field: str, message: str, error_type: str = "image_load_error") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.error_type = error_type

    def detail(self) -> list[dict[str, object]]:
        return [{"loc": ["body", self.field], "msg": self.message, "type": self.error_type}]


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image
    note: str | None = None  # set when a placeholder stands in for the real image


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _data_uri_bytes(uri: str) -> bytes:
    header, sep, payload = uri.partition(",")
    if not sep:
        raise ValueError("malformed data URI")
    if header.endswith(";base64"):
        return base64.b64decode(payload, validate=False)
    return urllib.parse.unquote_to_bytes(payload)


class ImageResolver:
    def __init__(self, files: FileStore, base_url: str, timeout: float, max_side: int = 1024) -> None:
        self._files = files
        self._base_url = base_url
        self._timeout = timeout
        self._max_side = max_side

    async def load(self, field: str, ref: str, *, allow_raw_base64: bool = False) -> LoadedImage:
        data = await self._read(field, ref.strip(), allow_raw_base64)
        if isinstance(data, LoadedImage):
            return data
        try:
            image = await asyncio.to_thread(decode_image, data, self._max_side)
        except ValueError as exc:
            raise ImageLoadError(field, f"Could not read the image: {exc}") from None
        return LoadedImage(image)

    async def _read(self, field: str, ref: str, allow_raw_base64: bool) -> bytes | LoadedImage:
        if ref.startswith("data:"):
            try:
                return _data_uri_bytes(ref)
            except (ValueError, binascii.Error):
                raise ImageLoadError(field, "Malformed data URI") from None
        if (name := file_name_from_url(ref, self._base_url)) is not None:
            stored = self._files.get(name)
            if stored is None:
                raise ImageLoadError(field, "File not found in the sandbox store", "file_download_error")
            return stored.data
        parsed = urllib.parse.urlsplit(ref)
        if parsed.scheme in ("http", "https"):
            if is_loopback_host(parsed.hostname):
                return await self._fetch(field, ref)
            note = f"Could not fetch {ref[:200]} in the sandbox (no network); using a placeholder image for {field}"
            return LoadedImage(placeholder_image(ref), note)
        if allow_raw_base64:
            try:
                return base64.b64decode(ref, validate=True)
            except (ValueError, binascii.Error):
                pass
        raise ImageLoadError(field, "Expected an http(s) URL or a data URI")

    async def _fetch(self, field: str, url: str) -> bytes:
        try:
            async with (
                httpx.AsyncClient(timeout=self._timeout, trust_env=False, follow_redirects=False) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise ImageLoadError(
                        field, f"Failed to download the file (HTTP {response.status_code})", "file_download_error"
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_FETCH_BYTES:
                        raise ImageLoadError(field, "The file is too large for the sandbox", "file_download_error")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise ImageLoadError(
                field, f"Failed to download the file ({type(exc).__name__})", "file_download_error"
            ) from None
