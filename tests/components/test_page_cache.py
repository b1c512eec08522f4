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

    app = Starlette(routes=[Route("/", page), Route("/config", page), Route("/gradio_api/info", page),
                            Route("/assets/{name}", asset), Route("/login", login)])
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


@pytest.mark.asyncio
async def test_the_config_and_the_api_description_are_made_once_per_root_url_and_query():
    app, served = counting_app()
    transport = httpx.ASGITransport(app=PageCache(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as client:
        config = [(await client.get("/config")).text for _ in range(2)]
        info = [(await client.get("/gradio_api/info")).text for _ in range(2)]
        deep_link = await client.get("/config?deep_link=abc")
        other_host = await client.get("/config", headers={"host": "b.test"})
        signed_in = [(await client.get("/config", headers={"cookie": "access-token=secret"})).text for _ in range(2)]
        authorized = [(await client.get("/gradio_api/info", headers={"authorization": "Bearer x"})).text
                      for _ in range(2)]
        page = await client.get("/")
    assert config == ["page 1 for a.test"] * 2  # the second came from memory
    assert info == ["page 2 for a.test"] * 2  # kept apart from the config: the path is part of the key
    assert deep_link.text == "page 3 for a.test"
    assert other_host.text == "page 4 for b.test"
    assert signed_in == ["page 5 for a.test", "page 6 for a.test"]  # a signed-in request is never shared
    assert authorized == ["page 7 for a.test", "page 8 for a.test"]  # nor is one with credentials
    assert page.text == "page 9 for a.test"
    assert served == ["/config", "/gradio_api/info", "/config", "/config", "/config", "/config",
                      "/gradio_api/info", "/gradio_api/info", "/"]


@pytest.mark.asyncio
async def test_what_is_kept_is_bounded_in_bytes_whatever_the_root_urls_asked_for():
    async def big(request):
        return PlainTextResponse("x" * 1000)

    cache = PageCache(Starlette(routes=[Route("/config", big)]), max_bytes=3500)
    transport = httpx.ASGITransport(app=cache)
    async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as client:
        for n in range(10):  # a visitor making up host names
            assert (await client.get("/config", headers={"host": f"h{n}.test"})).text == "x" * 1000
    assert cache.bytes <= 3500 and len(cache.responses) == 3


@pytest.mark.asyncio
async def test_a_request_naming_another_root_url_never_serves_its_page_to_the_next_visitor():
    async def page(request):
        # As Gradio 6.31 finds the root URL (route_utils.get_request_origin): the first X-Forwarded-Host, else
        # X-Gradio-Server, else the request's own URL.
        forwarded = request.headers.getlist("x-forwarded-host")
        root = forwarded[0] if forwarded else request.headers.get("x-gradio-server") or request.headers["host"]
        return PlainTextResponse(f"root {root}")

    transport = httpx.ASGITransport(app=PageCache(Starlette(routes=[Route("/", page), Route("/config", page)])))
    async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as client:
        for path in ("/", "/config"):
            assert (await client.get(path, headers={"x-gradio-server": "https://evil.test"})).text == "root https://evil.test"
            repeated = httpx.Headers([("x-forwarded-host", "evil.test"), ("x-forwarded-host", "a.test")])
            assert (await client.get(path, headers=repeated)).text == "root evil.test"
            assert (await client.get(path, headers={"x-forwarded-host": "a.test"})).text == "root a.test"
            assert (await client.get(path)).text == "root a.test"
