"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests that need a real server.

``postgres_url()`` starts one cluster per test session (``initdb`` into a temporary folder, ``pg_ctl start`` on a
free loopback port, trust authentication for that port only) and stops and deletes it at exit. It looks for
Debian's ``postgresql`` package (``/usr/lib/postgresql/<version>/bin``) or ``initdb`` on the PATH; without one the
calling test is skipped and says why. As root (CI), the cluster runs as the ``postgres`` system user the package
creates, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

_cluster: tuple[str, Path, list[str]] | None = None
_failure: str | None = None


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start() -> tuple[str, Path, list[str]]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="flux-playground-pg-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise RuntimeError("running as root and runuser is missing: PostgreSQL cannot run as root")
        as_user = [runuser, "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    initdb = [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
    subprocess.run([*initdb, "-E", "UTF8"], check=True, capture_output=True, timeout=60)
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c fsync=off"
    start = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w"]
    subprocess.run([*start, "-t", "30", "start"], check=True, capture_output=True, timeout=60)
    stop = [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", root, stop


def _stop() -> None:
    if _cluster is not None:
        _, root, stop = _cluster
        subprocess.run(stop, capture_output=True, timeout=60, check=False)
        shutil.rmtree(root, ignore_errors=True)


def postgres_url() -> str:
    """A URL of a fresh database on the session's cluster (one database per call); skips the test without one."""
    global _cluster, _failure
    if _failure is not None:
        pytest.skip(_failure)
    if _cluster is None:
        try:
            _cluster = _start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            _failure = f"no PostgreSQL for this test: {exc} {detail.decode(errors='replace')[-300:]}".strip()
            pytest.skip(_failure)
        atexit.register(_stop)
    base = _cluster[0]
    name = f"t_{uuid.uuid4().hex[:12]}"
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return base.rsplit("/", 1)[0] + f"/{name}"
