"""Validation messages name the field and the rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from endpoints import get_endpoint
from endpoints.validation import describe_validation_error, field_path, to_fal_detail


def messages(api_name: str, **overrides) -> list[str]:
    spec = get_endpoint(api_name)
    values = {**spec.example, **overrides}
    values = {k: v for k, v in values.items() if v is not ...}
    with pytest.raises(ValidationError) as info:
        spec.build_input(values)
    return describe_validation_error(info.value, spec.input_model)


@pytest.mark.parametrize(
    ("api_name", "overrides", "expected"),
    [
        ("segmind_flux_depth_pro", {"steps": 99}, ["steps: must be between 15 and 50"]),
        ("segmind_flux_depth_pro", {"guidance": 0}, ["guidance: must be between 1 and 50"]),
        ("segmind_flux_depth_pro", {"safety_tolerance": 7}, ["safety_tolerance: must be between 1 and 6"]),
        ("segmind_flux_depth_pro", {"output_format": "gif"}, ["output_format: must be one of 'jpg' or 'png'"]),
        ("flux_pro", {"prompt": ...}, ["prompt: is required"]),
        ("flux_pro", {"num_images": 2.5}, ["num_images: must be a whole number"]),
        ("flux_pro", {"safety_tolerance": "9"}, ["safety_tolerance: must be one of '1', '2', '3', '4', '5' or '6'"]),
        ("flux_pro", {"image_size": {"width": 0, "height": 512}}, ["image_size.width: must be between 1 and 14142"]),
        ("flux_pro", {"image_size": "huge"}, ["image_size: must be one of 'square_hd', 'square', 'portrait_4_3', "
                                              "'portrait_16_9', 'landscape_4_3' or 'landscape_16_9'"]),
        ("flux_pro_depth_finetuned", {"finetune_strength": 3}, ["finetune_strength: must be between 0 and 2"]),
        ("flux_dev_image_to_image", {"strength": 0}, ["strength: must be between 0.01 and 1"]),
        ("flux_dev_image_to_image", {"colour": "red"}, ["colour: is not a field of this endpoint"]),
        ("flux_general_rf_inversion", {"loras": [{"scale": 1}]}, ["loras[0].path: is required"]),
        (
            "flux_general_rf_inversion",
            {"controlnets": [{"path": "p", "control_image_url": "u", "end_percentage": 2}]},
            ["controlnets[0].end_percentage: must be between 0 and 1"],
        ),
        ("flux_general_rf_inversion", {"controlnet_unions": [{"path": "a", "controls": []}] * 2},
         ["controlnet_unions: takes at most 1 item(s)"]),
    ],
)
def test_messages_name_field_and_rule(api_name, overrides, expected):
    assert messages(api_name, **overrides) == expected


def test_field_path():
    assert field_path(("loras", 0, "scale")) == "loras[0].scale"
    assert field_path(()) == "input"


def test_fal_detail_shape():
    spec = get_endpoint("flux_pro")
    with pytest.raises(ValidationError) as info:
        spec.build_input({**spec.example, "num_images": 9})
    (detail,) = to_fal_detail(info.value)
    assert detail["loc"] == ["body", "num_images"] and detail["type"] == "less_than_equal" and detail["msg"]
