"""What the history hands Gradio or fetches, from a list the browser holds (and a visitor may have written)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from components.endpoint_run import browser_url
from components.history_actions import thumbnail
from components.history_files import LocalFiles, is_provider_media
from components.history_state import HISTORY_LIMIT, filtered


@pytest.mark.parametrize(("value", "shown"), [
    ("https://v3.fal.media/files/a.png", True),
    ("http://127.0.0.1:7860/media/a.png", True),  # a URL: the browser's to fetch, not this server's
    ("/work/main/settings.py", False),  # a path: Gradio would copy that file into its cache and serve it
    ("file:///etc/passwd", False),
    ("https://evil.example/a.svg", False),  # Gradio fetches an SVG itself, on its event loop, to inline it
    ("https://evil.example/a.png?x=.SVG", False),
    (None, False),
])
def test_only_urls_gradio_leaves_to_the_browser_are_shown(value, shown):
    assert browser_url(value) == (value if shown else None)


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://v3.fal.media/files/a.png", True),
    ("https://storage.googleapis.com/falserverless/gallery/a.png", True),
    ("https://storage.googleapis.com/someone-elses-bucket/huge.bin", False),  # anyone's files: only fal's bucket
    ("http://v3.fal.media/files/a.png", False),
    ("https://fal.media.evil.example/a.png", False),
    ("https://127.0.0.1/a.png", False),
    ("https://evil-bucket.storage.googleapis.com/huge.bin", False),  # a review's two ways round the bucket check
    ("https://storage.googleapis.com/falserverless/../evil-bucket/x.png", False),
    ("https://storage.googleapis.com/falserverless/%2e%2e/evil-bucket/x.png", False),
])
def test_the_server_fetches_only_provider_media(url, allowed):
    assert is_provider_media(url) is allowed


def test_a_tile_shows_a_provider_image_or_the_placeholder(tmp_path):
    media = SimpleNamespace(path_of=lambda name: None)
    view = SimpleNamespace(ctx=SimpleNamespace(runner=SimpleNamespace(media=media, copies={})),
                           files=LocalFiles(tmp_path))
    entry = {"record": {"result": {"images": [{"url": "x"}]}}}
    for url in ("https://evil.example/a.png", "https://v3.fal.media/a.svg", "/etc/passwd"):
        assert thumbnail(view, {**entry, "images": [url]}) == view.files.placeholder, url
    assert thumbnail(view, {**entry, "images": ["https://v3.fal.media/a.png"]}) == "https://v3.fal.media/a.png"


def test_a_list_from_the_browser_is_read_to_its_limit():
    entries = [{"id": f"run-{i}", "api_name": "flux_pro"} for i in range(HISTORY_LIMIT * 50)]
    assert len(filtered(entries, None)) == HISTORY_LIMIT
    assert len(filtered(entries, "flux_pro")) == HISTORY_LIMIT
