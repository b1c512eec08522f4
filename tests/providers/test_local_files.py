"""Which image field values name uploaded files: only regular files under the upload roots, and nothing longer than
a path is ever resolved."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from providers import local_files
from providers.local_files import upload_file

PATH_MAX = getattr(local_files, "PATH_MAX", 4096)


def test_an_upload_under_the_roots_is_found_and_nothing_else(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "a.png").write_bytes(b"x")
    (tmp_path / "b.png").write_bytes(b"x")
    assert upload_file(str(uploads / "a.png"), (uploads,)) == (uploads / "a.png").resolve()
    assert upload_file(str(tmp_path / "b.png"), (uploads,)) is None
    assert upload_file(str(uploads / ".." / "b.png"), (uploads,)) is None
    assert upload_file("/dev/zero", (Path("/dev"),)) is None  # not a regular file
    assert upload_file("a.png", (uploads,)) is None


def test_a_value_longer_than_any_path_is_never_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An image's plain base64 looks like an absolute path (a JPEG's starts "/9j/"), and resolving one takes time
    that grows with the square of its length (2 MB: 4.4 s of CPU, on the event loop when a BFL request is
    prepared). Such a value is refused before any resolving."""
    calls: list[str] = []
    resolve = Path.resolve

    def counted(self: Path, *args: object, **kwargs: object) -> Path:
        calls.append(str(self)[:16])
        return resolve(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(local_files.Path, "resolve", counted)
    jpeg_base64 = "/9j/" + base64.b64encode(os.urandom(3 * PATH_MAX)).decode()
    assert upload_file(jpeg_base64, (tmp_path,)) is None
    assert calls == []
    assert upload_file("/" + "a" * (PATH_MAX - 1), (tmp_path,)) is None  # as long as a path may be: looked at
    assert calls and calls[0] == "/" + "a" * 15
