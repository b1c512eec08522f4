"""The one settings object: every variable read, defaults, bad values refused by name, README table in step."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import make_context
from settings import PLATFORM_VARIABLES, Settings, SettingsError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_from_an_empty_environment() -> None:
    s = Settings.from_env({})
    assert s.sandbox is False
    assert s.budget_usd is None and s.visitor_budget_usd is None
    assert s.cache is True and s.cache_days == 7 and s.cache_mb == 1024
    assert s.visitor_concurrency == 2
    assert s.trusted_proxies == 0
    assert s.max_upload_bytes == 25 * 1024 * 1024
    assert s.sweep_max_cells == 64 and s.max_sweeps == 4
    assert s.sweep_concurrency() == {"fal": 16, "segmind": 4, "bfl": 6}
    assert s.provider_settings().keys == {}
    assert s.fetch_documents() is False


def test_values_are_read_and_typed() -> None:
    s = Settings.from_env(
        {
            "PLAYGROUND_SANDBOX": "1",
            "PLAYGROUND_BUDGET_USD": "$2.50",
            "PLAYGROUND_VISITOR_BUDGET_USD": " 0.5 ",
            "PLAYGROUND_CACHE": "0",
            "PLAYGROUND_SWEEP_MAX_CELLS": "9",
            "PLAYGROUND_MAX_UPLOAD_MB": "2",
            "FAL_MAX_CONCURRENCY": "3",
            "FAL_KEY": "id:secret",
            "FAL_QUEUE_URL": "http://127.0.0.1:9/",
            "SPACE_ID": "someone/space",
            "PLAYGROUND_BUDGET": "ignored: not a variable of the app",
        }
    )
    assert s.sandbox is True and s.cache is False
    assert s.budget_usd == 2.5 and s.visitor_budget_usd == 0.5
    assert s.sweep_max_cells == 9 and s.max_upload_bytes == 2 * 1024 * 1024
    assert s.sweep_concurrency()["fal"] == 3
    assert s.trusted_proxies == 1  # on Spaces by default
    assert s.provider_key("fal") == "id:secret"
    assert s.provider_settings().urls["FAL_QUEUE_URL"] == "http://127.0.0.1:9"
    assert s.fetch_documents() is True  # a fal server key turns fetching on
    assert "id:secret" not in repr(s)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PLAYGROUND_BUDGET_USD", "-1"),
        ("PLAYGROUND_BUDGET_USD", "ten dollars"),
        ("PLAYGROUND_VISITOR_BUDGET_USD", "nan"),
        ("PLAYGROUND_TRUSTED_PROXIES", "-2"),
        ("PLAYGROUND_TRUSTED_PROXIES", "many"),
        ("PLAYGROUND_SWEEP_MAX_CELLS", "0"),
        ("PLAYGROUND_MAX_SWEEPS", "x"),
        ("PLAYGROUND_SWEEP_MAX_GRID_PIXELS", "-5"),
        ("PLAYGROUND_CACHE_DAYS", "inf"),
        ("PLAYGROUND_CACHE_MB", "-1"),
        ("PLAYGROUND_CACHE", "perhaps"),
        ("PLAYGROUND_VISITOR_CONCURRENCY", "0"),
        ("PLAYGROUND_MAX_UPLOAD_MB", "0"),
        ("SANDBOX_STEP_SECONDS", "0"),
        ("FAL_MAX_CONCURRENCY", "0"),
        ("SEGMIND_API_URL", "api.segmind.com"),
        ("FAL_OPENAPI_URL", "ftp://x"),
    ],
)
def test_a_bad_value_is_refused_with_the_variables_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value).startswith(f"{name}: ")


def test_a_refused_key_is_never_echoed() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"FAL_KEY": "id:very-secret", "PLAYGROUND_BUDGET_USD": "-1"})
    assert "very-secret" not in str(caught.value)


def test_the_app_will_not_start_with_a_bad_value() -> None:
    env = {k: v for k, v in os.environ.items() if k not in Settings.variables()}
    env["PLAYGROUND_SWEEP_MAX_CELLS"] = "lots"
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode != 0
    assert "cannot start: PLAYGROUND_SWEEP_MAX_CELLS" in done.stderr


def test_make_context_honours_the_settings(tmp_path: Path) -> None:
    from app import make_backends

    settings = Settings.from_env(
        {"PLAYGROUND_SWEEP_MAX_CELLS": "7", "PLAYGROUND_DATA_DIR": str(tmp_path), "PLAYGROUND_MAX_UPLOAD_MB": "3"}
    )
    ctx = make_context(make_backends(settings.provider_settings(), sandbox_url="http://127.0.0.1:9"), settings)
    assert ctx.sweep_limits.max_cells == 7
    assert ctx.max_upload_bytes == 3 * 1024 * 1024


def test_the_readme_documents_every_variable_and_no_other() -> None:
    table = (ROOT / "README.md").read_text(encoding="utf-8").split("| variable | meaning |", 1)[1].split("\n\n", 1)[0]
    documented = set()
    for row in table.splitlines()[2:]:
        first_cell = row.split("|")[1]
        documented |= {re.sub(r"=.*", "", name) for name in re.findall(r"`([A-Z][A-Z0-9_=]+)`", first_cell)}
    assert documented == set(Settings.variables()) - PLATFORM_VARIABLES
