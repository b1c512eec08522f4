"""What a finished sweep leaves for its page: the grid PNG and the cells' ZIP, and the sweep's history entry.

One private folder (0700) holds a subfolder per sweep. Nothing is kept forever, whoever ran the sweep (the page,
the API, an MCP client): like the media store, the oldest sweeps go once the folder outgrows ``max_bytes`` or a
sweep is older than ``max_age``, and at most ``max_sweeps`` are remembered. The history entry waits for the page's
follow-up step, which takes it once; API and MCP callers never take theirs, so it goes with its sweep. No Gradio.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_AGE = 6 * 3600.0  # as long as a page session keeps its state
DEFAULT_MAX_SWEEPS = 200


@dataclass
class _Kept:
    created: float
    folder: Path
    files: list[str] = field(default_factory=list)
    entry: dict[str, Any] | None = None
    size: int = 0
    owner: str | None = None  # the session that ran the sweep: only it gets the files and the entry


class SweepFiles:
    """Per-sweep folders, files and history entries, bounded by bytes, age and count (oldest go first).

    Thread-safe: the grid and ZIP are written in a worker thread while the loop reads what is kept.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age: float = DEFAULT_MAX_AGE,
        max_sweeps: int = DEFAULT_MAX_SWEEPS,
    ) -> None:
        self._root = root
        self.owns_root = root is None
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.max_sweeps = max_sweeps
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        """The private folder, made on first use."""
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="flux-playground-sweeps-"))  # 0700
            elif not self._root.exists():
                self._root.mkdir(mode=0o700, parents=True)
            return self._root

    def folder(self, sweep_id: str) -> Path:
        """A fresh folder for one sweep's files (the sweep is remembered from now on)."""
        if not sweep_id or not sweep_id.isalnum():
            raise ValueError(f"{sweep_id!r} is not a sweep id")
        self.prune()
        path = self.root / sweep_id
        path.mkdir(mode=0o700, exist_ok=True)
        with self._lock:
            self._kept[sweep_id] = _Kept(time.time(), path)
        return path

    def keep(self, sweep_id: str, files: list[str], entry: dict[str, Any] | None, *, owner: str | None = None) -> None:
        """Record the sweep's files (in its folder) and its history entry for ``owner`` (the session that ran it),
        then drop what is over the limits."""
        size = 0
        for name in files:
            try:
                size += Path(name).stat().st_size
            except FileNotFoundError:
                continue
        with self._lock:
            kept = self._kept.get(sweep_id)
            if kept is None:
                return
            kept.files, kept.entry, kept.size, kept.owner = list(files), entry, size, owner
        self.prune()

    def _owned(self, sweep_id: str, owner: str | None) -> _Kept | None:
        """The kept sweep if ``owner`` ran it: a sweep's id travels in its grid's metadata, so the id alone must
        not hand another visitor its files or its history entry."""
        kept = self._kept.get(sweep_id)
        return kept if kept is not None and owner is not None and kept.owner == owner else None

    def files(self, sweep_id: str, owner: str | None) -> list[str]:
        """The sweep's grid and ZIP while they are kept (else none), for the session that ran it."""
        with self._lock:
            kept = self._owned(sweep_id, owner)
            return [name for name in kept.files if Path(name).is_file()] if kept is not None else []

    def take_entry(self, sweep_id: str, owner: str | None) -> dict[str, Any] | None:
        """The sweep's history entry, once, for the session that ran it."""
        with self._lock:
            kept = self._owned(sweep_id, owner)
            if kept is None:
                return None
            entry, kept.entry = kept.entry, None
            return entry

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)

    def __contains__(self, sweep_id: object) -> bool:
        with self._lock:
            return sweep_id in self._kept

    def total_bytes(self) -> int:
        with self._lock:
            return sum(kept.size for kept in self._kept.values())

    def prune(self, now: float | None = None) -> int:
        """Forget (and delete) sweeps past ``max_age``, then the oldest while over ``max_bytes`` or ``max_sweeps``
        (the newest sweep stays even when it alone is over ``max_bytes``: its page is about to fetch it)."""
        now = time.time() if now is None else now
        gone: list[_Kept] = []
        with self._lock:
            total = sum(kept.size for kept in self._kept.values())
            for sweep_id in list(self._kept):
                kept = self._kept[sweep_id]
                last = sweep_id == next(reversed(self._kept))
                over = total > self.max_bytes or len(self._kept) > self.max_sweeps
                if now - kept.created <= self.max_age and (not over or last):
                    continue
                del self._kept[sweep_id]
                total -= kept.size
                gone.append(kept)
        for kept in gone:
            shutil.rmtree(kept.folder, ignore_errors=True)
        return len(gone)

    def close(self) -> None:
        """At shutdown: forget every sweep and remove the folder if this store made it."""
        with self._lock:
            self._kept.clear()
            root, self._root = self._root, None
        if root is not None and self.owns_root:
            shutil.rmtree(root, ignore_errors=True)
