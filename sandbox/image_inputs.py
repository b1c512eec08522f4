"""Input images for the renderer, from the only places the sandbox may read — and it never opens a connection.

``data:`` URIs and this sandbox's own ``/fal/cdn/files`` URLs (read from memory) are read for real; unreadable
content is a late validation failure, as on fal. Every other http(s) URL becomes a deterministic placeholder
(derived from the URL alone) plus a note for the job's log: a public one because these machines have no network,
and one naming the visitor's own machine or network (sandbox/addresses.py: loopback, private, link-local, ... in any
spelling) because the remote service the sandbox stands in for could not reach it either. Nothing is fetched, so
the answer for such a URL cannot depend on whether anything listens there (no SSRF, no port-scan oracle).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import urllib.parse
from dataclasses import dataclass

from PIL import Image

from sandbox.addresses import classify_host
from sandbox.decoding import ImageTooLarge, decode_image, fitted_size
from sandbox.renderer import placeholder_image
from sandbox.storage import FileStore, file_name_from_url

PLACEHOLDER_SIZE = (1024, 768)  # before fitting into the requested side


@dataclass(frozen=True)
class _Unread:
    """An http(s) URL the sandbox does not read: a placeholder stands in for it."""

    url: str


class ImageLoadError(Exception):
    """The input names an image the sandbox could read but not use; reported like fal's 422 detail."""

    def __init__(
        self,
        field: str,
        message: str,
        error_type: str = "image_load_error",
        loc: tuple[str | int, ...] | None = None,
    ) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.error_type = error_type
        self.loc = loc or (field,)  # ("controlnets", 0, "control_image_url") for a nested field

    def detail(self) -> list[dict[str, object]]:
        return [{"loc": ["body", *self.loc], "msg": self.message, "type": self.error_type}]


@dataclass(frozen=True)
class LoadedImage:
    image: Image.Image
    note: str | None = None  # set when a placeholder stands in for the real image


def _data_uri_bytes(uri: str) -> bytes:
    header, sep, payload = uri.partition(",")
    if not sep:
        raise ValueError("malformed data URI")
    if header.endswith(";base64"):
        return base64.b64decode(payload, validate=False)
    return urllib.parse.unquote_to_bytes(payload)


def placeholder_note(field: str, url: str) -> str:
    """The log line for a URL the sandbox does not read; it depends on the URL only."""
    shown = url[:200]
    try:
        host = urllib.parse.urlsplit(url).hostname
    except ValueError:
        host = None
    verdict = classify_host(host)
    if verdict.forbidden:
        return (
            f"Not fetching {shown}: {verdict.host or 'the host'} is a {verdict.reason}, which the real service "
            f"could not reach either; using a placeholder image for {field}"
        )
    return f"Could not fetch {shown} in the sandbox (no network); using a placeholder image for {field}"


class ImageResolver:
    """Reads input images for one job: ``load(field, ref)`` -> a decoded RGB image, long side <= ``max_side``.

    ``decode_slots`` is the server's limit on concurrent decodes (sandbox/decoding.py bounds each one).
    """

    def __init__(
        self, files: FileStore, base_url: str, max_side: int = 1024, decode_slots: asyncio.Semaphore | None = None
    ) -> None:
        self._files = files
        self._base_url = base_url
        self._max_side = max_side
        self._decode_slots = decode_slots or asyncio.Semaphore(1)

    async def load(
        self,
        field: str,
        ref: str,
        *,
        allow_raw_base64: bool = False,
        max_side: int | None = None,
        loc: tuple[str | int, ...] | None = None,
    ) -> LoadedImage:
        """Raises ImageLoadError (naming ``field``, at ``loc``) for content that is not a usable image."""
        try:
            return await self._load(field, ref.strip(), allow_raw_base64, max_side)
        except ImageLoadError as exc:
            raise ImageLoadError(exc.field, exc.message, exc.error_type, loc) from None

    async def _load(self, field: str, ref: str, allow_raw_base64: bool, max_side: int | None) -> LoadedImage:
        data = self._read(field, ref, allow_raw_base64)
        side = max_side or self._max_side
        if isinstance(data, _Unread):
            image = await asyncio.to_thread(placeholder_image, data.url, *fitted_size(PLACEHOLDER_SIZE, side))
            return LoadedImage(image, placeholder_note(field, data.url))
        try:
            async with self._decode_slots:  # shared by the server's jobs: bounds the decoded bitmaps held at once
                image = await asyncio.to_thread(decode_image, data, side)
        except ImageTooLarge as exc:
            raise ImageLoadError(field, f"Image too large: {exc}", "image_too_large") from None
        except ValueError as exc:
            raise ImageLoadError(field, f"Could not read the image: {exc}") from None
        return LoadedImage(image)

    def _read(self, field: str, ref: str, allow_raw_base64: bool) -> bytes | _Unread:
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
        if ref[:8].lower().startswith(("http://", "https://")):
            return _Unread(ref)
        if allow_raw_base64:
            try:
                return base64.b64decode(ref, validate=True)
            except (ValueError, binascii.Error):
                pass
        raise ImageLoadError(field, "Expected an http(s) URL or a data URI")
