"""Validation messages name the field and the rule."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from endpoints import get_endpoint
from endpoints.validation import (
    describe_for_people,
    describe_validation_error,
    field_label,
    field_path,
    machine_path,
    people_path,
    to_fal_detail,
)

PRESET_CHOICES = "'square_hd', 'square', 'portrait_4_3', 'portrait_16_9', 'landscape_4_3' or 'landscape_16_9'"


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
        ("flux_pro", {"image_size": "huge"}, [f"image_size: must be one of {PRESET_CHOICES}"]),
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


# --- in the form's words -------------------------------------------------------------------------------------


def people(api_name: str, **overrides) -> list[str]:
    """Like ``messages``, in the form's words; both renderings give one line per problem."""
    spec = get_endpoint(api_name)
    values = {k: v for k, v in {**spec.example, **overrides}.items() if v is not ...}
    with pytest.raises(ValidationError) as info:
        spec.build_input(values)
    machine = describe_validation_error(info.value, spec.input_model)
    words = describe_for_people(info.value, spec.input_model)
    assert len(machine) == len(words)
    return words


RF = "flux_general_rf_inversion"


@pytest.mark.parametrize(
    ("api_name", "overrides", "expected"),
    [
        (RF, {"loras": [{"path": "p", "scale": "strong"}]}, ["LoRA 1 → scale: must be a number"]),
        (RF, {"loras": [{"path": "p"}, {"path": "p", "scale": "x", "weight": 2}]},
         ["LoRA 2 → scale: must be a number", "LoRA 2 → weight: is not a known field here"]),
        (RF, {"loras": [{"path": "p", "scale": {"double_blocks.0": 9}}]},
         ["LoRA 1 → scale → double_blocks.0: must be between -4 and 4"]),
        (RF, {"control_loras": [{"path": "p"}]}, ["Control LoRA 1 → control_image_url: is required"]),
        (RF, {"controlnets": [{"path": "p", "control_image_url": "u", "end_percentage": 2}]},
         ["ControlNet 1 → end_percentage: must be between 0 and 1"]),
        (RF, {"controlnet_unions": [{"path": "p", "controls": [{"control_image_url": "u"}]}]},
         ["ControlNet union 1 → control 1 → control_mode: is required"]),
        (RF, {"easycontrols": [{"control_method_url": "canny", "image_url": "u", "image_control_type": "both"}]},
         ["EasyControl 1 → image_control_type: must be one of 'subject' or 'spatial'"]),
        (RF, {"fill_image": {"fill_image_url": ["u", 3]}}, ["Fill image → fill_image_url item 2: must be text"]),
        (RF, {"controlnet_unions": [{"path": "a", "controls": []}] * 2}, ["ControlNet unions: takes at most 1 item(s)"]),
        (RF, {"num_inference_steps": 0}, ["Steps: must be between 1 and 50"]),
        (RF, {"image_url": ...}, ["Image URL: is required"]),
        ("flux_pro", {"guidance_scale": float("nan")}, ["Guidance scale: must be a finite number"]),
        ("flux_pro", {"image_size": {"width": 0, "height": 512}}, ["Image size → width: must be between 1 and 14142"]),
        ("flux_pro", {"colour": "red"}, ["Colour: is not a field of this endpoint"]),
    ],
)
def test_messages_in_the_forms_words(api_name, overrides, expected):
    assert people(api_name, **overrides) == expected


def test_union_branches_report_once():
    """`scale` is a number or a per-layer dictionary: one message, from the branch that got furthest."""
    assert messages(RF, loras=[{"path": "p", "scale": "strong"}]) == ["loras[0].scale: must be a number"]
    assert messages(RF, loras=[{"path": "p", "scale": 5}]) == ["loras[0].scale: must be between -4 and 4"]
    assert messages(RF, loras=[{"path": "p", "scale": {"a": "x"}}]) == ["loras[0].scale.a: must be a number"]
    assert messages(RF, loras=[{"path": "p", "scale": "x"}, {"path": "p", "scale": "y"}]) == [
        "loras[0].scale: must be a number",
        "loras[1].scale: must be a number",
    ]
    assert messages("flux_pro", image_size={"width": 0, "height": 0}) == [
        "image_size.width: must be between 1 and 14142",
        "image_size.height: must be between 1 and 14142",
    ]


def test_without_a_model_paths_still_drop_branch_tags():
    spec = get_endpoint(RF)
    with pytest.raises(ValidationError) as info:
        spec.build_input({**spec.example, "loras": [{"path": "p", "scale": "x"}], "image_size": "huge"})
    lines = describe_validation_error(info.value)
    assert lines[0].startswith("image_size: must be one of") and lines[1] == "loras[0].scale: must be a number"
    assert describe_for_people(info.value)[1] == "LoRA 1 → scale: must be a number"


def test_paths_for_machines_and_people():
    loc = ("controlnet_unions", 0, "controls", 1, "conditioning_scale")
    assert machine_path(loc) == "controlnet_unions[0].controls[1].conditioning_scale"
    assert people_path(loc) == "ControlNet union 1 → control 2 → conditioning_scale"
    model = get_endpoint(RF).input_model
    assert machine_path(("loras", 0, "scale", "constrained-float"), model) == "loras[0].scale"
    assert people_path(("loras", 0, "scale", "dict[constrained-str,constrained-float]", "x"), model) == (
        "LoRA 1 → scale → x"
    )
    assert people_path(()) == machine_path(()) == "input"


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("loras", "LoRAs"),
        ("control_loras", "Control LoRAs"),
        ("controlnets", "ControlNets"),
        ("controlnet_unions", "ControlNet unions"),
        ("easycontrols", "EasyControls"),
        ("fill_image", "Fill image"),
        ("num_inference_steps", "Steps"),
        ("guidance_scale", "Guidance scale"),
        ("image_url", "Image URL"),
        ("finetune_id", "Finetune ID"),
        ("use_cfg_zero", "Use CFG zero"),
    ],
)
def test_field_label(name, label):
    assert field_label(name) == label
