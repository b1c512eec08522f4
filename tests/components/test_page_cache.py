"""The page from memory (PageCache)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from components.page_cache import PageCache


def counting_app() -> tuple[Starlette, list[str]]:
    served: list[str] = []

    async def page(request):
        served.append(request.url.path)
        return PlainTextResponse(f"page {len(served)} for {request.headers.get('host')}")

    async def asset(request):
        served.append(request.url.path)
        return PlainTextResponse("js")

    async def login(request):
        served.append(request.url.path)
        response = PlainTextResponse("hi")
        response.set_cookie("token", "x")
        return response

    app = Starlette(routes=[Route("/", page), Route("/assets/{name}", asset), Route("/login", login)])
    return app, served


@pytest.mark.asyncio
async def test_the_page_is_rendered_once_per_root_url_and_query():
    app, served = counting_app()
    transport = httpx.ASGITransport(app=PageCache(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as client:
        first = await client.get("/")
        again = await client.get("/")
        other_host = await client.get("/", headers={"host": "b.test"})
        with_query = await client.get("/?endpoint=flux_pro")
        await client.get("/login")
        await client.get("/login")
    assert first.text == again.text == "page 1 for a.test"
    assert other_host.text == "page 2 for b.test"  # another root URL is rendered for itself
    assert with_query.text == "page 3 for a.test"
    assert served == ["/", "/", "/", "/login", "/login"]  # other paths always go through
