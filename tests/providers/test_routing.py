"""Live vs sandbox and whose key: per session, never mixed, never stored in the environment."""

from __future__ import annotations

import asyncio
import json
import os

import httpx

from endpoints import get_endpoint
from providers.base import Credentials
from providers.config import ProviderSettings
from providers.media import MediaStore
from providers.registry import build_providers
from providers.routing import SANDBOX_KEY, Backends
from runs.runner import Runner
from tests.providers.fake_fal import DONE, QUEUE, REST, FakeFal, stream_response


def backends(*, env_key: str | None = None, sandbox: bool = True, force: bool = False, transport=None) -> Backends:
    settings = ProviderSettings(
        urls={"FAL_QUEUE_URL": QUEUE, "FAL_REST_URL": REST},
        keys={"fal": Credentials(env_key)} if env_key else {},
    )
    live = build_providers(settings, transport=transport)
    box = build_providers(ProviderSettings(), is_sandbox=True) if sandbox else None
    return Backends(live=live, sandbox=box, force_sandbox=force)


def test_route_order_session_key_then_server_key_then_sandbox():
    mine = {"fal": Credentials("visitor-key", "session")}
    assert backends().route("fal").credentials == SANDBOX_KEY
    assert backends().route("fal", mine).credentials == mine["fal"]
    assert not backends().route("fal", mine).is_sandbox
    assert backends(env_key="server-key").route("fal").label == "live (server key)"
    assert backends(env_key="server-key", force=True).route("fal", mine).is_sandbox
    assert backends(sandbox=False).route("segmind").credentials is None


def test_unknown_provider_is_an_error_not_another_provider():
    import pytest

    with pytest.raises(KeyError, match="unknown-provider"):
        backends().route("unknown-provider")


async def test_two_sessions_with_different_keys_never_mix(tmp_path):
    fake = FakeFal(streams=[stream_response(DONE)])
    both = backends(transport=httpx.MockTransport(fake.handler))
    spec = get_endpoint("flux_pro")
    runner = Runner(MediaStore(tmp_path / "media"))

    async def session(name: str) -> None:
        key = f"secret-of-{name}"
        route = both.route("fal", {"fal": Credentials(key, "session")})
        payload = spec.input_model.model_validate({"prompt": name})
        async for update in runner.run(spec, payload, route):
            if update.record is not None:
                assert update.record.state == "done"
                assert key not in json.dumps(update.record.to_json())

    environ_before = dict(os.environ)
    await asyncio.gather(session("alice"), session("bob"))
    submits = [r for r in fake.requests if r.method == "POST" and r.url.path == "/fal-ai/flux-pro"]
    auth_by_prompt = {json.loads(r.content)["prompt"]: r.headers["authorization"] for r in submits}
    assert auth_by_prompt == {"alice": "Key secret-of-alice", "bob": "Key secret-of-bob"}
    assert dict(os.environ) == environ_before, "keys never go into os.environ"
