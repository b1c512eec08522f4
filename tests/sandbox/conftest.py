from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox import RunningSandbox, start_sandbox
from tests.sandbox.support import FAST


@pytest.fixture
def start() -> Iterator[Callable[..., RunningSandbox]]:
    """Start a sandbox with FAST options plus overrides; every one is stopped after the test."""
    started: list[RunningSandbox] = []

    def _start(**overrides: Any) -> RunningSandbox:
        running = start_sandbox(dataclasses.replace(FAST, **overrides))
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[RunningSandbox]:
    with start_sandbox(FAST) as running:
        yield running


@pytest.fixture
def sbx(shared_sandbox: RunningSandbox) -> RunningSandbox:
    """A sandbox with FAST options, reset to a fresh state (shared across tests: starting one per test is slower)."""
    httpx.post(f"{shared_sandbox.url}/_sandbox/reset", timeout=5).raise_for_status()
    return shared_sandbox


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http
