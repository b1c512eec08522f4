"""The credits balance shown under Settings beside the keys (Black Forest Labs: ``GET /v1/credits``, 1 credit =
$0.01), read through each provider's ``credits`` call against a sandbox started here; errors said plainly, the
key never shown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import make_backends
from components.settings_panel import balances
from providers.base import Credentials
from providers.config import ProviderSettings
from providers.registry import sandbox_settings
from sandbox import RunningSandbox, SandboxOptions, start_sandbox

SECRET = "bfl-session-secret-0123456789"


@pytest.fixture(scope="module")
def sbx() -> Iterator[RunningSandbox]:
    with start_sandbox(SandboxOptions(step_seconds=0.01, startup_seconds=0.0, bfl_credits=1234.5)) as running:
        yield running


def live_on(sbx: RunningSandbox):
    """Live providers whose URLs are the sandbox's (the key acts as a real one), plus the sandbox route."""
    settings = sandbox_settings(sbx.url)
    return make_backends(ProviderSettings(urls=settings.urls), sandbox_url=sbx.url)


async def test_a_session_key_shows_the_balance_in_credits_and_dollars(sbx):
    text = await balances(live_on(sbx), {"bfl": Credentials(SECRET, "session")})
    assert "Black Forest Labs:" in text and "1,234.50 credits ($12.35) left" in text
    assert "(sandbox)" not in text and SECRET not in text
    assert "fal" not in text and "Segmind" not in text, "only providers that keep a balance are listed"


async def test_without_a_key_the_sandbox_balance_is_labelled_sandbox(sbx):
    text = await balances(live_on(sbx), {})
    assert "Black Forest Labs (sandbox):" in text and "credits" in text


async def test_a_refused_key_is_said_plainly_and_not_echoed():
    with start_sandbox(SandboxOptions(step_seconds=0.01, startup_seconds=0.0, faults="bfl=status_403:9")) as refusing:
        text = await balances(live_on(refusing), {"bfl": Credentials(SECRET, "session")})
    assert "balance unavailable" in text and ("key" in text.lower() or "403" in text), text
    assert SECRET not in text


async def test_after_saving_keys_only_the_pasted_ones_are_checked(sbx):
    backends = live_on(sbx)
    assert await balances(backends, {}, session_only=True) == "", "no pasted key: no balance call"
    assert "Black Forest Labs:" in await balances(backends, {"bfl": Credentials(SECRET, "session")}, session_only=True)


async def test_the_servers_own_key_balance_is_never_read_for_a_visitor(sbx):
    """A probe: any visitor's "Check balance" showed the operator's BFL balance, read with the server's key."""
    settings = sandbox_settings(sbx.url)
    operator = Credentials("bfl-operator-secret-0123456789", "environment")
    backends = make_backends(ProviderSettings(urls=settings.urls, keys={"bfl": operator}), sandbox_url=sbx.url)
    assert await balances(backends, {}) == ""
    assert await balances(backends, {}, session_only=True) == ""
    assert "1,234.50 credits" in await balances(backends, {"bfl": Credentials(SECRET, "session")})
