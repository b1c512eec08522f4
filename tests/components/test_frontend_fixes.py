"""Gradio's frontend file the app corrects (``components/frontend_fixes.py``): the exact replacement, served in place
of Gradio's own on the tested Gradio only, with its own validators; Gradio's file as it is otherwise."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette

from components import frontend_fixes
from components.frontend_fixes import ASSETS, FIXES, TREE_BUILT_ONCE, AssetFix, fixed_asset, frontend_routes
from tests.app_support import launched_app

FIX = AssetFix("Blocks-test.js", old="f(),g()", new="f();if(once)return;g()")


def serve(routes) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Starlette(routes=routes)), base_url="http://a.test")


def test_the_installed_gradio_gets_exactly_the_one_replacement():
    original = (ASSETS / TREE_BUILT_ONCE.asset).read_text(encoding="utf-8")
    asset = fixed_asset(TREE_BUILT_ONCE)
    assert asset is not None
    body = asset.body.decode()
    assert body == original.replace(TREE_BUILT_ONCE.old, TREE_BUILT_ONCE.new)
    assert body.count(TREE_BUILT_ONCE.new) == 1 and TREE_BUILT_ONCE.old not in body
    # The effect still reads reload_count (``v()``) before it returns, so it runs again when the count changes.
    assert "le(()=>{if(v(),fp_first){fp_first=!1;return}oe(()=>{O.reload(" in body


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
    with launched_app() as app:
        for fix in FIXES:
            served = httpx.get(f"{app.url.rstrip('/')}/assets/{fix.asset}", timeout=30, trust_env=False)
            assert served.status_code == 200
            assert fix.new in served.text and fix.old not in served.text
        other = next(p for p in ASSETS.glob("Index-*.js"))
        served = httpx.get(f"{app.url.rstrip('/')}/assets/{other.name}", timeout=30, trust_env=False)
        assert served.status_code == 200 and served.content == other.read_bytes()
