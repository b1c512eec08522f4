"""The run engine on the sandbox, in plain asyncio: updates, records, the media step, and remote cancels."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from dataclasses import replace

import httpx
import pytest
from PIL import Image

from endpoints import get_endpoint
from endpoints.price import PriceModel
from providers.media import MediaStore
from runs.pricing import PriceBook, estimate_cost
from runs.record import Cost, RunRecord
from runs.runner import Runner, RunUpdate

FLUX_PRO = get_endpoint("flux_pro")
I2I = get_endpoint("flux_dev_image_to_image")
SEGMIND = get_endpoint("segmind_flux_depth_pro")
MEDIA = "http://app.test/media/"


def media_url(name: str) -> str:
    return MEDIA + name


async def collect(rig, spec, values, **kwargs) -> list[RunUpdate]:
    payload = spec.input_model.model_validate(values)
    route = rig.route(spec.provider)
    async with asyncio.timeout(20):
        return [u async for u in rig.runner.run(spec, payload, route, media_url=media_url, **kwargs)]


def small(**extra):
    return {"prompt": "a lighthouse at dusk", "image_size": {"width": 64, "height": 48}, "num_inference_steps": 4,
            "seed": 7, **extra}


async def test_a_run_needs_no_gradio_and_ends_with_a_record(rig):
    updates = await collect(rig, FLUX_PRO, small())
    states = [u.state for u in updates]
    assert states[0] == "preparing" and states[-1] == "done"
    assert "queued" in states and "running" in states
    steps = [u.step for u in updates if u.step is not None]
    assert steps and steps[-1].total == 4 and steps[-1].index == 4
    assert any(line.message == "Step 2/4" for u in updates for line in u.new_logs)
    record = updates[-1].record
    assert record is not None and record.state == "done" and record.seed == 7
    assert record.request_id and record.request.body["prompt"] == "a lighthouse at dusk"
    assert record.request.url.endswith("/fal-ai/flux-pro") and record.request.headers["Authorization"] == "Key <redacted>"
    assert record.timings.submitted <= record.timings.started <= record.timings.finished
    image = record.result["images"][0]
    assert image["url"] == MEDIA + image["file"], "the record names this app's copy, not the sandbox's URL"
    await rig.runner.await_images([record])  # the sandbox's image is copied off the critical path, as a live one
    assert rig.runner.media.path_of(image["file"]) is not None
    assert record.result["extras"] == {}


def test_the_runner_imports_no_gradio():
    code = "import runs.runner, runs.record, sys; assert 'gradio' not in sys.modules, 'gradio imported'"
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


async def test_every_stored_image_is_named_for_its_run_and_carries_it(rig):
    """The one media step names each image ``<run id>/<api_name>-<seed>-<n>.<ext>`` and embeds the run (the A1111
    text and the record JSON), whatever later hands the file out (gallery download, /media/, gradio_client)."""
    from runs.provenance import read_metadata

    records = [(await collect(rig, FLUX_PRO, small(num_images=2)))[-1].record for _ in range(2)]
    await rig.runner.await_images(records)
    for record in records:
        names = [image["file"] for image in record.result["images"]]
        assert names == [f"{record.id}/flux_pro-7-1.jpg", f"{record.id}/flux_pro-7-2.jpg"]
        assert [image["url"] for image in record.result["images"]] == [MEDIA + name for name in names]
        for name in names:
            meta = read_metadata(rig.runner.media.path_of(name).read_bytes())
            assert meta.kind == "record" and meta.record == record, "the stored file restores the whole run"
            assert meta.seed == 7 and meta.prompt == "a lighthouse at dusk" and meta.steps == 4
    assert records[0].result["images"][0]["file"] != records[1].result["images"][0]["file"], "runs never collide"


async def test_record_json_round_trips_and_holds_no_key(rig):
    record = (await collect(rig, FLUX_PRO, small()))[-1].record
    text = json.dumps(record.to_json())
    assert "sandbox-key" not in text and '"sandbox"' in text  # the route kind, never the key itself
    assert RunRecord.from_json(json.loads(text)) == record


async def test_segmind_bytes_go_through_the_same_media_step(rig):
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 120, 200)).save(png, "PNG")
    control = rig.uploads_root / "depth.png"
    control.write_bytes(png.getvalue())
    values = {"prompt": "a room", "control_image": str(control), "seed": 5, "steps": 15}
    record = (await collect(rig, SEGMIND, values))[-1].record
    assert record.state == "done", record.error
    assert record.request.body_kind == "multipart" and record.request.files[0].file_name == "depth.png"
    assert str(rig.uploads_root) not in json.dumps(record.to_json())  # no server path anywhere
    assert record.result["images"][0]["url"].startswith(MEDIA)
    assert "remaining_credits" in record.result["extras"]


async def test_fal_upload_is_replaced_by_its_url_in_body_and_input(rig):
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 20, 20)).save(png, "PNG")
    source = rig.uploads_root / "cat.png"
    source.write_bytes(png.getvalue())
    values = {"prompt": "a wizard cat", "image_url": str(source), "seed": 3, "num_inference_steps": 10}
    record = (await collect(rig, I2I, values))[-1].record
    assert record.state == "done", record.error
    uploaded = record.request.uploads["image_url"]
    assert uploaded.startswith("http") and record.request.body["image_url"] == uploaded == record.input["image_url"]


async def test_stopping_the_consumer_cancels_the_remote_job(rig):
    payload = FLUX_PRO.input_model.model_validate(small(num_inference_steps=50))
    run = rig.runner.start(FLUX_PRO, payload, rig.route("fal"), media_url=media_url)
    updates = run.updates()
    async with asyncio.timeout(20):
        async for update in updates:
            if update.state == "running":
                break
        await updates.aclose()
        await run.finished.wait()
    assert run.record.state == "stopped" and run.record.request_id
    cancels = rig.stats()["cancels"]
    assert [c["request_id"] for c in cancels] == [run.record.request_id]


async def test_a_failure_after_submit_cancels_the_remote_job(rig_factory):
    rig = rig_factory(faults="status=status_401:99, stream=status_401:99")
    try:
        updates = await collect(rig, FLUX_PRO, small(num_inference_steps=50))
        record = updates[-1].record
        assert record.state == "failed" and record.error.type == "AuthenticationError"
        assert "FAL_KEY" in record.error.message
        assert [c["request_id"] for c in rig.stats()["cancels"]] == [record.request_id]
    finally:
        await rig.providers.aclose()


async def test_stop_while_the_submit_is_in_flight_still_cancels(rig_factory):
    rig = rig_factory(faults="submit=slow:0.5")
    try:
        payload = FLUX_PRO.input_model.model_validate(small(num_inference_steps=50))
        run = rig.runner.start(FLUX_PRO, payload, rig.route("fal"), media_url=media_url)
        seen: list[str] = []
        consumer = asyncio.ensure_future(_drain(run, seen))
        await asyncio.sleep(0.15)  # the submit is now on the wire, answered in 0.5 s
        assert seen == ["preparing"]
        consumer.cancel()
        async with asyncio.timeout(15):
            await run.finished.wait()
        assert run.record.state == "stopped"
        await asyncio.sleep(0.1)
        cancels = rig.stats()["cancels"]
        assert len(cancels) == 1 and cancels[0]["request_id"] == run.record.request_id
    finally:
        await rig.providers.aclose()


def _slow_upload_run(rig):
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (20, 200, 20)).save(png, "PNG")
    source = rig.uploads_root / "slow.png"
    source.write_bytes(png.getvalue())
    payload = I2I.input_model.model_validate({"prompt": "a cat", "image_url": str(source), "seed": 3})
    return rig.runner.start(I2I, payload, rig.route("fal"), media_url=media_url)


@pytest.mark.parametrize("how", ["page closed", "Stop"])
async def test_a_stop_while_an_upload_is_prepared_sends_nothing_and_says_so(rig_factory, how):
    """The request is prepared (its uploads made) and sent in a task of the run's own. A Stop before it is sent,
    whether the consumer goes (a closed page) or ``Run.stop()`` comes from another task (the Stop button), ends
    that task: no job is created afterwards, the record says nothing was sent, and a consumer still reading gets
    the final update with the stopped record."""
    from runs.sweep_runner import was_cancelled_remotely

    rig = rig_factory(faults="upload=slow:0.6")
    try:
        run = _slow_upload_run(rig)
        seen: list[RunUpdate] = []

        async def consume() -> None:
            async for update in run.updates():
                seen.append(update)

        consumer = asyncio.ensure_future(consume())
        await asyncio.sleep(0.2)  # the upload is under way, answered in 0.6 s
        assert [u.state for u in seen] == ["preparing"]
        async with asyncio.timeout(15):
            if how == "Stop":
                record = await run.stop()
                await consumer  # ends with the final update, not an exception
                assert seen[-1].record == record
            else:
                consumer.cancel()
                await run.finished.wait()
        assert run.record.state == "stopped"
        assert run.record.error.message == "Nothing had been sent to the provider yet."
        assert not was_cancelled_remotely(run.record)  # what a sweep counts
        await asyncio.sleep(0.8)  # past the upload's answer: a task left going would now submit the job
        stats = rig.stats()
        assert stats["submits"] == {} and stats["cancels"] == []
    finally:
        await rig.providers.aclose()


async def test_saving_is_shown_only_when_the_run_waits_for_its_images(rig):
    """A live (or sandbox) image is copied off the critical path, so its run goes from running to done; bytes the
    provider returned (Segmind) are written before the run ends, and the page shows "saving" meanwhile."""
    fal_states = [u.state for u in await collect(rig, FLUX_PRO, small())]
    assert fal_states[-1] == "done" and "saving" not in fal_states
    png = io.BytesIO()
    Image.new("RGB", (32, 32), (128, 128, 128)).save(png, "PNG")
    depth = rig.uploads_root / "depth.png"
    depth.write_bytes(png.getvalue())
    segmind = [u.state for u in await collect(rig, SEGMIND, {"prompt": "a hall", "control_image": str(depth),
                                                                "seed": 5, "steps": 15})]
    assert segmind[-1] == "done" and "saving" in segmind


async def _drain(run, seen: list[str]) -> None:
    async for update in run.updates():
        seen.append(update.state)


async def test_validation_refusal_from_the_provider_is_a_failed_record_with_fields(rig):
    spec = FLUX_PRO
    payload = spec.input_model.model_construct(prompt="x", num_inference_steps=500)  # bypasses local validation
    async with asyncio.timeout(20):
        updates = [u async for u in rig.runner.run(spec, payload, rig.route("fal"), media_url=media_url)]
    record = updates[-1].record
    assert record.state == "failed" and record.error.fields
    assert record.error.fields[0][0] == "num_inference_steps"


async def test_result_images_are_fetchable_urls(rig):
    record = (await collect(rig, FLUX_PRO, small(num_images=2)))[-1].record
    await rig.runner.await_images([record])
    for image in record.result["images"]:
        name = image["url"].removeprefix(MEDIA)
        data = rig.runner.media.path_of(name).read_bytes()
        assert Image.open(io.BytesIO(data)).size == (64, 48)
    assert len({i["url"] for i in record.result["images"]}) == 2
    assert httpx.URL(record.result["images"][0]["url"]).scheme == "http"


@pytest.mark.parametrize("message", ["Step 3/3"])
def test_step_lines_parse(message):
    from runs.progress import parse_step

    assert parse_step(message).total == 3


async def test_stop_from_outside_records_a_stopped_run_and_cancels_once(rig):
    payload = FLUX_PRO.input_model.model_validate(small(num_inference_steps=50))
    run = rig.runner.start(FLUX_PRO, payload, rig.route("fal"), media_url=media_url)
    seen: list[RunUpdate] = []

    async def consume() -> None:
        async for update in run.updates():
            seen.append(update)

    consumer = asyncio.ensure_future(consume())
    async with asyncio.timeout(20):
        while not any(u.state == "running" for u in seen):
            await asyncio.sleep(0.01)
        stopping = asyncio.ensure_future(run.stop())
        await consumer  # the provider reports the cancellation; the run ends as stopped, not failed
        record = await stopping
    assert record.state == "stopped" and "cancelled" in record.error.message
    assert seen[-1].record == record
    assert len(rig.stats()["cancels"]) == 1


async def test_a_finished_run_is_settled_with_the_sizes_that_came_back(rig):
    """The estimate is made again with the output sizes the provider reported (an input without a size was
    estimated at 1 MP); the settled cost is that one."""
    seen: list[object] = []
    book = PriceBook()

    def estimate(spec, wire, route, output_sizes=None, input_sizes=None) -> Cost:
        seen.append(output_sizes)
        return book.estimate(spec, wire, output_sizes=output_sizes)

    rig.runner = Runner(MediaStore(rig.uploads_root.parent / "media2"), estimate=estimate)
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 200, 20)).save(png, "PNG")
    source = rig.uploads_root / "green.png"
    source.write_bytes(png.getvalue())
    values = {"prompt": "a wizard cat", "image_url": str(source), "seed": 3, "num_inference_steps": 10}
    record = (await collect(rig, I2I, values))[-1].record
    assert record.state == "done", record.error
    assert seen == [None, [(40, 30)]]  # before the run, then with the size that came back
    assert record.cost == Cost(0.03, "1 image × 1 MP × $0.03 (fal price list, 2026-11)")  # no "estimated at 1 MP"


async def test_input_images_billed_by_the_megapixel_are_measured_for_the_estimate_and_the_cost(rig):
    """A price that bills the input images' megapixels (FLUX.2) gets the uploaded image's size, read before the run,
    for the estimate the budget reserves and for the settled cost: a 1500×1000 input is 2 MP, not an assumed 1."""
    price = PriceModel("megapixel", 0.03, source="test list", read_on="2026-12", extra_unit_price_usd=0.015,
                       counts_input_images=True)
    spec = replace(I2I, price=price)
    seen: list[object] = []

    def estimate(endpoint, wire, route, output_sizes=None, input_sizes=None) -> Cost:
        seen.append(input_sizes)
        return estimate_cost(endpoint, wire, price, output_sizes=output_sizes, input_sizes=input_sizes)

    rig.runner = Runner(MediaStore(rig.uploads_root.parent / "media2"), estimate=estimate,
                        upload_roots=(rig.uploads_root,))
    png = io.BytesIO()
    Image.new("RGB", (1500, 1000), (20, 20, 200)).save(png, "PNG")
    source = rig.uploads_root / "wide.png"
    source.write_bytes(png.getvalue())
    values = {"prompt": "a wizard cat", "image_url": str(source), "seed": 3, "num_inference_steps": 10}
    run = rig.runner.start(spec, spec.input_model.model_validate(values), rig.route(spec.provider),
                           media_url=media_url)
    async with asyncio.timeout(20):
        updates = [u async for u in run.updates()]
    record = updates[-1].record
    assert record.state == "done", record.error
    assert seen and all(sizes == [(1500, 1000)] for sizes in seen)
    assert run.estimated_cost.usd == 0.06 and "inputs 2 MP" in run.estimated_cost.basis  # $0.03 + 2 MP × $0.015
    assert "inputs estimated" not in run.estimated_cost.basis
    assert record.cost.usd == 0.06 and "inputs 2 MP" in record.cost.basis


def test_copies_of_provider_images_are_bounded_like_the_media_store(tmp_path) -> None:
    """``Runner.copies`` (provider URL -> stored name) keeps at most MAX_COPIES entries, none past the media
    store's age, and forgets an entry whose file the store pruned."""
    import time as clock

    from providers.media import MediaStore
    from runs.image_copies import MAX_COPIES
    from runs.runner import Runner

    media = MediaStore(tmp_path / "media", max_age=3600)
    runner = Runner(media)
    stored = media._write(b"\x89PNG one", "image/png")
    for i in range(MAX_COPIES + 500):
        runner.copies[f"https://cdn.example/{i}.png"] = stored.name
    assert len(runner.copies) == MAX_COPIES
    assert runner.copies.get("https://cdn.example/0.png") is None
    newest = f"https://cdn.example/{MAX_COPIES + 499}.png"
    assert runner.copies.get(newest) == stored.name
    (media.root / stored.name).unlink()  # pruned by the media store
    assert runner.copies.get(newest) is None and len(runner.copies) == MAX_COPIES - 1
    runner.copies.prune(now=clock.time() + 3700)
    assert len(runner.copies) == 0
