"""A full session store drops the sessions of the address holding the most, not the least recently used of anyone:
one client opening sessions by the thousand pushes out its own (a hostile probe pushed out every visitor's)."""

from __future__ import annotations

import json

import gradio as gr
import httpx

from components.gradio_fixes import PlaygroundBlocks
from components.session_owners import CallerAddress, current_owner, session_to_drop
from tests.app_support import free_port


def test_the_session_dropped_is_the_oldest_of_the_biggest_holder():
    owners = {"v1": "visitor", "a1": "attacker", "v2": "visitor", "a2": "attacker", "a3": "attacker"}
    assert session_to_drop(owners, owners, keep="a3") == "a1"
    assert session_to_drop(["v1", "v2"], owners, keep=None) == "v1"  # one holder: the oldest, as Gradio does
    assert session_to_drop(["a1"], owners, keep="a1") is None
    assert session_to_drop(["x", "v1"], owners, keep=None) == "x"  # an unknown owner counts as one more address


def join(http: httpx.Client, url: str, session: str, address: str) -> None:
    """One queued event of the page in a session of its own, from ``address`` (behind one trusted proxy)."""
    body = {"data": [], "fn_index": 0, "trigger_id": None, "session_hash": session, "event_data": None}
    response = http.post(f"{url}gradio_api/queue/join", json=body, headers={"X-Forwarded-For": address})
    assert response.status_code == 200, response.text
    with http.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and json.loads(line[5:]).get("msg") == "process_completed":
                break


def last_output(http: httpx.Client, url: str, session: str, address: str, fn_index: int) -> object:
    body = {"data": [], "fn_index": fn_index, "trigger_id": None, "session_hash": session, "event_data": None}
    http.post(f"{url}gradio_api/queue/join", json=body, headers={"X-Forwarded-For": address}).raise_for_status()
    with http.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                return message["output"]["data"][0]
    return None


def test_one_address_opening_many_sessions_pushes_out_its_own_not_a_visitors():
    with PlaygroundBlocks() as demo:
        pasted = gr.State()
        gr.Button().click(lambda: "kept", None, [pasted])
        seen_as = gr.Textbox()
        gr.Button().click(current_owner, None, [seen_as])  # fn_index 1: who the queue's work counts as
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                            state_session_capacity=6,
                            app_kwargs={"middleware": [_caller_address(trusted_proxies=1)]})
    try:
        with httpx.Client(timeout=10) as http:
            join(http, url, "visitor-tab", "203.0.113.7")
            for n in range(20):
                join(http, url, f"probe-{n}", "198.51.100.66")
            # An event's work counts as its sender's (a file it names by URL is charged to that address), not as
            # the address of Gradio's startup call (127.0.0.1), which started the queue's tasks.
            assert last_output(http, url, "worker", "203.0.113.8", fn_index=1) == "203.0.113.8"
        holder = demo.state_holder
        assert "visitor-tab" in holder.session_data, "the visitor's session (and what it holds) is kept"
        assert len(holder.session_data) == 6
        assert "probe-19" in holder.session_data and "probe-0" not in holder.session_data
    finally:
        demo.close()


def _caller_address(trusted_proxies: int):
    from starlette.middleware import Middleware

    return Middleware(CallerAddress, trusted_proxies=trusted_proxies)


def test_an_ipv6_caller_counts_per_48():
    from components.session_owners import Caller

    a = Caller(None, "2001:db8:0:1::1", trusted_proxies=1).address()
    b = Caller(None, "2001:db8:0:7::1", trusted_proxies=1).address()
    assert a == b == "2001:db8::/48"
    assert Caller(None, "203.0.113.7", trusted_proxies=1).address() == "203.0.113.7"
    assert Caller("198.51.100.1", None, trusted_proxies=0).address() == "198.51.100.1"


def test_an_mcp_call_passed_on_over_loopback_is_its_callers():
    """Gradio's MCP bridge calls the app back from 127.0.0.1 with the caller relayed (components/mcp_caller.py), as
    ``context.visitor_of`` reads it: a session it opens is that caller's, not the server's own address's."""
    from components import mcp_caller
    from components.session_owners import caller_of

    def scope(host: str, relayed: str | None) -> dict:
        headers = [(mcp_caller.HEADER.encode(), relayed.encode())] if relayed else []
        return {"type": "http", "client": (host, 5000), "headers": headers}

    assert caller_of(scope("127.0.0.1", mcp_caller.header_value("203.0.113.50")), 0).address() == "203.0.113.50"
    assert caller_of(scope("127.0.0.1", None), 0).address() == "127.0.0.1"
    assert caller_of(scope("127.0.0.1", "forged 203.0.113.50"), 0).address() == "127.0.0.1"  # no secret: ignored
    assert caller_of(scope("198.51.100.9", mcp_caller.header_value("203.0.113.50")), 0).address() == "198.51.100.9"
