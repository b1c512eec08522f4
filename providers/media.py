"""Image bytes on local disk, where the UI can serve and download them.

Result images are fetched server-side (http(s) or ``data:`` URIs) because a sandbox URL on loopback is not
reachable from a visitor's browser and provider CDN URLs expire. File I/O runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import mimetypes
import tempfile
from pathlib import Path

import httpx

from providers.errors import ProviderFailure

EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}
MAX_IMAGE_BYTES = 64 * 1024 * 1024


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


class MediaStore:
    """Content-addressed files under one directory (default: a ``flux-playground`` folder in the temp dir)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else Path(tempfile.gettempdir()) / "flux-playground" / "media"

    def _write(self, data: bytes, content_type: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / (hashlib.sha256(data).hexdigest()[:32] + extension_for(content_type))
        if not path.exists():
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return path

    async def save(self, data: bytes, content_type: str) -> Path:
        return await asyncio.to_thread(self._write, data, content_type)

    async def fetch(self, client: httpx.AsyncClient, url: str) -> Path:
        """Bring a result image here: decode a data URI, or GET an http(s) URL (no credentials are sent)."""
        if url.startswith("data:"):
            try:
                data, content_type = decode_data_uri(url)
            except ValueError as exc:
                raise ProviderFailure(f"The provider returned an unreadable inline image: {exc}") from None
            return await self.save(data, content_type)
        if not url.startswith(("http://", "https://")):
            path = Path(url)
            if path.is_file():
                return path
            raise ProviderFailure(f"The provider returned an image location that cannot be read: {url[:80]}")
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            raise ProviderFailure(f"Could not download the result image ({type(exc).__name__}); try again.") from None
        if response.status_code != 200:
            raise ProviderFailure(f"Downloading the result image failed (HTTP {response.status_code}); it may have expired.")
        if len(response.content) > MAX_IMAGE_BYTES:
            raise ProviderFailure("The result image is larger than this app accepts.")
        return await self.save(response.content, response.headers.get("content-type", "image/jpeg"))
