"""Parameters show in the synthetic picture: each one changes the pixels, deterministically, and a legend names the
ones that differ from the endpoint's defaults (read from its pydantic model)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw
from pydantic import Field, create_model

from endpoints import get_endpoint
from endpoints.flux_pro import FluxProInput
from sandbox.effects import build_recipe, window_influence
from sandbox.generation import GeneratedImage, PreparedGeneration, prepare_generation, render_images
from sandbox.image_inputs import ImageLoadError, ImageResolver
from sandbox.storage import FileStore
from tests.sandbox.support import DEPTH, FLUX_PRO, I2I, KEY, data_uri, submit, wait_done

RF = "fal-ai/flux-general/rf-inversion"
SEGMIND = "flux-depth-pro"
SIZE = {"width": 256, "height": 192}
PRO_SPEC = get_endpoint(FLUX_PRO)


def scene(size: tuple[int, int] = (256, 192), flip: bool = False) -> Image.Image:
    """A test photo: a yellow disc and a red block on blue (mirrored when ``flip``)."""
    image = Image.new("RGB", size, (40, 90, 160))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.15, h * 0.15, w * 0.6, h * 0.75), fill=(230, 200, 60))
    draw.rectangle((w * 0.62, h * 0.45, w * 0.95, h * 0.95), fill=(180, 40, 40))
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else image


def uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return data_uri(buffer.getvalue())


PHOTO = uri(scene())
PINK = uri(Image.new("RGB", (64, 64), (250, 120, 200)))

BASES: dict[str, dict[str, Any]] = {
    FLUX_PRO: {"prompt": "a lighthouse", "seed": 7, "image_size": SIZE, "output_format": "png"},
    I2I: {"prompt": "a cat", "seed": 7, "image_url": PHOTO},
    RF: {"prompt": "glasses", "seed": 7, "image_url": PHOTO, "output_format": "png"},
    DEPTH: {
        "prompt": "a blackhole",
        "seed": 7,
        "control_image_url": PHOTO,
        "finetune_id": "ft",
        "finetune_strength": 1.0,
        "image_size": SIZE,
        "output_format": "png",
    },
    SEGMIND: {"prompt": "a desk", "control_image": PHOTO, "output_format": "png"},
}


async def generate(endpoint: str, body: dict[str, Any]) -> tuple[list[GeneratedImage], PreparedGeneration]:
    spec = get_endpoint(endpoint)
    payload = spec.input_model.model_validate(body)
    resolver = ImageResolver(FileStore(1 << 20), "http://sandbox", 1024)
    prepared = await prepare_generation(spec, payload, resolver, 2048, allow_raw_base64=True)
    return await render_images(prepared), prepared


def pixels(image: GeneratedImage | Image.Image) -> np.ndarray:
    opened = Image.open(io.BytesIO(image.data)) if isinstance(image, GeneratedImage) else image
    return np.asarray(opened.convert("RGB"), dtype=np.float32)


def middle(array: np.ndarray) -> np.ndarray:
    """The picture between the legend at the top and the caption band at the bottom."""
    height = array.shape[0]
    return array[int(height * 0.3) : int(height * 0.7)]


CHANGES = [
    (FLUX_PRO, {"guidance_scale": 2}, {"guidance_scale": 5}),
    (FLUX_PRO, {"num_inference_steps": 10}, {"num_inference_steps": 40}),
    (FLUX_PRO, {"safety_tolerance": "2"}, {"safety_tolerance": "5"}),
    (I2I, {"strength": 0.3}, {"strength": 0.8}),
    (I2I, {"guidance_scale": 2}, {"guidance_scale": 8}),
    (RF, {}, {"loras": [{"path": "https://example.com/anime.safetensors", "scale": 1.0}]}),
    (RF, {"loras": [{"path": "a", "scale": 0.3}]}, {"loras": [{"path": "a", "scale": 1.5}]}),
    (
        RF,
        {"controlnets": [{"path": "c", "control_image_url": PHOTO, "conditioning_scale": 0.1}]},
        {"controlnets": [{"path": "c", "control_image_url": PHOTO, "conditioning_scale": 1.2}]},
    ),
    (
        RF,
        {"controlnet_unions": [{"path": "u", "controls": [{"control_image_url": PHOTO, "control_mode": "canny"}]}]},
        {
            "controlnet_unions": [
                {
                    "path": "u",
                    "controls": [{"control_image_url": PHOTO, "control_mode": "canny", "end_percentage": 0.2}],
                }
            ]
        },
    ),
    (
        RF,
        {"reference_image_url": PINK, "reference_strength": 0.1},
        {"reference_image_url": PINK, "reference_strength": 1.0},
    ),
    (RF, {"controller_guidance_reverse": 0.3}, {"controller_guidance_reverse": 0.9}),
    (RF, {"controller_guidance_forward": 0.2}, {"controller_guidance_forward": 1.0}),
    (RF, {"reverse_guidance_end": 4}, {"reverse_guidance_end": 20}),
    (RF, {"reverse_guidance_schedule": "linear_increase"}, {"reverse_guidance_schedule": "linear_decrease"}),
    (RF, {"scheduler": "euler"}, {"scheduler": "dpmpp_2m"}),
    (RF, {"base_shift": 0.5}, {"base_shift": 1.0}),
    (DEPTH, {"finetune_strength": 0.5}, {"finetune_strength": 1.5}),
    (DEPTH, {"guidance_scale": 5}, {"guidance_scale": 30}),
    (SEGMIND, {"guidance": 3}, {"guidance": 20}),
    (SEGMIND, {"steps": 15}, {"steps": 50}),
    (SEGMIND, {"prompt_upsampling": True}, {"prompt_upsampling": False}),
    (SEGMIND, {"safety_tolerance": 2}, {"safety_tolerance": 6}),
]


@pytest.mark.parametrize("endpoint, before, after", CHANGES, ids=lambda v: v if isinstance(v, str) else None)
async def test_each_parameter_visibly_changes_the_picture(endpoint, before, after):
    (first,), _ = await generate(endpoint, {**BASES[endpoint], **before})
    (second,), _ = await generate(endpoint, {**BASES[endpoint], **after})
    difference = float(np.abs(middle(pixels(first)) - middle(pixels(second))).mean())
    assert difference > 1.5, f"{before} -> {after}: mean difference {difference:.2f} grey levels"
    assert first.legend != second.legend


@pytest.mark.parametrize("endpoint", list(BASES))
async def test_same_input_same_bytes(endpoint):
    body = {**BASES[endpoint]}
    if endpoint == RF:
        body |= {
            "loras": [{"path": "l", "scale": 0.7}],
            "controlnets": [{"path": "c", "control_image_url": PHOTO}],
            "reference_image_url": PINK,
            "num_inference_steps": 12,
        }
    first, _ = await generate(endpoint, body)
    second, _ = await generate(endpoint, body)
    assert [image.data for image in first] == [image.data for image in second]


async def test_strength_keeps_more_of_the_input_as_it_falls():
    source = pixels(scene())
    distances = []
    for strength in (0.1, 0.5, 0.9):
        (image,), _ = await generate(I2I, {**BASES[I2I], "strength": strength})
        distances.append(float(np.abs(pixels(image) - source).mean()))
    assert distances[0] < distances[1] < distances[2]


async def test_depth_follows_the_control_image():
    (plain,), _ = await generate(DEPTH, BASES[DEPTH])
    (mirrored,), _ = await generate(DEPTH, {**BASES[DEPTH], "control_image_url": uri(scene(flip=True))})
    out, out_mirrored = pixels(plain), pixels(mirrored)
    disc = pixels(scene())[..., 2] < 100  # the yellow disc (blue channel low), where the control is bright
    only_plain = disc & ~disc[:, ::-1]  # the disc in one control image, background in the other
    neither = ~disc & ~disc[:, ::-1]
    rows = slice(60, 130)  # clear of the legend and the caption band
    change = np.abs(out - out_mirrored).mean(axis=2)[rows]
    assert change[only_plain[rows]].mean() > 4 * change[neither[rows]].mean()
    # the disc's outline (an edge of the control image) is drawn: strong gradients where the control has them
    control_edges = np.abs(np.diff(pixels(scene()).mean(axis=2), axis=1)) > 30
    gradient = np.abs(np.diff(out.mean(axis=2), axis=1))
    assert gradient[rows][control_edges[rows]].mean() > 3 * gradient[rows][~control_edges[rows]].mean()


async def test_legend_names_what_differs_from_the_defaults_and_is_drawn():
    (image,), prepared = await generate(FLUX_PRO, {**BASES[FLUX_PRO], "guidance_scale": 5, "num_inference_steps": 12})
    drawn = " ".join(image.legend)
    assert image.legend[0].startswith("changed: ")
    assert "guidance_scale=5" in drawn and "num_inference_steps=12" in drawn and "image_size=256x192" in drawn
    assert "seed" not in drawn and "prompt" not in drawn and "output_format" not in drawn  # shown elsewhere
    assert "guidance_scale=5 (default 3.5)" in prepared.summary
    (plain,), prepared = await generate(FLUX_PRO, {"prompt": "x", "seed": 1, "image_size": "landscape_4_3"})
    assert plain.legend == () and prepared.summary.endswith("none")


async def test_legend_is_in_the_job_log(sbx, client):
    body = {**BASES[FLUX_PRO], "guidance_scale": 6, "num_inference_steps": 2}
    submitted = await submit(client, sbx, FLUX_PRO, body)
    done = await wait_done(client, submitted["status_url"], logs=True)
    assert any("guidance_scale=6 (default 3.5)" in line["message"] for line in done["logs"])


def test_behaviour_comes_from_the_schema():
    """A field the sandbox has never heard of appears in the legend and in the variation key."""
    extended = create_model("Extended", __base__=FluxProInput, novelty=(float, Field(1.0)))
    recipe = build_recipe(PRO_SPEC, extended(prompt="x", novelty=2.5))
    assert "novelty=2.5" in recipe.legend and "novelty=2.5" in recipe.variation
    assert build_recipe(PRO_SPEC, extended(prompt="x")).variation == ""


def test_guidance_and_steps_are_relative_to_the_endpoint_default():
    assert build_recipe(PRO_SPEC, FluxProInput(prompt="x")).contrast == 1.0
    low, high = (build_recipe(PRO_SPEC, FluxProInput(prompt="x", guidance_scale=g)).contrast for g in (2, 5))
    assert low < 1.0 < high
    few, many = (build_recipe(PRO_SPEC, FluxProInput(prompt="x", num_inference_steps=s)).finish for s in (7, 50))
    assert few == 0.25 and many > 1


def test_window_influence():
    assert window_influence(0, 1) == pytest.approx(1.0, abs=1e-3)
    assert window_influence(0.5, 0.5) == 0.0
    assert window_influence(0, 0.3) > window_influence(0.7, 1.0)  # early steps matter most
    increase, constant = window_influence(0, 0.3, "linear_increase"), window_influence(0, 0.3)
    assert increase < window_influence(0, 0.3, "linear_decrease") < constant


async def test_nested_image_errors_name_their_place():
    body = {**BASES[RF], "controlnets": [{"path": "c", "control_image_url": "data:image/png;base64,bm90IGFuIGltYWdl"}]}
    with pytest.raises(ImageLoadError) as raised:
        await generate(RF, body)
    assert raised.value.detail()[0]["loc"] == ["body", "controlnets", 0, "control_image_url"]


async def test_nested_images_reach_the_picture_over_http(sbx, client):
    body = {
        **BASES[RF],
        "num_inference_steps": 2,
        "controlnets": [{"path": "c", "control_image_url": "data:image/png;base64,bm90IGFuIGltYWdl"}],
    }
    submitted = await submit(client, sbx, RF, body)
    await wait_done(client, submitted["status_url"])
    result = await client.get(submitted["response_url"], headers=KEY)
    assert result.status_code == 422 and result.json()["detail"][0]["loc"] == [
        "body",
        "controlnets",
        0,
        "control_image_url",
    ]


def test_the_roles_say_what_a_field_means_whatever_it_is_called():
    """A throwaway endpoint whose steps are ``denoise_steps`` and guidance ``cfg``: same effects, same legend."""
    from sandbox.generation import GenerationPlan
    from tests.odd_endpoint import ODD

    def recipe(**values: Any):
        return build_recipe(ODD, ODD.build_input({"text": "x", **values}))

    assert recipe().contrast == 1.0 and recipe().finish == 1.0
    low, high = (recipe(cfg=g).contrast for g in (2, 8))
    few, many = (recipe(denoise_steps=s).finish for s in (5, 40))
    assert low < 1.0 < high and few < 1.0 < many
    legend = recipe(denoise_steps=5, cfg=8, noise=3, batch=2, canvas="square_hd", avoid="fog").legend
    assert legend[0] == "canvas=square_hd"  # the size role leads the legend
    assert "denoise_steps=5" in legend and "cfg=8" in legend and "avoid=fog" in legend
    assert not any(line.startswith(("noise=", "batch=", "text=")) for line in legend)  # seed, count, prompt
    plan = GenerationPlan.from_input(ODD, ODD.build_input({"text": "a cat", "denoise_steps": 9, "noise": 4, "batch": 2}))
    assert (plan.prompt, plan.steps, plan.seed, plan.num_images, plan.mode) == ("a cat", 9, 4, 2, "text")
