"""What finished sweeps leave behind (grid, ZIP, history entry) is bounded by bytes, age and count."""

from __future__ import annotations

import time
from pathlib import Path

from runs.sweep_files import SweepFiles

PAGE = "session-1"


def finish(files: SweepFiles, sweep_id: str, size: int) -> list[str]:
    folder = files.folder(sweep_id)
    grid, archive = folder / "grid.png", folder / "cells.zip"
    grid.write_bytes(b"g" * (size // 2))
    archive.write_bytes(b"z" * (size - size // 2))
    files.keep(sweep_id, [str(grid), str(archive)], {"id": sweep_id}, owner=PAGE)
    return [str(grid), str(archive)]


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_the_oldest_sweeps_go_past_the_byte_cap(tmp_path: Path) -> None:
    files = SweepFiles(tmp_path / "sweeps", max_bytes=25_000)
    for i in range(10):
        finish(files, f"s{i}", 10_000)
    assert disk_bytes(files.root) <= 25_000 and files.total_bytes() <= 25_000
    assert "s0" not in files and "s9" in files and "s8" in files
    assert files.files("s0", PAGE) == [] and files.take_entry("s0", PAGE) is None
    assert sorted(p.name for p in files.root.iterdir()) == ["s8", "s9"]


def test_the_newest_sweep_stays_even_alone_over_the_cap(tmp_path: Path) -> None:
    files = SweepFiles(tmp_path / "sweeps", max_bytes=1_000)
    finish(files, "small", 500)
    paths = finish(files, "big", 5_000)
    assert files.files("big", PAGE) == paths and "small" not in files


def test_sweeps_past_their_age_go_whoever_ran_them(tmp_path: Path) -> None:
    files = SweepFiles(tmp_path / "sweeps", max_age=3600)
    finish(files, "old", 100)  # an API caller's sweep: its entry is never taken by a page
    assert files.prune(now=time.time() + 1800) == 0 and "old" in files
    assert files.prune(now=time.time() + 3700) == 1
    assert "old" not in files and len(files) == 0 and not (files.root / "old").exists()


def test_at_most_max_sweeps_are_remembered(tmp_path: Path) -> None:
    files = SweepFiles(tmp_path / "sweeps", max_sweeps=3)
    for i in range(20):
        finish(files, f"s{i}", 10)
    assert len(files) == 3 and len(list(files.root.iterdir())) == 3


def test_the_entry_is_given_once_and_close_removes_a_folder_it_made() -> None:
    files = SweepFiles()
    paths = finish(files, "abc", 100)
    assert files.take_entry("abc", PAGE) == {"id": "abc"} and files.take_entry("abc", PAGE) is None
    assert files.files("abc", PAGE) == paths
    root = files.root
    files.close()
    assert not root.exists() and len(files) == 0


def test_only_the_session_that_ran_a_sweep_gets_its_files_and_entry(tmp_path: Path) -> None:
    """A sweep's id travels in its grid's metadata: a probe noted that anyone holding a shared grid could ask for
    its ZIP and take its history entry (given once) from the page that ran it."""
    files = SweepFiles(tmp_path / "sweeps")
    folder = files.folder("abc")
    (folder / "grid.png").write_bytes(b"g")
    files.keep("abc", [str(folder / "grid.png")], {"id": "abc"}, owner="session-a")
    assert files.files("abc", "session-b") == [] and files.take_entry("abc", "session-b") is None
    assert files.files("abc", None) == [] and files.take_entry("abc", None) is None  # no session: nothing
    assert files.files("abc", "session-a") == [str(folder / "grid.png")]
    assert files.take_entry("abc", "session-a") == {"id": "abc"}
