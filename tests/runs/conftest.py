"""A sandbox and its providers for run-engine tests (plain asyncio; no Gradio)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from providers.base import Credentials
from providers.media import MediaStore
from providers.registry import ProviderSet, build_providers, sandbox_settings
from providers.routing import SANDBOX_KEY, Route
from runs.runner import Runner
from sandbox import RunningSandbox, SandboxOptions, start_sandbox


@dataclass
class SandboxRig:
    sandbox: RunningSandbox
    providers: ProviderSet
    runner: Runner
    uploads_root: Path

    def route(self, provider: str, key: Credentials = SANDBOX_KEY) -> Route:
        return Route(self.providers.get(provider), key, "sandbox")

    def stats(self) -> dict:
        return httpx.get(f"{self.sandbox.url}/_sandbox/stats").json()


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator:
    started: list[SandboxRig] = []

    def make(**options) -> SandboxRig:
        sandbox = start_sandbox(SandboxOptions(step_seconds=0.01, startup_seconds=0.0, **options))
        uploads = tmp_path / "uploads"
        uploads.mkdir(exist_ok=True)
        providers = build_providers(sandbox_settings(sandbox.url), local_file_roots=(uploads,), is_sandbox=True)
        rig = SandboxRig(sandbox, providers, Runner(MediaStore(tmp_path / "media")), uploads)
        started.append(rig)
        return rig

    yield make
    for rig in started:
        rig.sandbox.stop()


@pytest.fixture
async def rig(rig_factory) -> SandboxRig:
    made = rig_factory()
    yield made
    await made.providers.aclose()
