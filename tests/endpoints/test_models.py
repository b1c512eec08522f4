"""One model on several providers: values carried from one provider's schema to another's, nothing dropped silently."""

from __future__ import annotations

import pytest

from endpoints import get_endpoint
from endpoints.models import MODELS, model_of, translate

FAL_PRO = get_endpoint("flux_pro")  # fal's FLUX.1 [pro] schema: image_size, string safety_tolerance, num_images …
BFL_PRO = get_endpoint("bfl_flux_pro_1_1")
BFL_ULTRA = get_endpoint("bfl_flux_pro_1_1_ultra")
BFL_FLEX = get_endpoint("bfl_flux_2_flex")
I2I = get_endpoint("flux_dev_image_to_image")
KONTEXT = get_endpoint("bfl_flux_kontext_pro")


def test_fal_values_reach_bfl_by_meaning() -> None:
    values = {"prompt": "a lighthouse", "seed": 7, "image_size": "landscape_4_3", "safety_tolerance": "3",
              "output_format": "png", "num_images": 2, "guidance_scale": 3.5, "num_inference_steps": 28}
    moved = translate(values, FAL_PRO, BFL_PRO)
    assert moved.values == {"prompt": "a lighthouse", "seed": 7, "width": 1024, "height": 768,
                            "safety_tolerance": 3, "output_format": "png"}
    assert dict(moved.unmapped).keys() == {"num_images", "guidance_scale", "num_inference_steps"}
    assert BFL_PRO.input_model.model_validate(moved.values)


def test_and_back_again() -> None:
    moved = translate({"prompt": "p", "seed": 3, "width": 1024, "height": 768, "safety_tolerance": 4,
                       "prompt_upsampling": True}, BFL_PRO, FAL_PRO)
    assert moved.values == {"prompt": "p", "seed": 3, "image_size": "landscape_4_3", "safety_tolerance": "4"}
    assert dict(moved.unmapped) == {"prompt_upsampling": "FLUX.1 [pro] Text to Image has no such setting"}


def test_a_size_is_rounded_to_the_targets_multiple_and_said() -> None:
    moved = translate({"prompt": "p", "image_size": {"width": 1000, "height": 700}}, FAL_PRO, BFL_PRO)
    assert (moved.values["width"], moved.values["height"]) == (992, 704)
    assert moved.notes() == ["width/height: 1000×700 became 992×704 to fit"]


def test_a_size_becomes_an_aspect_ratio_where_that_is_all_there_is() -> None:
    moved = translate({"prompt": "p", "image_size": "landscape_16_9"}, FAL_PRO, BFL_ULTRA)
    assert moved.values["aspect_ratio"] == "16:9" and moved.adjusted


def test_a_value_out_of_the_targets_range_is_named_not_dropped() -> None:
    moved = translate({"prompt": "p", "safety_tolerance": "6"}, FAL_PRO, BFL_FLEX)  # FLUX.2 stops at 5
    assert "safety_tolerance" not in moved.values
    assert any(name == "safety_tolerance" and "refuses 6" in why for name, why in moved.unmapped)


def test_the_input_image_keeps_its_meaning() -> None:
    moved = translate({"prompt": "p", "image_url": "https://example.com/a.png", "strength": 0.9}, I2I, KONTEXT)
    assert moved.values["input_image"] == "https://example.com/a.png"
    assert "strength" in dict(moved.unmapped)


def test_models_name_their_endpoints() -> None:
    assert model_of("flux-pro-1.1") is model_of("fal-ai/flux-pro/v1.1") is MODELS[0]
    assert model_of("fal-ai/flux-pro") is None
    assert all(get_endpoint(eid) for model in MODELS for eid in model.endpoint_ids if not eid.startswith("fal-ai/"))


def test_bfl_image_fields_take_a_url_or_the_image_as_plain_base64():
    """BFL's own form of an inline image is plain base64 (how the provider sends an upload); a URL keeps its limit."""
    import base64
    import io

    from PIL import Image
    from pydantic import ValidationError

    from endpoints.bfl import FluxKontextInput, FluxPro11Input

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "PNG")
    inline = base64.b64encode(buffer.getvalue() * 20).decode("ascii")
    assert len(inline) > 2048
    assert FluxKontextInput(prompt="edit", input_image=inline).input_image == inline
    assert FluxPro11Input(prompt="remix", image_prompt="https://example.test/a.png").image_prompt
    with pytest.raises(ValidationError, match="must be at most 2048 characters"):
        FluxKontextInput(prompt="edit", input_image="https://example.test/" + "a/" * 1200)
