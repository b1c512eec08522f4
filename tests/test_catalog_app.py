"""Catalog endpoints get no tab of their own (one Models tab holds them): the page does not grow with the catalog
(issue 18)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import gradio as gr
import pytest

from app import build_app, make_backends, make_context
from endpoints import ENDPOINTS, catalog_endpoints, install_catalog
from providers.config import ProviderSettings

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def restore_catalog() -> Iterator[None]:
    before = catalog_endpoints()
    yield
    install_catalog(before)


def page_shape() -> tuple[list[str | None], int, int]:
    ctx = make_context(make_backends(ProviderSettings()), {})
    try:
        demo = build_app(ctx)
        tabs = [block.id for block in demo.blocks.values() if isinstance(block, gr.Tab)]
        config = json.dumps(demo.get_config_file(), default=str)
        return tabs, len(demo.blocks), len(config)
    finally:
        ctx.cleanup()


def test_the_page_has_the_seed_tabs_whatever_the_catalog_size(restore_catalog: None):
    full = catalog_endpoints()
    assert len(full) >= 12
    install_catalog(full[:5])
    tabs, blocks, size = page_shape()
    seed_tabs = [spec.api_name for spec in ENDPOINTS]
    assert [t for t in tabs if t is not None] == [seed_tabs[0], "models", *seed_tabs[1:]]  # Models second
    # 25 models (the shipped ones and renamed copies): within 10 % of 5 in blocks and config bytes. Each model adds
    # only its API-only event (components.models_tab); its form is rendered when it is picked.
    more = [replace(s, id=f"{s.id}-copy{i}", api_name=f"{s.api_name}_copy{i}") for i, s in enumerate(full * 3)]
    install_catalog([*full, *more][:25])
    tabs_25, blocks_25, size_25 = page_shape()
    assert tabs_25 == tabs
    assert blocks_25 <= blocks * 1.10 and size_25 <= size * 1.10, (blocks, blocks_25, size, size_25)
