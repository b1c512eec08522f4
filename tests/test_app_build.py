"""Building the app reads each endpoint's input schema from ``endpoints.base.model_schema``: pydantic makes a
model's JSON schema anew on every ``model_json_schema()`` call, so the form, the API, the MCP tools and the Models
tab each asking for it would make it several times per build (and per launch in a test run)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from app import build_app, make_backends, make_context
from endpoints import ENDPOINTS
from endpoints.base import model_schema
from providers.config import ProviderSettings

pytestmark = pytest.mark.timeout(120)


def build_once() -> None:
    ctx = make_context(make_backends(ProviderSettings()), {})
    try:
        build_app(ctx)
    finally:
        ctx.cleanup()


def test_a_second_build_makes_no_endpoint_schema_and_the_first_makes_each_once(monkeypatch):
    made: list[type[BaseModel]] = []
    real = BaseModel.model_json_schema.__func__  # type: ignore[attr-defined]

    def counted(cls: type[BaseModel], *args: Any, **kwargs: Any) -> dict[str, Any]:
        made.append(cls)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(BaseModel, "model_json_schema", classmethod(counted))
    model_schema.cache_clear()
    build_once()
    inputs = {spec.input_model for spec in ENDPOINTS}
    first = [model for model in made if model in inputs]
    assert set(first) == inputs, "every seed endpoint's schema was read"
    assert len(first) == len(set(first)), "and each made once"
    made.clear()
    build_once()
    assert [model for model in made if model in inputs] == []
    assert model_schema(ENDPOINTS[0].input_model) == ENDPOINTS[0].input_model.model_json_schema()


def test_the_steps_after_a_run_or_a_sweep_wait_for_the_last_ones_instead_of_being_dropped():
    """A step chained after a run or a sweep (history, spend, code, the sweep's cells) fired again while the last
    one is pending is dropped by Gradio's default trigger mode ("once"; ``docs/upstream.md`` §18)."""
    ctx = make_context(make_backends(ProviderSettings()), {})
    try:
        config = build_app(ctx).get_config_file()
    finally:
        ctx.cleanup()
    deps = {dep["id"]: dep for dep in config["dependencies"]}
    starts = {dep["id"] for dep in deps.values() if dep.get("api_name") in ("flux_pro", "flux_pro_sweep")}
    assert len(starts) == 2
    chained, follows = [], set(starts)
    while True:  # every backend step chained, however far, after the run or the sweep
        found = [dep for dep in deps.values() if dep.get("trigger_after") in follows and dep["id"] not in follows]
        if not found:
            break
        follows |= {dep["id"] for dep in found}
        chained += [dep for dep in found if dep.get("backend_fn")]
    assert len(chained) >= 5, [dep.get("api_name") for dep in chained]  # after run/failure, sweep cells, its 3 steps
    assert {dep["trigger_mode"] for dep in chained} == {"always_last"}


def test_a_built_app_leaves_no_folder_behind_at_shutdown(monkeypatch):
    """Each start left a ``flux-playground-downloads-*`` folder in the temp folder (the history's), hundreds on a
    machine that ran the tests: every temporary folder the app makes goes with ``cleanup()`` at shutdown."""
    import tempfile
    from pathlib import Path

    made: list[Path] = []
    real = tempfile.mkdtemp

    def recorded(*args: Any, **kwargs: Any) -> str:
        path = real(*args, **kwargs)
        made.append(Path(path))
        return path

    monkeypatch.setattr(tempfile, "mkdtemp", recorded)
    build_once()
    assert made, "the app made its folders with tempfile.mkdtemp"
    assert [path for path in made if path.exists()] == []
