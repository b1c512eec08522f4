"""The config embedded in the page, without what the page never reads.

Gradio 6.31 writes the whole app config into the HTML page (``window.gradio_config``, through the template filter
``toorjson``), and every component in it carries its API schema three times (``api_info``, ``api_info_as_input``,
``api_info_as_output``) plus ``example_inputs``: ~280 KB of this app's ~800 KB, parsed by every visitor's browser.
Gradio's frontend (6.31.0's built ``templates/frontend`` assets) reads none of the four keys: the page's client
takes the API description from ``window.gradio_api_info`` (also in the page, and left whole, as the "Use via API"
panel shows it), and the four keys appear in no frontend file. Python clients read ``/config``, which keeps them
(``gradio_client`` asks a component's ``api_info`` whether a value is a file), as does ``/gradio_api/info``.

``trim_page_config()`` wraps the filter so that the config it renders leaves those keys out of each component
(copies; Gradio's own config is untouched). It relies on Gradio internals (the filter's name and the template's
use of it), so it is active only on the tested versions (``gradio_fixes.fixes_active()``); elsewhere the page is
Gradio's own. ``tests/components/test_page_config.py`` checks the page both ways.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from components.gradio_fixes import fixes_active

#: Per-component keys of Gradio's config that its frontend never reads (checked against 6.31.0's built assets).
PAGE_UNUSED_KEYS = frozenset({"api_info", "api_info_as_input", "api_info_as_output", "example_inputs"})
_MARK = "__flux_playground_trimmed__"


def is_app_config(value: Any) -> bool:
    return isinstance(value, Mapping) and "components" in value and "layout" in value and "dependencies" in value


def trimmed(config: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``config`` whose components leave out ``PAGE_UNUSED_KEYS``."""
    components = [
        {k: v for k, v in component.items() if k not in PAGE_UNUSED_KEYS} if isinstance(component, Mapping)
        else component
        for component in config["components"]
    ]
    return {**config, "components": components}


def trim_page_config() -> bool:
    """Install the trimming filter on Gradio's page template (once). Returns whether it is installed."""
    if not fixes_active():
        return False
    from gradio import routes

    filters = routes.templates.env.filters
    original: Callable[[Any], Any] = filters["toorjson"]
    if getattr(original, _MARK, False):
        return True

    @functools.wraps(original)
    def toorjson(value: Any) -> Any:
        return original(trimmed(value) if is_app_config(value) else value)

    setattr(toorjson, _MARK, True)
    filters["toorjson"] = toorjson
    return True
