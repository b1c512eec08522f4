"""A provider the app has never heard of, added the way the README says: one provider module (this one), one
``ProviderSpec`` (``register_provider``), and an endpoint that names it. ``tests/test_one_provider.py`` runs
``main()`` in a fresh interpreter (registration happens before the settings and the app are imported) against a
stub of the provider's API on 127.0.0.1, and reads what it prints.

The "Echo Images" wire protocol: ``POST {ECHO_API_URL}/v1/<endpoint>`` with ``x-echo-key`` and the JSON input;
the answer is ``{"image": <base64 PNG>, "seed": N}``.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import threading
from collections.abc import AsyncGenerator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
from PIL import Image
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from endpoints.base import EndpointSpec, WireModel
from providers.base import (
    REDACTED,
    Completed,
    Credentials,
    LogLine,
    PreparedRequest,
    Queued,
    Result,
    ResultImage,
    Running,
)
from providers.catalog import BuildContext, ProviderSpec, UrlSetting
from providers.errors import from_response, missing_key
from providers.single_url import SingleUrlProvider

SPEC = ProviderSpec(
    name="echo",
    title="Echo Images",
    key_env="ECHO_API_KEY",
    key_placeholder="echo-…",
    urls=(UrlSetting("ECHO_API_URL", "https://api.echo.test", "/echo"),),
    builder="tests.throwaway_provider:build",
    sandbox="tests.throwaway_provider:mounts",
    protocol="echo-v1",
    can_cancel=False,
    result_urls="inline",
    billing="bills each image (test provider)",
)


class EchoJob:
    def __init__(self, provider: EchoProvider, prepared: PreparedRequest) -> None:
        self.provider, self.prepared = provider, prepared
        self.request_id: str | None = None

    async def events(self) -> AsyncGenerator[Any, None]:
        yield Queued(position=None)
        yield Running(logs=(LogLine("echo: drawing"),))
        response = await self.provider.client.post(self.prepared.url, json=self.prepared.body,
                                                    headers=self.prepared.send_headers())
        if response.status_code != 200:
            raise from_response(response, provider=self.provider.name, endpoint_id=self.prepared.endpoint_id)
        answer = response.json()
        data = base64.b64decode(answer["image"])
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
        self.request_id = answer["id"]
        yield Completed(Result(
            endpoint_id=self.prepared.endpoint_id, request_id=answer["id"],
            images=[ResultImage(url="", width=width, height=height, content_type="image/png", inline=data)],
            seed=answer["seed"], has_nsfw_concepts=None, prompt=self.prepared.body.get("prompt"), timings={}))

    async def cancel(self) -> None:
        return None


class EchoProvider(SingleUrlProvider):
    name = "echo"
    pricing_url: str | None = None

    async def prepare(self, endpoint: EndpointSpec, payload: WireModel,
                      credentials: Credentials | None) -> PreparedRequest:
        creds = credentials or self.credentials
        if not creds:
            raise missing_key(self.name)
        return PreparedRequest(provider=self.name, endpoint_id=endpoint.id, method="POST",
                               url=f"{self.api_url}/v1/{endpoint.id}", headers={"x-echo-key": REDACTED},
                               body_kind="json", body=payload.to_wire(), secret_headers={"x-echo-key": creds.key})

    async def send(self, prepared: PreparedRequest) -> EchoJob:
        return EchoJob(self, prepared)


def build(ctx: BuildContext) -> EchoProvider:
    return EchoProvider.from_context(ctx, "ECHO_API_URL")


def _answer(body: dict[str, Any], number: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, "PNG")
    return json.dumps({"id": f"echo-{number}", "seed": body.get("seed") or 7,
                       "image": base64.b64encode(buffer.getvalue()).decode()}).encode()


SANDBOX_SEEN: list[dict[str, Any]] = []


def mounts(state: Any) -> list[BaseRoute]:
    """The sandbox's side of the Echo API (``ProviderSpec.sandbox``), mounted at its URL's sandbox path."""

    async def generate(request: Request) -> Response:
        body = await request.json()
        SANDBOX_SEEN.append({"path": request.url.path, "key": request.headers.get("x-echo-key"), "body": body})
        return Response(_answer(body, len(SANDBOX_SEEN), (200, 60, 20)), media_type="application/json")

    return [Mount("/echo", routes=[Route("/v1/{endpoint_id:path}", generate, methods=["POST"])])]


class StubApi(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        StubApi.seen.append({"path": self.path, "key": self.headers.get("x-echo-key"), "body": body})
        answer = _answer(body, len(StubApi.seen), (20, 120, 200))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    from endpoints import get_endpoint, register
    from providers.catalog import register_provider

    register_provider(SPEC)
    echo = dataclasses.replace(get_endpoint("flux_pro"), id="echo-flux", api_name="echo_flux", provider="echo",
                               title="FLUX via Echo (test provider)", tab_label="Echo")
    register(echo)
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from tests.app_support import app_client, launched_app

    with launched_app() as app:  # no key: the embedded sandbox serves the Echo API too
        sandboxed = app_client(app.url).predict(prompt="on the sandbox", seed=9, api_name="/echo_flux")[3]
    env = {"ECHO_API_KEY": "echo-SECRET-123", "ECHO_API_URL": f"http://127.0.0.1:{server.server_address[1]}"}
    with launched_app(env=env) as app:
        client = app_client(app.url)
        result = client.predict(prompt="a lighthouse, echoed", seed=5, api_name="/echo_flux")[3]
        page = httpx.get(app.url, timeout=10).text
    server.shutdown()
    print(json.dumps({"result": result, "seen": StubApi.seen, "sandboxed": sandboxed, "sandbox_seen": SANDBOX_SEEN, "page_names_it": "Echo Images" in page,
                      "page_names_its_key": "ECHO_API_KEY" in page, "key_in_page": "echo-SECRET-123" in page}))


if __name__ == "__main__":  # python -m tests.throwaway_provider
    main()
