"""The sandbox never fetches a URL a visitor types: no SSRF, and no way to tell an open port from a closed one.

A tiny loopback server counts every connection; URLs naming it (in many spellings) go into every image and URL
field of every endpoint. The count stays 0, and the answers are byte-identical before and after it closes.
"""

from __future__ import annotations

import asyncio
import re
import types
import typing
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from endpoints import ENDPOINTS, get_endpoint
from sandbox.addresses import classify_host, is_loopback_host, parse_ip_host
from tests.sandbox.support import DEPTH, I2I, KEY, png_bytes, submit, wait_done

RF = "fal-ai/flux-general/rf-inversion"
SEGMIND_KEY = {"x-api-key": "k"}


class CountingServer:
    """Accepts TCP connections on loopback, counts them, and answers any request with a PNG."""

    def __init__(self) -> None:
        self.hits = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.hits += 1
        body = png_bytes((10, 200, 10))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def counting() -> AsyncIterator[CountingServer]:
    server = CountingServer()
    await server.start()
    yield server
    if server._server is not None and server._server.is_serving():
        await server.close()


def spellings(port: int) -> list[str]:
    """The counting server's address written many ways, plus private and link-local addresses."""
    return [
        f"http://127.0.0.1:{port}/a.png",
        f"http://localhost:{port}/b.png",
        f"http://2130706433:{port}/c.png",
        f"http://0x7f.1:{port}/d.png",
        f"http://[::ffff:127.0.0.1]:{port}/e.png",
        f"http://127.1:{port}/f.png",
        f"http://0177.0.0.1:{port}/g.png",
        f"https://127.0.0.1:{port}/h.png",
        f"http://LOCALHOST.:{port}/i.png",
        f"http://user@127.0.0.1:{port}/j.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/k.png",
        "http://192.168.0.1/l.png",
        "http://[fe80::1]/m.png",
        f"http://[::1]:{port}/n.png",
    ]


def bodies(port: int) -> dict[str, dict[str, Any]]:
    """One request per endpoint with a URL in every URL field, cycling through ``spellings``."""
    urls = iter(spellings(port) * 4)
    u = lambda: next(urls)
    return {
        DEPTH: {**get_endpoint(DEPTH).example, "control_image_url": u(), "seed": 1, "num_inference_steps": 2},
        I2I: {"prompt": "p", "image_url": u(), "seed": 1, "num_inference_steps": 10},
        RF: {
            "prompt": "p",
            "seed": 1,
            "num_inference_steps": 2,
            "image_url": u(),
            "reference_image_url": u(),
            "loras": [{"path": u(), "scale": 0.7}],
            "control_loras": [{"path": u(), "control_image_url": u(), "preprocess": "canny"}],
            "controlnets": [{"path": u(), "config_url": u(), "control_image_url": u(), "mask_image_url": u()}],
            "controlnet_unions": [
                {
                    "path": u(),
                    "config_url": u(),
                    "controls": [{"control_image_url": u(), "mask_image_url": u(), "control_mode": "depth"}],
                }
            ],
            "easycontrols": [{"control_method_url": u(), "image_url": u(), "image_control_type": "spatial"}],
            "fill_image": {"fill_image_url": [u(), u()]},
        },
        "flux-depth-pro": {"prompt": "p", "control_image": u(), "steps": 15, "seed": 1},
    }


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def _takes_text(annotation: Any) -> bool:
    return annotation is str or any(_takes_text(arg) for arg in typing.get_args(annotation))


def url_fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Paths of every field that may hold a URL (by name or the ``image`` UI hint), nested lists as ``[]``."""
    found: set[str] = set()
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        hinted = "image" in (extra.get("x-ui") or [])
        if _takes_text(info.annotation) and (hinted or re.search(r"(url|path|image)$", name)):
            found.add(path)
        is_list = typing.get_origin(info.annotation) is list or any(
            typing.get_origin(arg) is list for arg in typing.get_args(info.annotation)
        )
        for nested in _models(info.annotation):
            found |= url_fields(nested, f"{path}[]." if is_list else f"{path}.")
    return found


def urls_in(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in urls_in(v, f"{prefix}{k}.")}
    if isinstance(value, list):
        return {p for item in value for p in urls_in(item, f"{prefix[:-1]}[]." if isinstance(item, dict) else prefix)}
    return {prefix[:-1]} if isinstance(value, str) and value.startswith("http") else set()


def test_the_bodies_cover_every_url_field_of_every_endpoint():
    requests = bodies(1)
    for spec in ENDPOINTS:
        fields = url_fields(spec.input_model)
        if not fields:
            assert spec.id not in requests
            continue
        assert urls_in(requests[spec.id]) == fields, spec.id
        spec.input_model.model_validate(requests[spec.id])


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.1", "127.0.0.1.", "%31%32%37.0.0.1",
        "\uff11\uff12\uff17.0.0.1", "localhost", "LocalHost.", "a.b.localhost", "[::1]", "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]", "[::127.0.0.1]", "[2002:7f00:1::]", "[64:ff9b::a9fe:a9fe]", "10.0.0.1", "172.16.0.1",
        "192.168.1.1", "100.64.0.1", "169.254.169.254", "[fe80::1%25eth0]", "[fc00::1]", "[fec0::1]", "224.0.0.1",
        "[ff02::1]", "0.0.0.0", "0", "[::]", "240.0.0.1", "255.255.255.255", "metadata.google.internal",
        "printer.local", "intranet", "256.1.1.1", "1.2.3.4.5", "",
    ],
)  # fmt: skip
def test_forbidden_hosts(host):
    assert classify_host(host).forbidden


@pytest.mark.parametrize("host", ["example.com", "fal.media", "8.8.8.8", "[2001:4860:4860::8888]", "[2002:808:808::]"])
def test_public_hosts(host):
    verdict = classify_host(host)
    assert not verdict.forbidden and verdict.reason.startswith("public")


def test_ip_spellings_and_loopback_check():
    assert str(parse_ip_host("0x7f.1")) == str(parse_ip_host("2130706433")) == "127.0.0.1"
    assert str(parse_ip_host("0300.0250.1")) == "192.168.0.1"
    assert parse_ip_host("example.com") is None
    assert is_loopback_host("127.0.0.1") and is_loopback_host("[::1]") and is_loopback_host("localhost")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("10.0.0.1") and not is_loopback_host(None)


async def _fal_answer(client, sbx, endpoint: str, body: dict[str, Any]) -> tuple[list[bytes], list[str]]:
    submitted = await submit(client, sbx, endpoint, body)
    done = await wait_done(client, submitted["status_url"], logs=True, timeout=20)
    assert "error" not in done, done
    output = (await client.get(submitted["response_url"], headers=KEY)).json()
    images = [(await client.get(image["url"])).content for image in output["images"]]
    return images, [line["message"] for line in done["logs"]]


async def _answers(client, sbx, port: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for endpoint, body in bodies(port).items():
        if endpoint == "flux-depth-pro":
            response = await client.post(f"{sbx.segmind_api_url}/v1/{endpoint}", json=body, headers=SEGMIND_KEY)
            assert response.status_code == 200, response.text
            out[endpoint] = (response.status_code, response.content, response.headers.get("x-sandbox-note"))
        else:
            out[endpoint] = await _fal_answer(client, sbx, endpoint, body)
    return out


@pytest.mark.timeout(120)
async def test_no_connection_and_same_answer_for_open_and_closed_ports(sbx, client, counting):
    with_listener = await _answers(client, sbx, counting.port)
    await counting.close()
    without_listener = await _answers(client, sbx, counting.port)
    assert counting.hits == 0
    assert with_listener == without_listener
    _, logs = with_listener[I2I]
    assert any(f"Not fetching {spellings(counting.port)[1]}" in line for line in logs)
    assert "Not fetching" in with_listener["flux-depth-pro"][2]


@pytest.mark.parametrize("index", range(len(spellings(0))))
async def test_each_spelling_is_refused_with_a_note(sbx, client, counting, index):
    url = spellings(counting.port)[index]
    body = {"prompt": "p", "image_url": url, "seed": 3, "num_inference_steps": 10}
    _, logs = await _fal_answer(client, sbx, I2I, body)
    assert counting.hits == 0
    assert any(line.startswith(f"Not fetching {url}") and "could not reach" in line for line in logs), logs


async def test_public_urls_are_placeholders_too_and_other_schemes_fail(sbx, client):
    _, logs = await _fal_answer(client, sbx, I2I, {"prompt": "p", "image_url": "https://example.com/x.png"})
    assert any("no network" in line for line in logs)
    for ref in ("file:///etc/passwd", "ftp://127.0.0.1/x.png", "gopher://127.0.0.1:70/"):
        submitted = await submit(client, sbx, I2I, {"prompt": "p", "image_url": ref})
        await wait_done(client, submitted["status_url"])
        result = await client.get(submitted["response_url"], headers=KEY)
        assert result.status_code == 422 and result.json()["detail"][0]["loc"] == ["body", "image_url"]


def test_nothing_in_the_sandbox_can_open_a_connection():
    """No HTTP client is imported by the sandbox package: reading an image can only come from memory."""
    import importlib
    import pkgutil

    import sandbox

    for module_info in pkgutil.iter_modules(sandbox.__path__):
        module = importlib.import_module(f"sandbox.{module_info.name}")
        imported = {value.__name__ for value in vars(module).values() if isinstance(value, types.ModuleType)}
        assert not imported & {"httpx", "urllib.request", "http.client", "requests", "aiohttp", "socket"} or (
            module_info.name in {"embedded", "__main__"}  # they bind the listening socket
        ), module_info.name
