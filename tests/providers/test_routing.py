"""Live vs sandbox and whose key: per session, never mixed, never stored in the environment."""

from __future__ import annotations

import asyncio
import json
import os

import httpx

from components.endpoint_tab import run_endpoint
from components.settings_panel import _parse_keys, badge_text
from endpoints import get_endpoint
from providers.base import Credentials
from providers.config import ProviderSettings
from providers.registry import build_providers
from providers.routing import SANDBOX_KEY, Backends
from tests.providers.fake_fal import DONE, QUEUE, REST, FakeFal, stream_response


def backends(*, env_key: str | None = None, sandbox: bool = True, force: bool = False, transport=None) -> Backends:
    settings = ProviderSettings(
        fal_queue_url=QUEUE, fal_rest_url=REST, fal_key=Credentials(env_key) if env_key else None
    )
    live = build_providers(settings, transport=transport)
    box = build_providers(ProviderSettings(), fal_is_sandbox=True, segmind_is_sandbox=True) if sandbox else None
    return Backends(live=live, sandbox=box, force_sandbox=force)


def test_route_order_session_key_then_server_key_then_sandbox():
    mine = {"fal": Credentials("visitor-key", "session")}
    assert backends().route("fal").credentials == SANDBOX_KEY
    assert backends().route("fal", mine).credentials == mine["fal"]
    assert not backends().route("fal", mine).is_sandbox
    assert backends(env_key="server-key").route("fal").label == "live (server key)"
    assert backends(env_key="server-key", force=True).route("fal", mine).is_sandbox
    assert backends(sandbox=False).route("segmind").credentials is None


def test_badge_and_key_parsing_never_show_the_key():
    keys = _parse_keys({}, "  fal-visitor-secret ", "")
    assert keys == {"fal": Credentials("fal-visitor-secret", "session")}
    text = badge_text(backends(), keys)
    assert "live (your session key)" in text and "sandbox" in text and "fal-visitor-secret" not in text


async def test_two_sessions_with_different_keys_never_mix():
    fake = FakeFal(streams=[stream_response(DONE)])
    both = backends(transport=httpx.MockTransport(fake.handler))
    spec = get_endpoint("flux_pro")

    class Form:  # the tab's form, reduced to what run_endpoint needs
        @staticmethod
        def to_model(values):
            return spec.build_input(values)

    async def session(key: str) -> None:
        updates = run_endpoint(spec, Form, both, {"fal": Credentials(key, "session")}, {"prompt": key})
        async for _ in updates:
            pass

    environ_before = dict(os.environ)
    await asyncio.gather(session("key-of-alice"), session("key-of-bob"))
    submits = [r for r in fake.requests if r.method == "POST" and r.url.path == "/fal-ai/flux-pro"]
    auth_by_prompt = {json.loads(r.content)["prompt"]: r.headers["authorization"] for r in submits}
    assert auth_by_prompt == {"key-of-alice": "Key key-of-alice", "key-of-bob": "Key key-of-bob"}
    assert dict(os.environ) == environ_before, "keys never go into os.environ"
