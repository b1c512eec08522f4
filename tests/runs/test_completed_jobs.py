"""A job the provider completed is never recorded as free, and per-megapixel runs settle on the reported output.

The sandbox's fault injection (or a scripted fal on ``httpx.MockTransport``) answers the result fetch with HTTP 500
once or every time; runs are on a "server key" route with a spend ledger, so what the budget is charged is checked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from endpoints import get_endpoint
from providers.errors import ResultUnavailable, ValidationFailed
from providers.fal import FalQueueProvider
from providers.media import MediaStore
from providers.registry import build_providers, sandbox_settings
from providers.retry import RetryPolicy
from providers.routing import SANDBOX_KEY, Route
from runs.budget import BudgetLimits, SpendLedger
from runs.pricing import PriceBook, actual_cost
from runs.runner import Runner
from runs.spend_guard import BudgetGuard
from sandbox import SandboxOptions, start_sandbox
from tests.providers.fake_fal import DONE, OUTPUT, QUEUE, REST, FakeFal, stream_response
from tests.providers.test_fal_provider import KEY

FLUX_PRO = get_endpoint("flux_pro")
I2I = get_endpoint("flux_dev_image_to_image")
FAST_RETRY = RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.05, wait_jitter=0.0, timeout=10.0)
PRICES = PriceBook()

pytestmark = pytest.mark.timeout(60)


async def run_once(tmp_path: Path, spec, values: dict, faults: str = ""):
    """One run on the server's key (the sandbox plays fal), settled like the app does; returns (record, ledger)."""
    sandbox = start_sandbox(SandboxOptions(step_seconds=0.005, startup_seconds=0.0, faults=faults or None))
    providers = build_providers(sandbox_settings(sandbox.url), retry=FAST_RETRY, is_sandbox=True)
    ledger = SpendLedger(tmp_path / "spend.sqlite3")
    runner = Runner(
        MediaStore(tmp_path / "media"),
        estimate=lambda endpoint, wire, route, sizes=None, **_: PRICES.estimate(endpoint, wire, output_sizes=sizes),
        settle=lambda estimate, state, extras, provider: actual_cost(estimate, state=state, extras=extras, provider=provider),
        guard=BudgetGuard(ledger, BudgetLimits(daily_usd=10.0)),
    )
    try:
        route = Route(providers.get("fal"), SANDBOX_KEY, "server_key")
        payload = spec.input_model.model_validate(values)
        async with asyncio.timeout(30):
            updates = [u async for u in runner.run(spec, payload, route, visitor="ip:203.0.113.7")]
        return updates[-1].record, ledger
    finally:
        await providers.aclose()
        sandbox.stop()


def small(**extra):
    return {"prompt": "a lighthouse", "image_size": {"width": 64, "height": 48}, "num_inference_steps": 2, "seed": 7,
            **extra}


async def test_one_500_on_the_result_fetch_is_retried_and_the_run_succeeds(tmp_path):
    record, ledger = await run_once(tmp_path, FLUX_PRO, small(), faults="result=status_500:1")
    assert record.state == "done", record.error
    assert record.result["images"] and record.cost.usd == 0.05
    assert await ledger.spent("ip:203.0.113.7") == 0.05


async def test_a_result_that_cannot_be_fetched_is_settled_at_the_estimate_and_says_so(tmp_path):
    record, ledger = await run_once(tmp_path, FLUX_PRO, small(), faults="result=status_500:99")
    assert record.state == "failed" and record.result is None
    assert record.error is not None and record.error.type == "ResultUnavailable"
    assert "completed upstream but result could not be fetched; settled at estimate $0.05" in record.error.message
    assert "HTTP 500" in record.error.message and "4 tries" in record.error.message
    assert record.cost.usd == 0.05 and "billed" in record.cost.basis and "not billed" not in record.cost.basis
    assert await ledger.spent("ip:203.0.113.7") == 0.05  # the ledger is charged, not $0


async def test_a_job_that_failed_upstream_is_still_not_billed(tmp_path):
    record, ledger = await run_once(tmp_path, FLUX_PRO, small(), faults="fail:0")
    assert record.state == "failed" and "completed upstream" not in record.error.message
    assert record.cost.usd == 0.0 and "not billed" in record.cost.basis
    assert await ledger.spent("ip:203.0.113.7") == 0.0


def fake_fal_with_results(*results: httpx.Response) -> FakeFal:
    """A fake fal whose result fetches answer ``results`` in turn (the last one repeats)."""
    fake = FakeFal(streams=[stream_response(DONE)])
    answers = list(results)
    original = fake.handler

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/requests/r1") and request.method == "GET":
            fake.requests.append(request)
            return answers.pop(0) if len(answers) > 1 else answers[0]
        return original(request)

    fake.handler = handler  # type: ignore[method-assign]
    return fake


def fal_over(fake: FakeFal) -> FalQueueProvider:
    return FalQueueProvider(httpx.AsyncClient(transport=httpx.MockTransport(fake.handler)), queue_url=QUEUE,
                            rest_url=REST, retry=FAST_RETRY, poll_interval=0.001)


async def test_the_result_fetch_retries_a_500_and_gives_up_within_the_policy():
    fake = fake_fal_with_results(httpx.Response(500, json={"detail": "boom"}), httpx.Response(200, json=OUTPUT))
    job = await fal_over(fake).submit(FLUX_PRO, FLUX_PRO.build_input(FLUX_PRO.example), KEY)
    events = [event async for event in job.events()]
    assert events[-1].result.seed == 42 and fake.count("GET", "/requests/r1") == 2

    fake = fake_fal_with_results(httpx.Response(500, json={"detail": "boom", "error_type": "internal_error"}))
    job = await fal_over(fake).submit(FLUX_PRO, FLUX_PRO.build_input(FLUX_PRO.example), KEY)
    with pytest.raises(ResultUnavailable, match=r"HTTP 500 to the result fetch \(4 tries over"):
        _ = [event async for event in job.events()]
    assert job.completed_upstream and fake.count("GET", "/requests/r1") == FAST_RETRY.attempts


async def test_a_422_on_the_result_is_the_job_failing_not_billed():
    detail = {"detail": [{"loc": ["body", "prompt"], "msg": "too long", "type": "value_error"}]}
    fake = fake_fal_with_results(httpx.Response(422, json=detail))
    job = await fal_over(fake).submit(FLUX_PRO, FLUX_PRO.build_input(FLUX_PRO.example), KEY)
    with pytest.raises(ValidationFailed):
        _ = [event async for event in job.events()]
    assert not job.completed_upstream and fake.count("GET", "/requests/r1") == 1


async def test_image_to_image_settles_on_the_output_size_the_provider_reports(tmp_path):
    # fal reports a 1536×1024 output (it follows the input image): 2 MP at $0.03, where the estimate guessed 1 MP.
    output = {**OUTPUT, "images": [{"url": "https://cdn.test/a.png", "width": 1536, "height": 1024,
                                    "content_type": "image/png"}]}
    fake = fake_fal_with_results(httpx.Response(200, json=output))
    values = {**I2I.example, "image_url": "https://example.test/cat.png"}
    payload = I2I.input_model.model_validate(values)
    estimate = PRICES.estimate(I2I, payload.to_wire())
    assert estimate.usd == 0.03 and "estimated at 1 MP" in estimate.basis
    ledger = SpendLedger(tmp_path / "spend.sqlite3")
    runner = Runner(
        MediaStore(tmp_path / "media"),
        estimate=lambda endpoint, wire, route, sizes=None, **_: PRICES.estimate(endpoint, wire, output_sizes=sizes),
        settle=lambda estimate, state, extras, provider: actual_cost(estimate, state=state, extras=extras, provider=provider),
        guard=BudgetGuard(ledger, BudgetLimits(daily_usd=10.0)),
    )
    route = Route(fal_over(fake), KEY, "server_key")
    async with asyncio.timeout(10):
        updates = [u async for u in runner.run(I2I, payload, route, visitor="ip:203.0.113.7")]
    await runner.drain()
    record = updates[-1].record
    assert record.state == "done", record.error
    assert record.cost.usd == 0.06 and "1 image × 2 MP × $0.03" in record.cost.basis, record.cost.basis
    assert await ledger.spent("ip:203.0.113.7") == 0.06


def test_settling_rules_for_completed_jobs_and_reported_sizes():
    wire = {"image_size": "landscape_4_3", "num_images": 2}
    estimate = PRICES.estimate(FLUX_PRO, wire)
    assert estimate.usd == 0.1
    # Stopped (or failed) after fal completed the job: billed, at the estimate, and the basis says so.
    for state in ("stopped", "failed"):
        cost = actual_cost(estimate, state=state, extras={"completed_upstream": True}, provider="fal")
        assert cost.usd == 0.1 and "completed the job upstream, so it is billed" in cost.basis
    assert actual_cost(estimate, state="failed", extras={}, provider="fal").usd == 0.0
    # The runner works the estimate out again on the sizes the provider reported where the input set none (the
    # output follows the input image); a size the input set is what is billed. A done run settles at that.
    assert PRICES.estimate(FLUX_PRO, wire, output_sizes=[(1024, 768), (2048, 1024)]).usd == estimate.usd
    i2i = {"prompt": "p", "image_url": "https://example.test/cat.png", "num_images": 2}
    followed = PRICES.estimate(I2I, i2i, output_sizes=[(1024, 768), (2048, 1024)])
    assert followed.usd == 0.09 and "3 MP" in followed.basis, followed.basis
    assert actual_cost(followed, state="done", extras={}, provider="fal") == followed


async def test_a_stop_while_the_result_is_being_fetched_still_settles_the_completed_job(tmp_path):
    sandbox = start_sandbox(SandboxOptions(step_seconds=0.005, startup_seconds=0.0, faults="result=slow:5"))
    providers = build_providers(sandbox_settings(sandbox.url), retry=FAST_RETRY, is_sandbox=True)
    ledger = SpendLedger(tmp_path / "spend.sqlite3")
    runner = Runner(
        MediaStore(tmp_path / "media"),
        estimate=lambda endpoint, wire, route, sizes=None, **_: PRICES.estimate(endpoint, wire, output_sizes=sizes),
        settle=lambda estimate, state, extras, provider: actual_cost(estimate, state=state, extras=extras, provider=provider),
        guard=BudgetGuard(ledger, BudgetLimits(daily_usd=10.0)),
    )
    try:
        route = Route(providers.get("fal"), SANDBOX_KEY, "server_key")
        run = runner.start(FLUX_PRO, FLUX_PRO.input_model.model_validate(small()), route, visitor="ip:203.0.113.7")

        async def consume():
            async for _ in run.updates():
                pass

        consumer = asyncio.ensure_future(consume())
        async with asyncio.timeout(10):
            while not run.completed_upstream:  # COMPLETED seen; the result fetch is under way (slowed down)
                await asyncio.sleep(0.01)
        consumer.cancel()
        record = await run.stop()
        assert record is not None and record.state == "stopped"
        assert "completed the job upstream; settled at estimate $0.05" in record.error.message
        assert record.cost.usd == 0.05 and await ledger.spent("ip:203.0.113.7") == 0.05
    finally:
        await providers.aclose()
        sandbox.stop()
