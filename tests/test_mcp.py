"""The MCP server (``PLAYGROUND_MCP=1``) with the official ``mcp`` client against a launched app on the sandbox."""

from __future__ import annotations

import ast
import asyncio
import json

import pytest

from endpoints import DIRECT_ENDPOINTS, ENDPOINTS, catalog_endpoints
from sandbox import SandboxOptions
from tests.app_support import launched_app

mcp = pytest.importorskip("mcp", reason="the mcp package (gradio[mcp]) is not installed")
from mcp.client.streamable_http import streamablehttp_client

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def app():
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env={"PLAYGROUND_MCP": "1"}) as launched:
        yield launched


async def session_call(url: str, fn, headers: dict[str, str] | None = None):
    async with (
        streamablehttp_client(f"{url.rstrip('/')}/gradio_api/mcp/", headers=headers) as (read, write, _),
        mcp.ClientSession(read, write) as session,
    ):
        await session.initialize()
        return await fn(session)


def test_one_tool_per_endpoint_with_real_types_enums_bounds_and_descriptions(app):
    tools = asyncio.run(session_call(app.url, lambda s: s.list_tools())).tools
    by_name = {tool.name: tool for tool in tools}
    expected = {spec.api_name for spec in ENDPOINTS} | {f"{spec.api_name}_sweep" for spec in ENDPOINTS}
    # Every catalog and Black Forest Labs model: its API-only endpoints are its tools (components/models_tab.py),
    # the run and the sweep (``x_field="provider"`` compares hosts).
    expected |= {name for spec in (*catalog_endpoints(), *DIRECT_ENDPOINTS)
                 for name in (spec.api_name, f"{spec.api_name}_sweep")}
    assert set(by_name) == expected, sorted(by_name)
    model = by_name["flux_2_pro"].inputSchema
    assert model["properties"]["prompt"]["type"] == "string" and "prompt" in model.get("required", ["prompt"])
    assert "seed" in model["properties"]
    schema = by_name["flux_pro"].inputSchema["properties"]
    steps = schema["num_inference_steps"]
    assert steps["type"] == "integer" and steps["minimum"] == 1 and steps["maximum"] == 50
    assert set(schema["safety_tolerance"]["enum"]) == {"1", "2", "3", "4", "5", "6"}
    assert "same seed" in schema["seed"]["description"].lower()
    assert schema["guidance_scale"]["type"] == "number"
    assert not any("key" in name for name in by_name)


def test_calling_a_tool_runs_it_and_returns_json_and_images(app):
    async def call(session):
        return await session.call_tool("flux_pro", {"prompt": "a red cube", "seed": 99, "num_inference_steps": 2})

    result = asyncio.run(session_call(app.url, call))
    assert not result.isError, result.content
    texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    payload = next(json.loads(t) for t in texts if t.strip().startswith("{") and "endpoint_id" in t)
    assert payload["seed"] == 99 and payload["state"] == "done" and payload["images"][0]["url"].startswith("http")
    kinds = [getattr(c, "type", "") for c in result.content]
    assert kinds.count("image") == 1


def test_a_catalog_model_tool_runs_it(app):
    async def call(session):
        return await session.call_tool("flux_schnell", {"prompt": "a red cube", "seed": 5})

    result = asyncio.run(session_call(app.url, call))
    assert not result.isError, result.content
    texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    text = next(t for t in texts if t.strip().startswith("{"))
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:  # Gradio's MCP bridge gives a dict output as its Python text
        payload = ast.literal_eval(text)
    assert payload["seed"] == 5 and payload["state"] == "done" and payload["images"][0]["url"].startswith("http")


def test_budgets_apply_to_mcp_calls(tmp_path):
    env = {"PLAYGROUND_MCP": "1", "FAL_KEY": "server-id:server-secret", "PLAYGROUND_DATA_DIR": str(tmp_path),
           "PLAYGROUND_VISITOR_BUDGET_USD": "0.04"}
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env=env, live_is_sandbox=True) as app:
        async def call(session):
            return await session.call_tool("flux_pro", {"prompt": "a red cube", "num_inference_steps": 2})

        result = asyncio.run(session_call(app.url, call))
        assert result.isError and "budget" in result.content[0].text.lower()


def test_mcp_calls_use_the_visitors_one_identity(tmp_path):
    """Behind the Space's proxy, MCP callers are told by the address the proxy appended, as page visitors are:
    X-Forwarded-For entries they write themselves give them no budget of their own."""
    import sqlite3

    env = {"PLAYGROUND_MCP": "1", "FAL_KEY": "server-id:server-secret", "PLAYGROUND_DATA_DIR": str(tmp_path),
           "PLAYGROUND_VISITOR_BUDGET_USD": "0.12", "SPACE_ID": "someone/flux-playground"}
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env=env, live_is_sandbox=True) as app:
        async def call(session):
            return await session.call_tool("flux_pro", {"prompt": "a red cube", "num_inference_steps": 2})

        results = [asyncio.run(session_call(app.url, call, {"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.7"}))
                   for i in range(3)]
        assert [r.isError for r in results] == [False, False, True]
        assert "budget" in results[2].content[0].text.lower()
    with sqlite3.connect(tmp_path / "spend.sqlite3") as db:
        assert {row[0] for row in db.execute("SELECT visitor FROM spend")} == {"ip:203.0.113.7"}


def test_the_pages_own_events_cannot_be_called_as_tools(app):
    """The page's run and sweep events are not tools: called by name over MCP they are unknown (Gradio's bridge
    ran them over loopback HTTP, so every caller was the visitor 127.0.0.1, sharing one run limit and budget)."""
    async def call(session):
        return [await session.call_tool(name, {"prompt": "a red cube", "num_inference_steps": 2})
                for name in ("flux_pro_page", "flux_pro_sweep_page")]

    for result in asyncio.run(session_call(app.url, call)):
        assert result.isError, result.content
        assert "a red cube" not in json.dumps([c.model_dump() for c in result.content])


def _tool_call_from(source: str, url: str, tool: str, arguments: dict) -> tuple[bool, str]:
    """A tools/call over plain JSON-RPC from the local address ``source`` (the mcp client cannot choose one)."""
    import httpx

    endpoint = f"{url.rstrip('/')}/gradio_api/mcp/"
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    with httpx.Client(timeout=60, transport=httpx.HTTPTransport(local_address=source), trust_env=False) as client:
        opened = client.post(endpoint, headers=headers, json={
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
        if opened.headers.get("mcp-session-id"):
            headers["mcp-session-id"] = opened.headers["mcp-session-id"]
        answer = client.post(endpoint, headers=headers, json={
            "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
    result = next(json.loads(line[5:])["result"] for line in answer.text.splitlines() if line.startswith("data:"))
    return bool(result.get("isError")), result["content"][0]["text"]


def test_a_queued_tool_runs_as_its_caller_not_as_the_loopback_it_is_passed_on_by(tmp_path):
    """Gradio's bridge passes a queued tool (a catalog model's, a sweep's) on over loopback HTTP: every caller was
    the visitor 127.0.0.1, charged to one budget and held to one run limit with every other caller. Each caller is
    now itself (the ledger names them), as for the seed tabs' tools."""
    import sqlite3

    env = {"PLAYGROUND_MCP": "1", "FAL_KEY": "server-id:server-secret", "PLAYGROUND_DATA_DIR": str(tmp_path),
           "PLAYGROUND_VISITOR_BUDGET_USD": "1"}
    with launched_app(SandboxOptions(step_seconds=0.005, startup_seconds=0.0), env=env, live_is_sandbox=True) as app:
        for source, seed in (("127.0.0.2", 1), ("127.0.0.3", 2)):
            error, text = _tool_call_from(source, app.url, "flux_schnell", {"prompt": "a red cube", "seed": seed})
            assert not error, text
    with sqlite3.connect(tmp_path / "spend.sqlite3") as db:
        assert {row[0] for row in db.execute("SELECT visitor FROM spend")} == {"ip:127.0.0.2", "ip:127.0.0.3"}


def test_only_the_bridge_can_name_an_mcp_caller():
    """The relayed address is read only from a loopback request carrying this process's secret."""
    from types import SimpleNamespace

    from components import mcp_caller

    def request(value: str | None, peer: str) -> SimpleNamespace:
        headers = {mcp_caller.HEADER: value} if value is not None else {}
        return SimpleNamespace(headers=headers, client=SimpleNamespace(host=peer))

    assert mcp_caller.caller_of(request(mcp_caller.header_value("198.51.100.7"), "127.0.0.1")) == "198.51.100.7"
    assert mcp_caller.caller_of(request("not-the-secret 198.51.100.7", "127.0.0.1")) is None
    assert mcp_caller.caller_of(request(mcp_caller.header_value("198.51.100.7"), "203.0.113.9")) is None
    assert mcp_caller.caller_of(request(None, "127.0.0.1")) is None


def test_a_sweep_is_a_tool_too(app):
    async def run(session):
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert "flux_pro_sweep" in tools and "x_values" in tools["flux_pro_sweep"].inputSchema["properties"]
        return await session.call_tool("flux_pro_sweep", {"prompt": "a red cube", "num_inference_steps": 2,
                                                          "x_field": "seed", "x_values": "[1, 2]"})

    result = asyncio.run(session_call(app.url, run))
    assert not result.isError, result.content
    texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
    cells = next(json.loads(t) for t in texts if t.strip().startswith("["))
    assert [c["result"]["seed"] for c in cells] == [1, 2]
    assert [getattr(c, "type", "") for c in result.content].count("image") == 1


def test_results_use_the_callers_host_and_show_no_server_path(app):
    """Issue 17.9: image URLs pointed at 127.0.0.1:7860 (not where the app runs) and Gradio's bridge added a line
    with the private media folder's path (``…/gradio_api/file=/tmp/flux-playground-media-…``)."""
    async def run(session):
        one = await session.call_tool("flux_pro", {"prompt": "a red cube", "seed": 5, "num_inference_steps": 2})
        grid = await session.call_tool("flux_pro_sweep", {"prompt": "a red cube", "num_inference_steps": 2,
                                                          "x_field": "seed", "x_values": "[1, 2]"})
        return one, grid

    one, grid = asyncio.run(session_call(app.url, run))
    assert not one.isError and not grid.isError
    root = app.url.rstrip("/")
    texts = [c.text for result in (one, grid) for c in result.content if getattr(c, "type", "") == "text"]
    payload = next(json.loads(t) for t in texts if t.strip().startswith("{") and "endpoint_id" in t)
    assert payload["images"][0]["url"].startswith(f"{root}/media/"), payload["images"]
    cells = next(json.loads(t) for t in texts if t.strip().startswith("["))
    assert all(image["url"].startswith(f"{root}/media/") for cell in cells for image in cell["result"]["images"])
    media_root = str(app.ctx.runner.media.root)
    for text in texts:
        assert "127.0.0.1:7860" not in text and media_root not in text and "/gradio_api/file=" not in text, text
    assert [getattr(c, "type", "") for c in one.content].count("image") == 1, "the image itself still comes inline"
