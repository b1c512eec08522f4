"""The files the history hands out or reads: downloads with their run embedded, result images given to a form as
uploads, the placeholder tile, and a result image found on local disk or fetched again from a provider's CDN.

Images go to Gradio components as local files of the media store (a static path: served in place), never as this
app's own http URLs, which Gradio would try to fetch server-side and refuse as a loopback address.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image, ImageDraw

from components.context import AppContext
from providers.errors import ProviderError

#: Hosts a result image may be fetched from again (fal's CDN and storage); Segmind returns images inline.
PROVIDER_MEDIA_HOSTS = ("fal.media", "fal.run", "fal.ai", "storage.googleapis.com")
#: Hosts that serve anyone's files: only their paths the providers use (fal's bucket).
SHARED_HOST_PATHS = {"storage.googleapis.com": "/falserverless/"}
KEEP_SECONDS = 3600  # how long a prepared download stays in this panel's own folder


class LocalFiles:
    """Private folders for files this panel hands out: images with their parameters embedded (downloads), copies
    of result images given to a form as uploads ("Use as input"), and the placeholder tile for runs without an
    image. Downloads live in the system temp folder; inputs in Gradio's upload folder, the only place a provider
    may send local files from."""

    def __init__(self, root: Path) -> None:
        """``root``: a private folder (``AppContext.temp_dir``, removed at shutdown)."""
        self.root = root
        self.placeholder = str(self.root / "no-image.png")
        tile = Image.new("RGB", (160, 160), (229, 231, 235))
        ImageDraw.Draw(tile).text((44, 72), "no image", fill=(107, 114, 128))
        tile.save(self.placeholder)

    def write(self, name: str, data: bytes) -> str:
        """A new file ``name`` holding ``data``; downloads older than ``KEEP_SECONDS`` go (Gradio has served them
        from its own cache by then)."""
        self.prune()
        folder = Path(tempfile.mkdtemp(dir=self.root))
        path = folder / name
        path.write_bytes(data)
        return str(path)

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for folder in self.root.iterdir():
            with contextlib.suppress(OSError):
                if folder.is_dir() and now - folder.stat().st_mtime > KEEP_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)

    @staticmethod
    def as_upload(source: Path) -> str:
        """A copy of ``source`` in Gradio's upload folder, as if the visitor had uploaded it."""
        uploads = Path(gr.utils.get_upload_folder())
        uploads.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="history-", dir=uploads))
        target = folder / source.name
        shutil.copyfile(source, target)
        return str(target)


def _image_entry(record: dict[str, Any], index: int) -> dict[str, Any] | None:
    """The ``index``-th image of a record's result, if there is one."""
    result = record.get("result") if isinstance(record, dict) else None
    images = result.get("images") if isinstance(result, dict) else None
    if not isinstance(images, list) or index >= len(images) or not isinstance(images[index], dict):
        return None
    return images[index]


def stored_image(ctx: AppContext, record: dict[str, Any], index: int) -> tuple[Path, str] | None:
    """A result image of ``record`` already on local disk (media store), with its content type, or None."""
    image = _image_entry(record, index)
    return _stored(ctx, image) if image is not None else None


def _stored(ctx: AppContext, image: dict[str, Any]) -> tuple[Path, str] | None:
    name = image.get("file") or ctx.runner.copies.get(image.get("url") or "")
    path = ctx.runner.media.path_of(name) if name else None
    if path is None:
        return None
    return path, image.get("content_type") or "image/jpeg"


async def image_file(ctx: AppContext, record: dict[str, Any], index: int) -> tuple[Path, str] | None:
    """A result image of ``record`` on local disk (fetched from the provider and kept in the media store if need
    be), or None when it is gone."""
    image = _image_entry(record, index)
    if image is None:
        return None
    if isinstance(image.get("file"), str):
        await ctx.runner.await_copy(image["file"])  # a run that just ended: its image may still be on its way here
    found = _stored(ctx, image)
    if found is not None:
        return found
    url = str(image.get("url") or "")
    provider = str(record.get("provider") or "fal")
    if not is_provider_media(url):
        return None  # this app's own /media URL of an image no longer stored, or a host no provider serves from
    try:
        backend = ctx.backends.live.get(provider)
        # the URL is the browser's: its host is checked, and a redirect (to an address inside, say) not followed
        stored = await ctx.runner.media.fetch(backend.client, url, provider=provider, follow_redirects=False)
    except (KeyError, ProviderError, ValueError):  # ValueError: not an image type the store keeps
        return None
    path = ctx.runner.media.path_of(stored.name)
    return (path, stored.content_type) if path is not None else None


def is_provider_media(url: str) -> bool:
    """An https URL on a host the providers serve result images from. The history is the browser's to edit (and
    "Open image" reads records out of any file), so this server fetches no other URL it finds there."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if any(host.endswith("." + shared) for shared in SHARED_HOST_PATHS):
        return False  # <bucket>.storage.googleapis.com: anyone's bucket
    segments = urllib.parse.unquote(parts.path).split("/")
    if "." in segments or ".." in segments:
        return False  # normalised away before the request is sent: /falserverless/../another-bucket/
    if host in SHARED_HOST_PATHS and not parts.path.startswith(SHARED_HOST_PATHS[host]):
        return False
    return parts.scheme == "https" and any(host == h or host.endswith("." + h) for h in PROVIDER_MEDIA_HOSTS)

