"""Synthetic images: deterministic bytes, inputs visible in the output, safety blackout."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from endpoints import get_endpoint
from endpoints.flux_dev_image_to_image import FluxDevImageToImageInput
from endpoints.flux_pro import FluxProInput
from endpoints.segmind_flux_depth_pro import SegmindFluxDepthProInput
from sandbox.decoding import decode_image
from sandbox.generation import GenerationPlan, caption, output_size
from sandbox.renderer import RenderSpec, encode_image, render, render_image

PRO, I2I, SEGMIND = (get_endpoint(key) for key in ("flux_pro", "flux_dev_image_to_image", "segmind_flux_depth_pro"))


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def photo(size: tuple[int, int] = (160, 120)) -> Image.Image:
    ramp = np.linspace(0, 255, size[0], dtype=np.uint8)[None, :, None].repeat(size[1], 0).repeat(3, 2)
    ramp[:, :, 2] = 255 - ramp[:, :, 0]
    return Image.fromarray(ramp, "RGB")


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_same_inputs_same_bytes_other_seed_other_bytes(fmt):
    spec = RenderSpec(prompt="a red fox", seed=1, index=0, width=128, height=96, caption="seed 1")
    first = encode_image(render_image(spec), fmt)
    assert first == encode_image(render_image(spec), fmt)
    assert first != encode_image(
        render_image(RenderSpec(prompt="a red fox", seed=2, index=0, width=128, height=96)), fmt
    )
    assert first != encode_image(
        render_image(RenderSpec(prompt="a red fox", seed=1, index=1, width=128, height=96)), fmt
    )
    assert Image.open(io.BytesIO(first)).size == (128, 96)


def test_image_to_image_strength_blends_from_input_to_pattern():
    source = photo()
    region = (slice(30, 80), slice(40, 150))  # clear of the corner mark and the prompt band
    errors = []
    for strength in (0.0, 0.5, 1.0):
        out = render_image(RenderSpec("p", 3, 0, 160, 120, mode="image", source=source, strength=strength))
        errors.append(float(np.abs(pixels(out)[region] - pixels(source)[region]).mean()))
    assert errors[0] < 1.0 < errors[1] < errors[2]


def test_depth_follows_control_image_structure():
    source = photo()
    depth = render_image(RenderSpec("p", 3, 0, 160, 120, mode="depth", source=source))
    flat = render_image(RenderSpec("p", 3, 0, 160, 120, mode="depth", source=Image.new("RGB", (160, 120), "grey")))
    assert not np.array_equal(pixels(depth), pixels(flat))
    row = pixels(depth)[60, 10:150].mean(axis=1)
    assert abs(row[-1] - row[0]) > 20  # the left-right ramp of the control image shows as shading


def test_flagged_image_is_black_but_marked():
    out = pixels(render_image(RenderSpec("nsfw", 3, 0, 200, 160, flagged=True)))
    assert (out[40:100, :] < 1).all()  # the body is black
    assert out[:12, :60].max() > 200  # the corner mark is still drawn


def test_decode_rejects_non_images_and_caps_size():
    with pytest.raises(ValueError):
        decode_image(b"not an image")
    big = io.BytesIO()
    Image.new("RGB", (2000, 500)).save(big, "PNG")
    assert decode_image(big.getvalue(), max_side=1024).size == (1024, 256)


def test_plan_reads_the_endpoint_inputs():
    plan = GenerationPlan.from_input(PRO, FluxProInput(prompt="x", seed=9, num_images=3, output_format="png"))
    assert (plan.seed, plan.steps, plan.num_images, plan.image_format, plan.mode) == (9, 28, 3, "png", "text")
    i2i = GenerationPlan.from_input(I2I, FluxDevImageToImageInput(prompt="x", image_url="data:,", strength=0.3))
    assert (i2i.mode, i2i.source_field, i2i.strength, i2i.image_format) == ("image", "image_url", 0.3, "jpeg")
    segmind = GenerationPlan.from_input(SEGMIND, SegmindFluxDepthProInput(prompt="x", control_image="u", output_format="jpg"))
    assert (segmind.mode, segmind.steps, segmind.seed, segmind.image_format) == ("depth", 40, 96522, "jpeg")
    assert (
        GenerationPlan.from_input(PRO, FluxProInput(prompt="x")).seed
        != GenerationPlan.from_input(PRO, FluxProInput(prompt="x")).seed
    )


def test_output_sizes():
    assert output_size(PRO, FluxProInput(prompt="x", image_size="portrait_16_9"), None, 2048) == ((576, 1024), None)
    assert output_size(PRO, FluxProInput(prompt="x", image_size={"width": 300, "height": 200}), None, 2048) == (
        (300, 200),
        None,
    )
    size, note = output_size(PRO, FluxProInput(prompt="x", image_size={"width": 8000, "height": 4000}), None, 2048)
    assert size == (2048, 1024) and "8000x4000" in note
    source = Image.new("RGB", (640, 480))
    assert output_size(I2I, FluxDevImageToImageInput(prompt="x", image_url="u"), source, 2048) == ((640, 480), None)


def test_render_returns_the_legend_lines_it_drew():
    plain = RenderSpec("p", 3, 0, 320, 240)
    items = tuple(f"parameter_{i}={i / 10}" for i in range(40))
    rendered = render(RenderSpec("p", 3, 0, 320, 240, legend=items))
    assert render(plain).legend_lines == ()
    assert 1 < len(rendered.legend_lines) <= 3 and rendered.legend_lines[0].startswith("changed: parameter_0=0")
    assert rendered.legend_lines[-1].endswith("…")  # wrapped to at most three lines
    band = pixels(rendered.image)[18:40, 150:300]
    assert not np.array_equal(band, pixels(render(plain).image)[18:40, 150:300])  # drawn under the mark
    assert render(RenderSpec("nsfw", 3, 0, 320, 240, flagged=True, legend=items)).legend_lines == ()


def test_the_caption_names_steps_only_where_the_endpoint_takes_them():
    from endpoints import find_endpoint

    pro11 = find_endpoint("bfl", "flux-pro-1.1")
    assert pro11 is not None and pro11.field_for("steps") is None
    plan = GenerationPlan.from_input(pro11, pro11.input_model(prompt="x", seed=1))
    assert caption(plan, 0) == "seed 1 · image 1 of 1"  # its time is simulated with 28 steps it does not take
    assert caption(GenerationPlan.from_input(PRO, FluxProInput(prompt="x", seed=2)), 0) == "seed 2 · image 1 of 1 · 28 steps"
