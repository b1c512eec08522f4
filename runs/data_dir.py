"""Where the server keeps its state (the spend ledger, the result cache): a private folder outside the code."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

SPACES_DATA_ROOT = Path("/data")
APP_FOLDER = "flux-playground"  # under /data on Spaces, or under the user's data folder


def user_data_root(env: Mapping[str, str], *, platform: str = sys.platform, home: Path | None = None) -> Path:
    """The platform's folder for a user's application data: ``$XDG_DATA_HOME`` or ``~/.local/share`` (Linux and
    other Unixes), ``~/Library/Application Support`` (macOS), ``%LOCALAPPDATA%`` (Windows)."""
    home = home or Path.home()
    if platform == "win32":
        raw = (env.get("LOCALAPPDATA") or "").strip()
        return Path(raw) if raw else home / "AppData" / "Local"
    if platform == "darwin":
        return home / "Library" / "Application Support"
    raw = (env.get("XDG_DATA_HOME") or "").strip()
    return Path(raw) if raw and Path(raw).is_absolute() else home / ".local" / "share"


def data_dir(
    configured: Path | None = None,
    platform_env: Mapping[str, str] | None = None,
    *,
    spaces_root: Path = SPACES_DATA_ROOT,
    home: Path | None = None,
) -> Path:
    """The folder for server state (the spend ledger, which holds visitors' addresses and spend), created with mode
    0700 when missing. Never the working folder: Gradio serves files under it, and it is where the code lives.

    ``configured`` (``PLAYGROUND_DATA_DIR``) when set; else ``/data/flux-playground`` when ``/data`` (Spaces persistent storage)
    exists and is writable; else ``flux-playground`` in the user's data folder (``user_data_root``:
    ``~/.local/share/flux-playground`` on Linux).
    """
    if configured is not None:
        path = configured.expanduser()
    elif spaces_root.is_dir() and os.access(spaces_root, os.W_OK | os.X_OK):
        path = spaces_root / APP_FOLDER
    else:
        path = user_data_root(platform_env or {}, home=home) / APP_FOLDER
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        path.chmod(0o700)  # mkdir's mode is filtered through the umask
    return path
