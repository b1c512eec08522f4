"""The seed tabs after the first are drawn when first opened (``components/lazy_tab.py``): the page's config leaves
them out, while the API (named endpoints, their parameters and outputs) is the same as with every tab drawn, and on
a Gradio where the page cannot be trimmed every tab is drawn with the page."""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import pytest

from app import build_app, make_backends, make_context
from components.models_tab import TAB_ID
from components.page_config import API_SURFACE_ID, trimmed
from endpoints import ENDPOINTS
from providers.config import ProviderSettings

pytestmark = pytest.mark.timeout(120)


def built(lazy_tabs: bool) -> tuple[dict[str, Any], dict[str, Any], list[str | None]]:
    """(the config, the API description, the tab ids) of the app built one way or the other."""
    ctx = make_context(make_backends(ProviderSettings()), {})
    try:
        demo = build_app(ctx, lazy_tabs=lazy_tabs)
        tabs = [block.id for block in demo.blocks.values() if isinstance(block, gr.Tab)]
        return demo.get_config_file(), demo.get_api_info(), tabs
    finally:
        ctx.cleanup()


def elem_ids(config: dict[str, Any]) -> list[str]:
    return [c["props"].get("elem_id") for c in config["components"] if c["props"].get("elem_id")]


@pytest.fixture(scope="module")
def both() -> dict[bool, tuple[dict[str, Any], dict[str, Any], list[str | None]]]:
    return {lazy: built(lazy) for lazy in (True, False)}


def test_the_page_holds_the_first_seed_tab_and_the_others_tabs_without_contents(both):
    config, _, tabs = both[True]
    page = trimmed(config)
    generates = [i for i in elem_ids(page) if i.endswith("-generate")]
    assert generates == [f"{ENDPOINTS[0].api_name}-generate"]
    # The first seed tab, the Models tab (second: in view on a phone), then the other seed tabs.
    seed_tabs = [spec.api_name for spec in ENDPOINTS]
    assert [t for t in tabs if t is not None][:len(ENDPOINTS) + 1] == [seed_tabs[0], TAB_ID, *seed_tabs[1:]]
    assert API_SURFACE_ID not in elem_ids(page)
    assert len(page["components"]) < len(config["components"]) / 3  # the point: a far smaller page
    # the API copies are in the app's own config (what gradio_client reads), each seed's form and buttons
    assert {f"{spec.api_name}-generate" for spec in ENDPOINTS} <= set(elem_ids(config))


def test_the_api_is_the_same_as_with_every_tab_drawn(both):
    _, lazy_api, _ = both[True]
    _, eager_api, _ = both[False]
    names = [f"/{spec.api_name}{suffix}" for spec in ENDPOINTS for suffix in ("", "_sweep")]
    for name in names:
        assert name in lazy_api["named_endpoints"], name
        assert json.dumps(lazy_api["named_endpoints"][name], sort_keys=True) == json.dumps(
            eager_api["named_endpoints"][name], sort_keys=True), name
    assert set(lazy_api["named_endpoints"]) == set(eager_api["named_endpoints"])


def test_without_lazy_tabs_every_seed_tab_is_drawn_with_the_page(both):
    config, _, _ = both[False]
    page = trimmed(config)
    generates = [i for i in elem_ids(page) if i.endswith("-generate")]
    assert generates == [f"{spec.api_name}-generate" for spec in ENDPOINTS]
    assert API_SURFACE_ID not in elem_ids(config)


#: Types whose frontend modules are among the heaviest, and which show only results, code or a section's output.
RESULT_TYPES = {"markdown", "gallery", "json", "image", "file", "imageslider", "code", "dataframe"}


def test_the_first_page_shows_none_of_the_result_types_until_there_is_something_to_show(both):
    # Gradio's page loads the module of every component it shows (visible not False; inside a closed accordion
    # too) before drawing anything. Result galleries and JSON appear with the first result, code with the first
    # code, a sweep's outputs when its section opens, texts are Prose (HTML).
    config, _, _ = both[True]
    shown = {c["type"] for c in trimmed(config)["components"] if c["props"].get("visible") is not False}
    assert shown & RESULT_TYPES == set()
    assert {"html", "button", "dropdown", "slider"} <= shown  # the form and its texts are there
