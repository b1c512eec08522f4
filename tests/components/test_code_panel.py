"""The code section under a result says which key its code reads: the tab's own provider's variable."""

from __future__ import annotations

from typing import Any

import pytest

from app import build_app, make_backends, make_context
from components.history_panel import code_intro
from providers.config import ProviderSettings

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    ctx = make_context(make_backends(ProviderSettings()), {})
    try:
        return build_app(ctx).get_config_file()
    finally:
        ctx.cleanup()


def texts_inside(config: dict[str, Any], elem_id: str) -> str:
    """The values of the HTML blocks inside the block whose ``elem_id`` is given."""
    components = {c["id"]: c for c in config["components"]}

    def find(node: dict[str, Any]) -> dict[str, Any] | None:
        if components.get(node["id"], {}).get("props", {}).get("elem_id") == elem_id:
            return node
        return next((hit for child in node.get("children", []) if (hit := find(child))), None)

    def values(node: dict[str, Any]) -> list[str]:
        props = components.get(node["id"], {}).get("props", {})
        own = [props["value"]] if components[node["id"]]["type"] == "html" and props.get("value") else []
        return own + [text for child in node.get("children", []) for text in values(child)]

    section = find(config["layout"])
    assert section is not None, elem_id
    return " ".join(values(section))


@pytest.mark.parametrize(("api_name", "key", "others"), [
    ("flux_pro", "FAL_KEY", ("SEGMIND_API_KEY", "BFL_API_KEY")),
    ("segmind_flux_depth_pro", "SEGMIND_API_KEY", ("FAL_KEY", "BFL_API_KEY")),
])
def test_a_tabs_code_section_names_its_providers_key_and_no_other(config, api_name, key, others):
    text = texts_inside(config, f"{api_name}-code-section")
    assert key in text and not any(other in text for other in others), text


def test_the_historys_code_section_names_every_providers_key():
    text = code_intro()
    assert all(key in text for key in ("FAL_KEY", "SEGMIND_API_KEY", "BFL_API_KEY")), text
