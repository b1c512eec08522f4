"""The config embedded in the page, without what the page never reads or would only replay at load.

Gradio 6.31 writes the whole app config into the HTML page (``window.gradio_config``, through the template filter
``toorjson``), and its frontend's start-up work grows with blocks × events (``docs/upstream.md`` §6). The page's
copy (never ``/config``, ``/gradio_api/info`` or Gradio's own config, which Python clients and MCP read) is trimmed
three ways:

- **Unread keys.** Every component carries its API schema three times (``api_info``, ``api_info_as_input``,
  ``api_info_as_output``) plus ``example_inputs``: ~280 KB of this app's ~800 KB. Gradio's frontend (6.31.0's built
  ``templates/frontend`` assets) reads none of the four; the page's client takes the API description from
  ``window.gradio_api_info`` (also in the page, trimmed below).
- **API-only events.** An event with no trigger (``gr.api``, the Models tab's ``/<model>`` endpoints) can never
  fire from the page, and its parameter components (type ``api``) sit in a hidden column. Both are left out of the
  page (a public event as a stub, below; the frontend keys events by their ``id``, so the others keep theirs, all
  but Gradio's API Recorder, which finds a recorded call's event by its position in the list and so fails on this
  page); the API and ``/config`` keep them.
- **The API surface.** The container with ``elem_id=API_SURFACE_ID`` (hidden; the API copies of the seed tabs
  drawn later, ``components.lazy_tab``) is left out with everything in it, and so is every event that reads,
  writes or is fired by anything in it: the page never shows or fires them.
- **Named endpoints stay listed.** Gradio's "Use via API" lists the page's events whose ``api_name`` is public (and
  in ``/gradio_api/info``), so each public event left out above stays on the page as a stub: its name, description
  and types, with no trigger, inputs, outputs, chain or js. Without them the panel listed 2 of the app's 50 endpoints.
- **Values set at load.** A js-only load event marked with ``initial_values_js`` (a form's documented example,
  ``components.form``) only writes constants into its outputs when the page opens. The page gets those values as
  the components' starting values instead, and not the event: the same page, without each output's update walking
  the whole tree at start-up. (Components keep their API defaults server-side: the API and ``/config`` are as
  before.)
- **The API description's unread parts.** The page's client builds its own view of ``window.gradio_api_info``
  (``view_api``) from each endpoint's parameters and returns alone; "Use via API" fetches ``/gradio_api/info`` whole
  for the descriptions and code snippets. So the page's copy leaves out each endpoint's ``code_snippets``,
  ``description`` and ``api_visibility``: ~110 KB of this app's ~420 KB, parsed before the page's script starts.
- **Empty numbers stay empty.** A ``gr.Number`` whose starting value is empty mounts showing 0 (Gradio's Number sets a
  missing value to 0). Gradio's page used to set every prop again right after mounting, which emptied it; the app's
  ``components.frontend_fixes`` leaves that second pass out, so each such Number is marked
  (``widgets.EMPTY_START_CLASS``) for the page script that empties it once as it appears, as for forms drawn later.

``trim_page_config()`` wraps the filter (copies; Gradio's own config is untouched). It relies on Gradio internals
(the filter's name and the template's use of it), so it is active only on the tested versions
(``gradio_fixes.fixes_active()``); elsewhere the page is Gradio's own. ``tests/components/test_page_config.py``
checks the page both ways.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from components.gradio_fixes import fixes_active
from components.widgets import EMPTY_START_CLASS

#: Per-component keys of Gradio's config that its frontend never reads (checked against 6.31.0's built assets).
PAGE_UNUSED_KEYS = frozenset({"api_info", "api_info_as_input", "api_info_as_output", "example_inputs"})
#: The component type of an API-only event's parameters (``gradio.components.api_component.Api``).
API_COMPONENT = "api"
#: The ``elem_id`` of the hidden container whose contents exist for the API only.
API_SURFACE_ID = "api-surface"
#: Starts the js of a load event that only writes constants (``initial_values_js``).
INITIAL_VALUES_MARK = "/* initial values */ "
_MARK = "__flux_playground_trimmed__"
#: Per-endpoint keys of the API description that the page's client drops as it reads it (6.31.0's ``view_api``
#: keeps ``parameters``, ``returns`` and ``oauth_token``).
PAGE_UNUSED_ENDPOINT_KEYS = frozenset({"code_snippets", "description", "api_visibility"})


def initial_values_js(values: Iterable[Any]) -> str:
    """The js of an event that writes ``values`` (JSON) into its outputs, marked so that, as a load event, the page
    gets them as starting values instead."""
    return f"{INITIAL_VALUES_MARK}() => {json.dumps(list(values))}"


def is_app_config(value: Any) -> bool:
    return isinstance(value, Mapping) and "components" in value and "layout" in value and "dependencies" in value


def is_api_info(value: Any) -> bool:
    return (isinstance(value, Mapping) and set(value) == {"named_endpoints", "unnamed_endpoints"}
            and all(isinstance(value[key], Mapping) for key in value))


def trimmed_api_info(info: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A copy of the API description for the page, each endpoint without ``PAGE_UNUSED_ENDPOINT_KEYS``."""
    return {kind: {name: ({k: v for k, v in endpoint.items() if k not in PAGE_UNUSED_ENDPOINT_KEYS}
                          if isinstance(endpoint, Mapping) else endpoint)
                   for name, endpoint in endpoints.items()}
            for kind, endpoints in info.items()}


#: What a public event left off the page keeps none of: the page can neither fire it nor chain it (nor compile its
#: js, nor name components the page does not have).
_STUB: dict[str, Any] = {"targets": [], "inputs": [], "outputs": [], "cancels": [], "trigger_after": None,
                         "component_prop_inputs": [], "js": None, "show_progress_on": None}


def _initial_values(dependency: Mapping[str, Any]) -> dict[int, Any] | None:
    """``{output id: value}`` when ``dependency`` is a marked js-only event fired by page load alone."""
    js = dependency.get("js")
    targets = dependency.get("targets") or []
    if not (isinstance(js, str) and js.startswith(INITIAL_VALUES_MARK)) or dependency.get("backend_fn"):
        return None
    if not targets or any(trigger != "load" for _, trigger in targets):
        return None
    try:
        values = json.loads(js[len(INITIAL_VALUES_MARK):].split("=>", 1)[1])
    except (IndexError, ValueError):
        return None
    outputs = dependency.get("outputs") or []
    if not isinstance(values, list) or len(values) != len(outputs):
        return None
    return dict(zip(outputs, values, strict=True))


def _nodes(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [node, *(n for child in node.get("children") or [] for n in _nodes(child))]


def _subtree(node: Mapping[str, Any]) -> set[int]:
    return {n["id"] for n in _nodes(node) if n.get("id") is not None}


def _touched(dependency: Mapping[str, Any]) -> set[int]:
    """The component ids an event is fired by, reads or writes."""
    ids = {target[0] for target in dependency.get("targets") or []}
    return ids | set(dependency.get("inputs") or []) | set(dependency.get("outputs") or [])


def _prune(node: Mapping[str, Any], gone: set[int]) -> dict[str, Any] | None:
    """``node`` without the components in ``gone``, and without containers that held only such components."""
    if node.get("id") in gone:
        return None
    if "children" not in node:
        return dict(node)
    children = [kept for child in node["children"] if (kept := _prune(child, gone)) is not None]
    if node["children"] and not children and node.get("id") is not None:
        gone.add(node["id"])
        return None
    return {**node, "children": children}


def trimmed(config: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``config`` for the page: no ``PAGE_UNUSED_KEYS``, no API-only events (public ones as stubs)
    and their parameter components, nothing of the API surface, and marked load-time values as starting values."""
    surface = {c["id"] for c in config["components"]
               if isinstance(c, Mapping) and (c.get("props") or {}).get("elem_id") == API_SURFACE_ID}
    gone = {i for node in _nodes(config["layout"]) if node.get("id") in surface for i in _subtree(node)}
    kept: list[Any] = []
    values: dict[int, Any] = {}
    for dependency in config["dependencies"]:
        if isinstance(dependency, Mapping) and (not dependency.get("targets") or gone & _touched(dependency)):
            # API-only (nothing on the page fires it), or fired by, reading or writing the API surface
            if dependency.get("api_visibility") == "public" and dependency.get("api_name"):
                kept.append({**dependency, **_STUB})  # still listed by "Use via API"
            continue
        initial = _initial_values(dependency) if isinstance(dependency, Mapping) else None
        if initial is None:
            kept.append(dependency)
        else:
            values.update(initial)
    used = {i for dependency in kept if isinstance(dependency, Mapping)
            for key in ("inputs", "outputs") for i in dependency.get(key) or []}
    gone |= {c["id"] for c in config["components"]
             if isinstance(c, Mapping) and c.get("type") == API_COMPONENT and c.get("id") not in used}
    layout = _prune(config["layout"], gone) if gone else config["layout"]  # adds the emptied containers to gone
    kept_ids = {dependency.get("id") for dependency in kept if isinstance(dependency, Mapping)}
    pages = {route: _page(page, gone, kept_ids) for route, page in (config.get("page") or {}).items()}
    components = []
    for component in config["components"]:
        if not isinstance(component, Mapping):
            components.append(component)
            continue
        if component.get("id") in gone:
            continue
        copy = {k: v for k, v in component.items() if k not in PAGE_UNUSED_KEYS}
        if component.get("id") in values and isinstance(copy.get("props"), Mapping):
            copy["props"] = {**copy["props"], "value": values[component["id"]]}
        props = copy.get("props")
        if copy.get("type") == "number" and isinstance(props, Mapping) and props.get("value") is None:
            classes = list(props.get("elem_classes") or [])
            if EMPTY_START_CLASS not in classes:
                copy["props"] = {**props, "elem_classes": [*classes, EMPTY_START_CLASS]}
        components.append(copy)
    trimmed_config = {**config, "components": components, "dependencies": kept, "layout": layout}
    if "page" in config:
        trimmed_config["page"] = pages
    return trimmed_config


def _page(page: Any, gone: set[int], kept_ids: set[Any]) -> Any:
    """A page's own view of the config (``config["page"][route]``: its layout, component and event ids), trimmed
    like the config."""
    if not isinstance(page, Mapping):
        return page
    out = dict(page)
    if isinstance(page.get("layout"), Mapping):
        out["layout"] = _prune(page["layout"], gone) or page["layout"]
    if isinstance(page.get("components"), list):
        out["components"] = [i for i in page["components"] if i not in gone]
    if isinstance(page.get("dependencies"), list):
        out["dependencies"] = [i for i in page["dependencies"] if i in kept_ids]
    return out


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
        if is_app_config(value):
            return original(trimmed(value))
        if is_api_info(value):
            return original(trimmed_api_info(value))
        return original(value)

    setattr(toorjson, _MARK, True)
    filters["toorjson"] = toorjson
    return True
