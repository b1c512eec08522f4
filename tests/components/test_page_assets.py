"""Gradio's frontend files from memory (AssetCache)."""

from __future__ import annotations

import httpx
import pytest
from gradio.brotli_middleware import BrotliMiddleware
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from components.page_cache import AssetCache, PageCache

SMALL = "s" * 1000  # under the gzip middleware's minimum: Gradio's Brotli middleware (further out) compresses it
LARGE = "x" * 20000


def counting_app() -> tuple[Starlette, list[str]]:
    served: list[str] = []

    async def asset(request: Request) -> Response:
        served.append(request.url.path)
        name = request.path_params["name"]
        if name.startswith("missing"):
            return PlainTextResponse("no", status_code=404)
        body = {"small.js": SMALL, "large.js": LARGE}.get(name, f"js {name}")
        return PlainTextResponse(body, headers={"etag": f'"{name}"'})

    async def cookie(request: Request) -> Response:
        served.append(request.url.path)
        response = PlainTextResponse(LARGE)
        response.set_cookie("token", "x")
        return response

    async def api(request: Request) -> Response:
        served.append(request.url.path)
        return PlainTextResponse("answer")

    app = Starlette(routes=[Route("/assets/cookie.js", cookie), Route("/assets/{name}", asset),
                            Route("/static/{name}", asset), Route("/gradio_api/queue/status", api)])
    return app, served


def stack(app: Starlette, **options: int):
    """As app.py and Gradio stack them: Gradio's Brotli middleware outside, the caches, then gzip."""
    return BrotliMiddleware(PageCache(AssetCache(GZipMiddleware(app, minimum_size=4096, compresslevel=4), **options)),
                            quality=4)


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding", ["gzip, deflate, br, zstd", "gzip", "br", "identity"])
async def test_an_asset_is_served_once_and_sent_again_unchanged(encoding):
    app, served = counting_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stack(app)), base_url="http://a.test") as client:
        answers = [await client.get(path, headers={"accept-encoding": encoding})
                   for path in ("/assets/small.js", "/assets/large.js", "/static/small.js") for _ in range(3)]
    assert served == ["/assets/small.js", "/assets/large.js", "/static/small.js"]
    for index in range(0, 9, 3):
        first, *again = answers[index:index + 3]
        for answer in again:
            assert answer.status_code == 200
            assert answer.content == first.content  # decoded by httpx
            assert answer.headers.get("content-encoding") == first.headers.get("content-encoding")
            assert answer.headers["etag"] == first.headers["etag"]
    assert answers[0].text == SMALL and answers[3].text == LARGE


@pytest.mark.asyncio
async def test_each_encoding_is_kept_apart():
    app, served = counting_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stack(app)), base_url="http://a.test") as client:
        plain = await client.get("/assets/large.js", headers={"accept-encoding": "identity"})
        zipped = await client.get("/assets/large.js", headers={"accept-encoding": "gzip"})
        plain_again = await client.get("/assets/large.js", headers={"accept-encoding": "identity"})
    assert plain.headers.get("content-encoding") is None and plain_again.headers.get("content-encoding") is None
    assert zipped.headers["content-encoding"] == "gzip"
    assert plain.text == zipped.text == plain_again.text == LARGE
    assert len(served) == 2


@pytest.mark.asyncio
async def test_conditional_range_and_other_requests_go_through():
    app, served = counting_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stack(app)), base_url="http://a.test") as client:
        for headers in ({"if-none-match": '"large.js"'}, {"if-modified-since": "Thu, 03 Dec 2026 23:27:23 GMT"},
                        {"range": "bytes=0-9"}):
            await client.get("/assets/large.js", headers=headers)
            await client.get("/assets/large.js", headers=headers)
        for _ in range(2):
            await client.get("/gradio_api/queue/status")
            await client.get("/assets/missing.js")
            await client.get("/assets/cookie.js")
            await client.head("/assets/large.js")
    assert served.count("/assets/large.js") == 8
    assert served.count("/gradio_api/queue/status") == served.count("/assets/missing.js") == 2
    assert served.count("/assets/cookie.js") == 2


@pytest.mark.asyncio
async def test_the_kept_bytes_are_bounded():
    app, served = counting_app()
    cache_app = stack(app, max_bytes=len(LARGE) + 10, max_entry_bytes=25000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cache_app), base_url="http://a.test") as client:
        headers = {"accept-encoding": "identity"}
        for name in ("large.js", "a.js", "b.js", "a.js", "b.js", "large.js"):
            await client.get(f"/assets/{name}", headers=headers)
    # b.js took the kept bytes over the bound: the least recently sent (large.js) went; a.js and b.js stayed
    assert served == ["/assets/large.js", "/assets/a.js", "/assets/b.js", "/assets/large.js"]
    app2, served2 = counting_app()
    small_limit = stack(app2, max_entry_bytes=100)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small_limit), base_url="http://a.test") as client:
        first = await client.get("/assets/large.js", headers={"accept-encoding": "identity"})
        again = await client.get("/assets/large.js", headers={"accept-encoding": "identity"})
    assert first.text == again.text == LARGE and len(served2) == 2  # too large to keep: served each time


@pytest.mark.asyncio
async def test_a_request_repeating_accept_encoding_never_leaves_a_compressed_file_for_one_that_accepts_none():
    app, served = counting_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stack(app)), base_url="http://a.test") as client:
        repeated = httpx.Headers([("accept-encoding", "gzip"), ("accept-encoding", "identity")])
        await client.get("/assets/large.js", headers=repeated)
        plain = await client.get("/assets/large.js", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == LARGE
    assert served == ["/assets/large.js"] * 2  # kept apart: the first was kept as the gzip it was sent as


@pytest.mark.asyncio
async def test_the_content_hashed_files_are_immutable_but_the_corrected_and_unhashed_ones_are_revalidated():
    app, served = counting_app()
    corrected = "/assets/Blocks-D1GWYZdr.js"
    wrapped = BrotliMiddleware(PageCache(AssetCache(GZipMiddleware(app, minimum_size=4096), revalidated={corrected})))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://a.test") as client:
        for _ in range(2):  # made, then sent from memory: the same headers
            hashed = await client.get("/assets/Index-reaEz31n.js")
            assert hashed.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert hashed.headers["etag"] == '"Index-reaEz31n.js"'
            for path in (corrected, "/assets/large.js", "/static/Index-reaEz31n.js"):
                response = await client.get(path)
                assert response.status_code == 200 and "cache-control" not in response.headers, path
        revalidated = await client.get("/assets/Index-reaEz31n.js", headers={"if-none-match": '"x"'})
        assert revalidated.headers["cache-control"] == "public, max-age=31536000, immutable"
        missing = await client.get("/assets/missing-ABCDEFGH.js")
        assert missing.status_code == 404 and "cache-control" not in missing.headers
    assert served.count("/assets/Index-reaEz31n.js") == 2  # once kept, once conditional
