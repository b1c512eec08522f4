"""``preprocess_inputs``: a run's values as Gradio's own preprocessing gives them, with one worker-thread hop at most
(the run event is declared with ``preprocess=False``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import pytest
from PIL import Image

from components import run_inputs
from components.form import build_form
from components.run_inputs import holds_files, preprocess_inputs
from components.widgets import NotAnImage
from endpoints import get_endpoint

RF = get_endpoint("flux_general_rf_inversion")


@pytest.fixture(scope="module")
def built() -> tuple[gr.Blocks, dict[str, Any], Any]:
    """The rf-inversion form, and an event taking its inputs with Gradio's own preprocessing (the reference)."""
    with gr.Blocks() as demo:
        form = build_form(RF)
        inputs = form.run_inputs()
        event = gr.Button().click(lambda *values: None, list(inputs.values()), None)
    return demo, inputs, demo.fns[event["id"]]


@pytest.fixture(scope="module")
def inputs(built) -> dict[str, Any]:
    return built[1]


def gradios_own(built, values: dict[str, Any]) -> dict[str, Any]:
    """What Gradio's ``preprocess_data`` gives for ``values`` (the inputs left out sent as None)."""
    demo, inputs, block_fn = built
    processed = asyncio.run(demo.preprocess_data(block_fn, [values.get(name) for name in inputs], None,
                                                 explicit_call=True))
    return {name: value for name, value in zip(inputs, processed, strict=True) if name in values}


@pytest.fixture
def hops(monkeypatch) -> list[str]:
    """Each worker-thread hop ``preprocess_inputs`` takes."""
    seen: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", "?"))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(run_inputs.anyio.to_thread, "run_sync", counted)
    return seen


def upload(path: Path) -> dict[str, Any]:
    """An upload as the page sends it (``FileData`` serialized)."""
    return {"path": str(path), "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}


def test_values_without_files_are_preprocessed_inline_as_gradio_would(built, inputs, hops):
    values = {"prompt": "a lighthouse", "seed": 7, "num_images": 1, "image_url__link": "https://example.test/a.png"}
    got = asyncio.run(preprocess_inputs(inputs, values))
    hops_taken = list(hops)
    assert got == gradios_own(built, values)
    assert list(got) == list(values), "in the order given"
    assert hops_taken == [], "no worker thread for text and numbers"


def test_uploaded_images_are_read_in_one_worker_thread(built, inputs, hops, tmp_path):
    picture = tmp_path / "picture.png"
    Image.new("RGB", (16, 16), (200, 10, 10)).save(picture)
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    image_fields = [name for name, component in inputs.items() if holds_files(component)]
    assert image_fields, "the rf-inversion form takes an image"
    values: dict[str, Any] = {"prompt": "x", image_fields[0]: upload(picture)}
    got = asyncio.run(preprocess_inputs(inputs, values))
    assert Path(got[image_fields[0]]).read_bytes() == picture.read_bytes()  # type="filepath": a path to the image
    assert got["prompt"] == "x"
    assert len(hops) == 1
    own = gradios_own(built, values)
    assert Path(own[image_fields[0]]).read_bytes() == picture.read_bytes() and own["prompt"] == "x"

    hops.clear()
    refused = asyncio.run(preprocess_inputs(inputs, {image_fields[0]: upload(notes)}))
    assert refused[image_fields[0]] == NotAnImage("notes.txt"), "the field's own check still runs"
    assert len(hops) == 1


def test_names_without_a_component_pass_through(inputs, hops):
    assert asyncio.run(preprocess_inputs(inputs, {"not_a_field": {"a": 1}, "prompt": None})) == {
        "not_a_field": {"a": 1}, "prompt": None}
