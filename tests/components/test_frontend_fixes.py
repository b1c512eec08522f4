"""Gradio's frontend file the app corrects (``components/frontend_fixes.py``): the exact replacement, served in place
of Gradio's own on the tested Gradio only, with its own validators; Gradio's file as it is otherwise."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette

from components import frontend_fixes
from components.frontend_fixes import (
    ASSETS,
    EVENTS_INDEXED_ONCE,
    FIXES,
    NO_EVENT_ARGS_NO_SEARCH,
    TREE_BUILT_ONCE,
    AssetFix,
    fixed_asset,
    frontend_routes,
)
from tests.app_support import launched_app
from tests.browser_support import launch, needs_chromium

FIX = AssetFix("Blocks-test.js", old="f(),g()", new="f();if(once)return;g()")


def serve(routes) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Starlette(routes=routes)), base_url="http://a.test")


@pytest.mark.parametrize("fix", FIXES, ids=lambda fix: f"{fix.asset}:{fix.new[:24]}")
def test_the_installed_gradio_gets_exactly_the_one_replacement(fix):
    original = (ASSETS / fix.asset).read_text(encoding="utf-8")
    asset = fixed_asset(fix)
    assert asset is not None
    body = asset.body.decode()
    assert body == original.replace(fix.old, fix.new)
    assert body.count(fix.new) == 1 and body.count(fix.old) == (1 if fix.old in fix.new else 0)


def test_a_file_with_several_fixes_gets_all_of_them_or_none(tmp_path, caplog):
    second = AssetFix(FIX.asset, old="h()", new="h(1)")
    (tmp_path / FIX.asset).write_text("f(),g();h()", encoding="utf-8")
    asset = fixed_asset((FIX, second), tmp_path)
    assert asset is not None and asset.body == b"f();if(once)return;g();h(1)"
    routes = frontend_routes((FIX, second), tmp_path)
    assert [route.path for route in routes] == [f"/assets/{FIX.asset}"]  # one route serving both
    (tmp_path / FIX.asset).write_text("f(),g();nothing else", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=frontend_fixes.__name__):
        assert fixed_asset((FIX, second), tmp_path) is None
    assert "not the tested one" in caplog.text


def test_the_tree_effect_still_reads_the_reload_count():
    body = fixed_asset(TREE_BUILT_ONCE).body.decode()  # type: ignore[union-attr]
    # The effect still reads reload_count (``v()``) before it returns, so it runs again when the count changes.
    assert "le(()=>{if(v(),fp_first){fp_first=!1;return}oe(()=>{O.reload(" in body


#: Runs Gradio's ``find_attached_events`` and the indexed one (each taken from its fix, as an object's method) on
#: every node of a layout, and returns the nodes where they differ.
COMPARE_JS = """([oldMethod, newMethod, layout, deps]) => {
  const before = eval(`({${oldMethod}})`), after = eval(`({${newMethod}})`);
  const node = (id) => ({id, props: {shared_props: {}}});
  const nodes = [];
  (function walk(n) { nodes.push(n); (n.children || []).forEach(walk); })(layout);
  const differ = [];
  for (const n of nodes) {
    const a = before.find_attached_events(node(n.id), deps).props.shared_props.attached_events;
    const b = after.find_attached_events(node(n.id), deps).props.shared_props.attached_events;
    if (JSON.stringify(a) !== JSON.stringify(b)) differ.push([n.id, a, b]);
  }
  return [nodes.length, differ];
}"""


def method_of(fix_text: str) -> str:
    return fix_text[fix_text.index("find_attached_events(e,t){"):]


@needs_chromium
def test_events_indexed_once_list_each_blocks_events_as_gradio_does():
    """The indexed ``find_attached_events`` gives every block of the app's page, and of a page with the odd cases
    (a block named twice by one event, a trigger without a name, events of the page itself), the same list in the
    same order as Gradio's."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with launched_app() as app:
        config = httpx.get(f"{app.url.rstrip('/')}/config", timeout=30, trust_env=False).json()
    odd_layout = {"id": 0, "children": [{"id": 1}, {"id": 2, "children": [{"id": 3}]}]}
    odd_deps = [{"targets": [[1, "click"], [1, "change"], [2, "click"]]}, {"targets": [[3, None], [3, "submit"]]},
                {"targets": [[None, "then"]]}, {"targets": [[0, "load"], [1, "click"]]}, {"targets": []}]
    old, new = method_of(EVENTS_INDEXED_ONCE.old), method_of(EVENTS_INDEXED_ONCE.new)
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            count, differ = page.evaluate(COMPARE_JS, [old, new, config["layout"], config["dependencies"]])
            assert count > 500 and differ == []
            count, differ = page.evaluate(COMPARE_JS, [old, new, odd_layout, odd_deps])
            assert count == 4 and differ == []
            # and the test can tell: an index that ignored the first-target rule would differ
            wrong = new.replace("if(s.has(i))continue;", "")
            _, differ = page.evaluate(COMPARE_JS, [old, wrong, odd_layout, odd_deps])
            assert differ
        finally:
            browser.close()


@pytest.mark.parametrize("text", ["nothing of the kind", "f(),g() and f(),g()"])
def test_a_file_that_is_not_the_tested_one_is_left_as_gradio_has_it(tmp_path, caplog, text):
    (tmp_path / FIX.asset).write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=frontend_fixes.__name__):
        assert fixed_asset(FIX, tmp_path) is None
        assert frontend_routes((FIX,), tmp_path) == []
    assert "not the tested one" in caplog.text


def test_a_missing_file_is_left_to_gradio(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger=frontend_fixes.__name__):
        assert frontend_routes((FIX,), tmp_path) == []
    assert "not found" in caplog.text


def test_an_untested_gradio_gets_no_routes(tmp_path, monkeypatch):
    (tmp_path / FIX.asset).write_text("a f(),g() b", encoding="utf-8")
    monkeypatch.setattr(frontend_fixes, "fixes_active", lambda: False)
    assert frontend_routes((FIX,), tmp_path) == []
    assert frontend_routes() == []


@pytest.mark.asyncio
async def test_the_route_serves_the_corrected_file_with_its_own_validators(tmp_path):
    (tmp_path / FIX.asset).write_text("a f(),g() b", encoding="utf-8")
    async with serve(frontend_routes((FIX,), tmp_path)) as client:
        answer = await client.get(f"/assets/{FIX.asset}")
        assert answer.status_code == 200
        assert answer.text == "a f();if(once)return;g() b"
        assert answer.headers["content-type"].startswith("application/javascript")
        etag = answer.headers["etag"]
        assert etag.startswith('"') and answer.headers["last-modified"].endswith("GMT")
        again = await client.get(f"/assets/{FIX.asset}", headers={"if-none-match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
        other = await client.get(f"/assets/{FIX.asset}", headers={"if-none-match": '"something else"'})
        assert other.status_code == 200 and other.text == answer.text
        assert (await client.get("/assets/other.js")).status_code == 404  # only the corrected file


def test_the_app_serves_the_corrected_file_and_gradio_the_others():
    """Gradio's own files are sent immutable (content-hashed names); the corrected ones, whose bytes under Gradio's
    name change with the correction, are revalidated."""
    with launched_app() as app:
        for fix in FIXES:
            served = httpx.get(f"{app.url.rstrip('/')}/assets/{fix.asset}", timeout=30, trust_env=False)
            assert served.status_code == 200
            assert served.text.count(fix.new) == 1 and (fix.old in fix.new or fix.old not in served.text)
            assert "cache-control" not in served.headers and served.headers["etag"]
        other = next(p for p in ASSETS.glob("Index-*.js"))
        for _ in range(2):  # from disk, then from memory
            served = httpx.get(f"{app.url.rstrip('/')}/assets/{other.name}", timeout=30, trust_env=False)
            assert served.status_code == 200 and served.content == other.read_bytes()
            assert served.headers["cache-control"] == "public, max-age=31536000, immutable"


#: Calls Gradio's ``set_event_args`` and the corrected one (as methods of a stand-in manager whose state callbacks
#: record their calls) for each case, and returns what each did: its searches, its updates, and what the returned
#: undo function then updated.
SET_EVENT_ARGS_JS = """async ([oldMethod, newMethod, cases]) => {
  const run = async (method, [target, args, known]) => {
    const calls = [];
    const manager = eval(`({${method}})`);
    manager.get_state_cb = async (id) => { calls.push(["search", id]); return known ? {value: 1, a: "before"} : null; };
    manager.update_state_cb = async (id, props) => { calls.push(["update", id, props]); };
    let undo;
    try { undo = await manager.set_event_args(target, args); } catch (error) { return ["throws", String(error)]; }
    calls.push("undo"); await undo();
    return calls;
  };
  const out = [];
  for (const c of cases) out.push([await run(oldMethod, c), await run(newMethod, c)]);
  return out;
}"""


@needs_chromium
def test_an_event_without_event_args_skips_the_search_and_does_the_same():
    sync_api = pytest.importorskip("playwright.sync_api")
    source = (ASSETS / NO_EVENT_ARGS_NO_SEARCH.asset).read_text(encoding="utf-8")
    start = source.index("async set_event_args(e,t){")
    old = source[start:source.index("async cancel(e){", start)]
    new = old.replace(NO_EVENT_ARGS_NO_SEARCH.old, NO_EVENT_ARGS_NO_SEARCH.new)
    assert new != old
    cases = [[7, {}, True], [7, {}, False], [7, {"a": "x"}, True], [7, {"a": "x"}, False], [7, None, True],
             [7, None, False]]
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            results = browser.new_page().evaluate(SET_EVENT_ARGS_JS, [old, new, cases])
        finally:
            browser.close()
    for (target, args, known), (before, after) in zip(cases, results, strict=True):
        if args == {}:  # no event_args: the same no-op, without the search
            assert before == [["search", target], "undo"] and after == ["undo"]
        else:
            assert after == before, (args, known)
    assert results[2][0] == [["search", 7], ["update", 7, {"a": "x"}], "undo", ["update", 7, {"a": "before"}]]
