"""Three places in Gradio 6.31's frontend, corrected: the page builds its component tree once at start-up, not twice;
it lists each block's events from an index instead of matching every block against every event
(``EVENTS_INDEXED_ONCE``, ``docs/upstream.md`` §19); and an event with no ``event_args`` does not search the tree
for its target (``NO_EVENT_ARGS_NO_SEARCH``, §19 too).

Gradio's ``Blocks`` page (``templates/frontend/assets/Blocks-<hash>.js``) builds the ``AppTree`` in its
constructor, then an effect meant for hot reloads (it reads the ``reload_count`` prop) calls ``AppTree.reload``
with the very same config. Svelte runs an effect once when it is created, so every page load builds the whole tree
a second time (each block matched against every event) and re-applies every component's props: 75–90 ms (mean)
before Generate works on this app's page, a few ms on a one-function page (``docs/upstream.md`` §15).

The fix: that effect still reads ``reload_count`` on its first run (so it runs again whenever the count changes,
as before) but skips the rebuild on that first run only. The app serves the corrected module under the same URL
(``frontend_routes``); everything else comes from Gradio as before.

The second pass also set every prop again after mounting, which undid one mount-time default: Gradio's Number
shows an empty value as 0 when it mounts, and the pass emptied it again. Without the pass the page empties those
boxes itself (``page_config`` marks each Number that starts empty for ``widgets.EMPTY_BOXES_JS``, as forms drawn
later already were); every other input of the page mounts as before (compared one by one in Chromium, Advanced
open).

It is Gradio's minified code, so the fix is an exact text replacement in one named file, made only on the tested
Gradio (``gradio_fixes.fixes_active()``) and only when the file holds the text exactly once; otherwise the app
serves Gradio's own file and logs why, once.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from components.gradio_fixes import fixes_active

log = logging.getLogger(__name__)

ASSETS = Path(gr.__file__).parent / "templates" / "frontend" / "assets"


@dataclass(frozen=True)
class AssetFix:
    """``old`` replaced by ``new`` in Gradio's frontend file ``asset`` (served at ``/assets/<asset>``)."""

    asset: str
    old: str
    new: str


#: Blocks' effect ``$effect(() => { reload_count; untrack(() => { tree.reload(...); deps.reload(...) }) })``: the
#: first run (its creation, with the constructor's config) returns after reading ``reload_count``.
TREE_BUILT_ONCE = AssetFix(
    asset="Blocks-D1GWYZdr.js",
    old="le(()=>{v(),oe(()=>{O.reload(",
    new="let fp_first=!0;le(()=>{if(v(),fp_first){fp_first=!1;return}oe(()=>{O.reload(",
)
#: ``AppTree.postprocess`` lists each block's events with ``find_attached_events``, which walks every event's
#: targets for every block (blocks × events, each read through Svelte's reactive proxies). Here the events are
#: indexed by block once per ``postprocess`` (the index is dropped at its start, so a later config is indexed
#: anew), in the same order and with the same rule: for each event, the first of its targets naming the block,
#: if that trigger has a name.
EVENTS_INDEXED_ONCE = AssetFix(
    asset="core-Bdx9080F.js",
    old=("postprocess(e){this.root=this.traverse(e,[e=>je(e,this.#r.api_url),e=>Me(e,this.components_to_register),"
         "e=>Pe(e,this.initial_tabs),e=>this.find_attached_events(e,this.#n),"
         "e=>Ne(e,this.components_to_register,this.#d)])}"
         "find_attached_events(e,t){let n=t.filter(t=>t.targets.find(([t])=>t===e.id)).map(t=>{"
         "let n=t.targets.find(([t])=>t===e.id);return n?n[1]:null}).filter(Boolean);"
         "return e.props.shared_props.attached_events=n,e}"),
    new=("postprocess(e){this.fp_attached=null;this.root=this.traverse(e,[e=>je(e,this.#r.api_url),"
         "e=>Me(e,this.components_to_register),e=>Pe(e,this.initial_tabs),e=>this.find_attached_events(e,this.#n),"
         "e=>Ne(e,this.components_to_register,this.#d)]);this.fp_attached=null}"
         "find_attached_events(e,t){let c=this.fp_attached;if(!c||c.deps!==t){let m=new Map;for(let d of t){"
         "let s=new Set;for(let[i,n]of d.targets){if(s.has(i))continue;s.add(i);if(!n)continue;let a=m.get(i);"
         "a?a.push(n):m.set(i,[n])}}c=this.fp_attached={deps:t,map:m}}let n=(c.map.get(e.id)||[]).slice();"
         "return e.props.shared_props.attached_events=n,e}"),
)
#: ``DependencyManager.set_event_args`` looks the target block up in the tree (``get_state``: a search of the whole
#: tree through Svelte's proxies) before it checks whether the event has any ``event_args`` to set; with none it
#: returns a no-op either way. The manager calls it for every target of every event when it is built (~70 tree
#: searches per load of this app's page) and for each target of each event fired. Here an event with no
#: ``event_args`` returns the same no-op without the search.
NO_EVENT_ARGS_NO_SEARCH = AssetFix(
    asset="Blocks-D1GWYZdr.js",
    old="async set_event_args(e,t){let n={},r=await this.get_state_cb?.(e);",
    new="async set_event_args(e,t){if(t&&Object.keys(t).length===0)return()=>{};let n={},r=await this.get_state_cb?.(e);",
)
FIXES = (TREE_BUILT_ONCE, EVENTS_INDEXED_ONCE, NO_EVENT_ARGS_NO_SEARCH)


@dataclass(frozen=True)
class FixedAsset:
    name: str
    body: bytes
    etag: str
    last_modified: str


def fixed_asset(fixes: AssetFix | tuple[AssetFix, ...], folder: Path = ASSETS) -> FixedAsset | None:
    """The file corrected by ``fixes`` (all of one file), or None (logged) when the installed Gradio's file is
    missing or differs: each fix's text must be in it exactly once, or the file is served as Gradio has it."""
    fixes = fixes if isinstance(fixes, tuple) else (fixes,)
    name = fixes[0].asset
    assert all(fix.asset == name for fix in fixes), "fixes of one file at a time"
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        log.warning("Gradio frontend file %s not found: served as Gradio has it, without the fix", name)
        return None
    if any(text.count(fix.old) != 1 for fix in fixes):
        log.warning("Gradio frontend file %s is not the tested one: served as Gradio has it, without the fix", name)
        return None
    for fix in fixes:
        text = text.replace(fix.old, fix.new)
    body = text.encode("utf-8")
    return FixedAsset(name, body, f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"',
                      email.utils.formatdate(path.stat().st_mtime, usegmt=True))


def frontend_routes(fixes: tuple[AssetFix, ...] = FIXES, folder: Path = ASSETS) -> list[Route]:
    """Routes that serve the corrected files in place of Gradio's (none on an untested Gradio). Install them in
    front of Gradio's own routes (``app_kwargs["routes"]``)."""
    if not fixes_active():
        return []
    by_file: dict[str, tuple[AssetFix, ...]] = {}
    for fix in fixes:
        by_file[fix.asset] = (*by_file.get(fix.asset, ()), fix)
    routes = []
    for file_fixes in by_file.values():
        asset = fixed_asset(file_fixes, folder)
        if asset is not None:
            routes.append(Route(f"/assets/{asset.name}", _serve(asset), methods=["GET"]))
    return routes


def fixed_paths(fixes: tuple[AssetFix, ...] = FIXES) -> frozenset[str]:
    """The paths of the files served corrected (``frontend_routes``): their bytes differ from Gradio's under
    Gradio's name, so browsers must not keep them as immutable (``page_cache.AssetCache``)."""
    return frozenset(f"/assets/{fix.asset}" for fix in fixes)


def _serve(asset: FixedAsset) -> Callable[[Request], Awaitable[Response]]:
    # Validators like Gradio's own static files (browsers cache and revalidate it as they do the others); its own
    # ETag, so a browser never keeps Gradio's file and this one under one tag.
    headers = {"ETag": asset.etag, "Last-Modified": asset.last_modified}

    async def serve(request: Request) -> Response:
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type="application/javascript", headers=headers)

    return serve
