"""Copies of live providers' result images, made off the critical path, and what waits for them.

A live provider's https image is shown at once; ``copy_later`` brings it into the media store (named, with its run
embedded: ``store_tagged``) in the background, at most ``BACKGROUND_COPIES`` at a time. The page's ``/media/<name>``
waits on ``await_image`` (the tagged bytes, before their file is written), the API on ``await_copy`` (the file);
``await_images`` waits for a run's or a sweep's images before their files are read; ``CopyIndex`` remembers
provider URL -> stored name, bounded like the media store. ``Runner`` (``runs.runner``) is an ``ImageCopies``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Coroutine, Iterable
from typing import Any

from providers.errors import ProviderError
from providers.media import MediaStore, StoredImage
from runs.provenance import embed_metadata
from runs.record import RunRecord, SecretInRecordError

log = logging.getLogger(__name__)

# Concurrent off-path copies of live providers' images (a page may be waiting for each): about one per visitor
# whose run ends at the same moment. At 16, 25 visitors finishing together left 9 copies queued behind the rest
# (the page's image came 27-29 ms after its result, median; 19-24 ms at 64: benchmarks/README.md, stop 50). Each
# copy holds its image twice (as downloaded, as tagged) until its file is written: ~1 MB for a 1 MP JPEG.
BACKGROUND_COPIES = 64
COPY_WAIT_SECONDS = 15.0  # how long ``GET /media/<name>`` waits for an image still being copied
COPY_START_SECONDS = 2.0  # ... and for a copy still queued behind others to start (else: the provider's URL)
TAG_IN_LOOP_BYTES = 4 * 1024 * 1024  # images up to this size are tagged on the event loop (byte splicing, ~0.15 ms
# for a 60 KB JPEG): the page waiting for one gets it without a worker thread's hop, which costs milliseconds under load


def tagged(data: bytes, content_type: str, record: RunRecord) -> bytes:
    """The image with the run embedded; as it came when it cannot be (a damaged file, a record showing a key)."""
    try:
        return embed_metadata(data, content_type, record)
    except (ValueError, SecretInRecordError) as exc:
        log.warning("run %s: an image was stored without its parameters (%s)", record.id, type(exc).__name__)
        return data


def store_tagged(media: MediaStore, data: bytes, content_type: str, name: str | None,
                 record: RunRecord | None) -> StoredImage:
    """Blocking (one worker thread for both): the record embedded, pixels untouched, then the file written."""
    return media.write(tagged(data, content_type, record) if record is not None else data, content_type, name)


MAX_COPIES = 4096  # provider URLs remembered for images copied off the critical path


class InflightCopy:
    """A live provider's image being copied into the media store (``url``: where it comes from)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.started = asyncio.Event()  # it has a copy slot (or has ended)
        self.tagged: bytes | None = None  # the image as it will be stored, while its file is being written
        self.ready = asyncio.Event()  # ``tagged`` is set, or the copy has ended
        self.done = asyncio.Event()


class CopyIndex:
    """Provider URL -> stored media name for images copied off the critical path, bounded like the media store:
    at most ``max_items`` (oldest go first), none older than ``max_age``, and an entry whose file the media store
    has pruned is forgotten when read."""

    def __init__(self, media: MediaStore, *, max_items: int = MAX_COPIES, max_age: float | None = None) -> None:
        self.media = media
        self.max_items = max_items
        self.max_age = media.max_age if max_age is None else max_age
        self._names: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def __setitem__(self, url: str, name: str) -> None:
        self._names.pop(url, None)
        self._names[url] = (time.time(), name)
        self.prune()

    def get(self, url: str, default: str | None = None) -> str | None:
        found = self._names.get(url)
        if found is None:
            return default
        stamp, name = found
        if time.time() - stamp > self.max_age or self.media.path_of(name) is None:
            del self._names[url]
            return default
        return name

    def __len__(self) -> int:
        return len(self._names)

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        while self._names:
            url, (stamp, _) = next(iter(self._names.items()))
            if len(self._names) <= self.max_items and now - stamp <= self.max_age:
                break
            del self._names[url]


class ImageCopies:
    """The copies under way (``inflight``: stored name -> its copy, kept when it failed) and made (``copies``)."""

    def __init__(self, media: MediaStore) -> None:
        self.media = media
        self.copies = CopyIndex(media)  # provider URL -> stored name, for images copied off the critical path
        self.inflight: OrderedDict[str, InflightCopy] = OrderedDict()  # stored name -> its copy under way or failed
        self._copy_slots = asyncio.Semaphore(BACKGROUND_COPIES)
        self._background: set[asyncio.Task[None]] = set()

    def copy_later(self, client: Any, url: str, provider: str, *, name: str | None = None,
                   record: RunRecord | None = None) -> None:
        """Copy a provider's image here off the critical path (named ``name``, with ``record`` embedded). Until
        it is stored, ``await_copy(name)`` waits for it."""
        entry = InflightCopy(url)
        if name is not None:
            self.inflight[name] = entry
            while len(self.inflight) > MAX_COPIES:  # finished (failed) entries go first, then the oldest
                oldest = next((key for key, old in self.inflight.items() if old.done.is_set()), None)
                self.inflight.pop(oldest if oldest is not None else next(iter(self.inflight)))

        async def copy() -> None:
            try:
                async with self._copy_slots:
                    entry.started.set()
                    data, content_type = await self.media.download(client, url, provider=provider)
                    if record is not None and len(data) <= TAG_IN_LOOP_BYTES:
                        entry.tagged = tagged(data, content_type, record)
                        entry.ready.set()
                        stored = await asyncio.to_thread(self.media.write, entry.tagged, content_type, name)
                    else:
                        stored = await asyncio.to_thread(store_tagged, self.media, data, content_type, name, record)
            except ProviderError as exc:
                log.info("background copy of a result image failed: %s", exc.message)
                return  # kept in ``inflight``: /media/<name> sends the browser to the provider's URL
            except Exception:  # a full disk, a client closed at shutdown: the page still gets the provider's URL
                log.warning("background copy of a result image failed", exc_info=True)
                return
            finally:
                entry.tagged = None  # memory never outlives the copy: stored (a file) or failed (the provider's URL)
                entry.started.set()
                entry.ready.set()
                entry.done.set()
            self.copies[url] = stored.name
            if name is not None and self.inflight.get(name) is entry:
                del self.inflight[name]

        self.background(copy())

    async def await_copy(self, name: str, timeout: float = COPY_WAIT_SECONDS,
                         start_timeout: float = COPY_START_SECONDS) -> str | None:
        """Wait for the copy of ``name``: at most ``start_timeout`` for it to start (copies queue behind
        ``BACKGROUND_COPIES``, a sweep's many), at most ``timeout`` in all. The provider's URL of the image when it
        is not stored then (the copy failed, is queued or still going), else None (stored, or never copied here)."""
        entry = self.inflight.get(name)
        if entry is None:
            return None
        await self._wait(entry, entry.done, timeout, start_timeout)
        return None if self.media.path_of(name) is not None else entry.url

    async def await_image(self, name: str, timeout: float = COPY_WAIT_SECONDS,
                          start_timeout: float = COPY_START_SECONDS) -> bytes | str | None:
        """``await_copy`` for a page showing the image: its bytes, tagged, as soon as they exist (its file may still
        be being written) rather than the file."""
        entry = self.inflight.get(name)
        if entry is None:
            return None
        await self._wait(entry, entry.ready, timeout, start_timeout)
        if entry.tagged is not None:
            return entry.tagged
        return None if self.media.path_of(name) is not None else entry.url

    @staticmethod
    async def _wait(entry: InflightCopy, until: asyncio.Event, timeout: float, start_timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(entry.started.wait(), min(start_timeout, timeout))
            await asyncio.wait_for(until.wait(), max(0.0, deadline - loop.time()))

    async def await_images(self, records: Iterable[RunRecord]) -> None:
        """``await_copy`` for every image of ``records`` named in this media store (before reading their files)."""
        names = [image["file"] for record in records for image in (record.result or {}).get("images") or []
                 if isinstance(image, dict) and isinstance(image.get("file"), str)]
        await asyncio.gather(*(self.await_copy(name) for name in names))

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` off the critical path; ``drain()`` waits for it."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for background copies (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
