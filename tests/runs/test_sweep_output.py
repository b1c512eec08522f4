"""What a sweep leaves behind, without Gradio: the grid PNG and ZIP, the cells as JSON, the sweep as one record."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import zipfile

from PIL import Image

from endpoints import get_endpoint
from runs.sweep_files import SweepFiles
from runs.sweep_output import cell_json, grid_and_zip, grid_heading, image_size, sweep_record
from runs.sweep_runner import run_sweep
from tests.runs.test_sweep_runner import FLUX_PRO, make_plan, media_url, small


async def test_a_2x1_sweep_leaves_a_grid_a_zip_its_cells_and_one_record(rig, tmp_path):
    plan = make_plan(FLUX_PRO, small(), ("seed", "5, 6"), None)
    async with asyncio.timeout(30):
        updates = [u async for u in run_sweep(plan, rig.runner, lambda spec: rig.route(spec.provider),
                                              concurrency={"fal": 4}, media_url=media_url)]
    records = updates[-1].records
    assert records is not None and [r.state for r in records] == ["done", "done"]
    await rig.runner.await_images(records)  # as the app does: the cells' images are copied off the critical path
    grid, archive = await asyncio.to_thread(grid_and_zip, rig.runner, plan, records, SweepFiles(tmp_path),
                                            4_000_000, 1.5)
    with Image.open(grid) as image:
        assert image.format == "PNG" and image.size == image_size(grid) and image.size[0] > image.size[1]
    with zipfile.ZipFile(archive) as packed:
        names = packed.namelist()
    assert any(n.startswith("x1-y1-flux_pro-5-1.") for n in names) and any(n.startswith("x2-y1-flux_pro-6-1.")
                                                                             for n in names)
    cells = [cell_json(r) for r in records]
    assert [c["x"] for c in cells] == [5, 6] and all("file" not in i for c in cells for i in c["result"]["images"])
    assert json.loads(cells[0]["record"])["id"] == records[0].id
    entry = sweep_record(plan, small(), records, rig.route("fal"), "grid.png", "http://app.test/media/grid.png",
                         (640, 320), started=1.0)
    assert entry.state == "done" and entry.sweep is not None and entry.sweep["cells"] == [r.id for r in records]
    assert entry.result is not None and entry.result["extras"]["cells_done"] == 2
    assert entry.sweep["cached_cells"] == 0
    again = sweep_record(plan, small(), (dataclasses.replace(records[0], cached=True), records[1]), rig.route("fal"),
                         "grid.png", "http://app.test/media/grid.png", (640, 320))
    assert again.sweep is not None and again.sweep["cached_cells"] == 1  # what the session's spend counts as cached
    stopped = sweep_record(plan, small(), (records[0], dataclasses.replace(records[1], state="stopped")),
                           rig.route("fal"), "grid.png", "http://app.test/media/grid.png", (640, 320))
    assert stopped.state == "stopped" and stopped.result is not None and stopped.result["extras"]["cells_done"] == 1


def test_the_grid_is_headed_by_what_it_compares():
    """Over providers the grid is headed by the model, not by the provider the sweep started from (a walk saw a grid
    of every host titled "FLUX1.1 [pro] (Black Forest Labs)"); over endpoints, by that; otherwise by the endpoint."""
    bfl = get_endpoint("bfl_flux_pro_1_1")
    base = {"prompt": "a lighthouse", "seed": 3}
    by_provider = grid_heading(make_plan(bfl, base, ("provider", "all"), None))
    assert by_provider == "FLUX1.1 [pro] Text to Image · by provider" and "Black Forest Labs" not in by_provider
    assert grid_heading(make_plan(bfl, base, ("seed", "1, 2"), None)) == bfl.title
    i2i = get_endpoint("flux_dev_image_to_image")
    endpoints = make_plan(i2i, {"prompt": "a cat", "image_url": "https://example.test/a.png"},
                          ("seed", "1, 2"), ("endpoint", "flux_dev_image_to_image, fal-ai/flux-general/rf-inversion"))
    assert grid_heading(endpoints) == "Endpoints side by side"
