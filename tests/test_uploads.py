"""Uploads are bounded: Gradio refuses a file over PLAYGROUND_MAX_UPLOAD_MB (default 25 MB), and its cache
(uploads included) is swept within an hour, not a day."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from sandbox import SandboxOptions
from settings import Settings, SettingsError
from tests.app_support import launched_app

MAX_UPLOAD_ENV = "PLAYGROUND_MAX_UPLOAD_MB"
DEFAULT_MAX_UPLOAD_MB = 25

pytestmark = pytest.mark.timeout(120)

MB = 1024 * 1024


def upload(url: str, name: str, data: bytes, content_type: str) -> httpx.Response:
    return httpx.post(f"{url.rstrip('/')}/gradio_api/upload", files={"files": (name, data, content_type)}, timeout=60,
                      trust_env=False)


def test_an_upload_over_the_limit_is_refused_and_one_under_it_is_kept():
    png = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(png, "PNG")
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0)) as app:
        assert app.demo.max_file_size == DEFAULT_MAX_UPLOAD_MB * MB
        frequency, age = app.demo.delete_cache
        assert frequency <= 600 and age <= 3600  # uploads do not stay a day
        refused = upload(app.url, "huge.png", b"\0" * (DEFAULT_MAX_UPLOAD_MB * MB + 1), "image/png")
        assert refused.status_code == 413, refused.text
        kept = upload(app.url, "small.png", png.getvalue(), "image/png")
        assert kept.status_code == 200, kept.text
        assert len(kept.json()) == 1


def test_the_limit_is_configurable_and_bad_values_are_refused_by_name():
    assert Settings.from_env({}).max_upload_bytes == 25 * MB
    assert Settings.from_env({MAX_UPLOAD_ENV: "2"}).max_upload_bytes == 2 * MB
    assert Settings.from_env({MAX_UPLOAD_ENV: "0.5"}).max_upload_bytes == MB // 2
    for raw in ("0", "-1", "lots", "5000"):
        with pytest.raises(SettingsError, match=f"^{MAX_UPLOAD_ENV}: "):
            Settings.from_env({MAX_UPLOAD_ENV: raw})
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env={MAX_UPLOAD_ENV: "1"}) as app:
        assert upload(app.url, "two.bin", b"\0" * (2 * MB), "image/png").status_code == 413
        assert upload(app.url, "half.bin", b"\0" * (MB // 2), "image/png").status_code == 200
