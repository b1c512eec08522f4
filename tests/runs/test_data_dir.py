"""Where the server keeps its state: a private folder, never the working folder Gradio serves files from."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runs.data_dir import data_dir, user_data_root


def test_data_dir(tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    assert data_dir(chosen) == chosen
    assert stat.S_IMODE(chosen.stat().st_mode) == 0o700
    spaces = tmp_path / "spaces-data"
    spaces.mkdir()
    assert data_dir(None, {}, spaces_root=spaces) == spaces / "flux-playground"
    assert stat.S_IMODE((spaces / "flux-playground").stat().st_mode) == 0o700
    user = tmp_path / "home" / ".local" / "share" / "flux-playground"
    assert data_dir(None, {}, spaces_root=tmp_path / "absent", home=tmp_path / "home") == user
    if os.geteuid() != 0:  # root may write anywhere
        spaces.chmod(0o500)
        try:
            assert data_dir(None, {}, spaces_root=spaces, home=tmp_path / "home") == user
        finally:
            spaces.chmod(0o700)


def test_the_ledger_is_kept_out_of_the_working_folder_by_default(tmp_path: Path, monkeypatch) -> None:
    """Issue 17.1: the default was ``./data``, under the working folder, whose files Gradio copies and serves."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    chosen = data_dir(None, {}, spaces_root=tmp_path / "absent")
    assert not chosen.is_relative_to(tmp_path.resolve() / "data") and chosen == tmp_path / "home/.local/share/flux-playground"
    xdg = data_dir(None, {"XDG_DATA_HOME": str(tmp_path / "xdg")}, spaces_root=tmp_path / "absent")
    assert xdg == tmp_path / "xdg" / "flux-playground"
    assert user_data_root({"LOCALAPPDATA": "C:/Users/v/AppData/Local"}, platform="win32") == Path(
        "C:/Users/v/AppData/Local")
    assert user_data_root({}, platform="darwin", home=Path("/Users/v")) == Path("/Users/v/Library/Application Support")
