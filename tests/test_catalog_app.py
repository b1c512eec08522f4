"""Catalog endpoints get no tab: the page the app builds does not grow with the catalog (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator

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


def page_shape() -> tuple[list[str | None], int]:
    ctx = make_context(make_backends(ProviderSettings.from_env({})), {})
    try:
        demo = build_app(ctx)
        tabs = [block.id for block in demo.blocks.values() if isinstance(block, gr.Tab)]
        return tabs, len(demo.blocks)
    finally:
        ctx.cleanup()


def test_the_page_has_the_seed_tabs_whatever_the_catalog_size(restore_catalog: None):
    full = catalog_endpoints()
    assert len(full) >= 12
    tabs, blocks = page_shape()
    assert [t for t in tabs if t is not None] == [spec.api_name for spec in ENDPOINTS]
    install_catalog(full[:1])
    assert page_shape() == (tabs, blocks)
