"""Schema -> field descriptors: the kind chosen for every field (a table), bounds, labels, list items, groups."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from pydantic import Field, create_model

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import EndpointSpec, WireModel
from endpoints.schema_fields import (
    GROUPS,
    FieldSpec,
    UnsupportedFieldError,
    advanced_groups,
    fields_of,
    layout_order,
    spec_fields,
)

T, TA, DD, RA, SL, NU, CB, IM, IS, JS = (
    "text", "textarea", "dropdown", "radio", "slider", "number", "checkbox", "image", "image_size", "json",
)  # fmt: skip

EXPECTED_KINDS: dict[str, dict[str, str]] = {
    "flux_pro": {
        "prompt": TA, "image_size": IS, "num_inference_steps": SL, "seed": NU, "guidance_scale": SL, "sync_mode": CB,
        "num_images": SL, "safety_tolerance": DD, "output_format": RA,
    },
    "flux_pro_depth_finetuned": {
        "prompt": TA, "image_size": IS, "num_inference_steps": SL, "seed": NU, "guidance_scale": SL, "sync_mode": CB,
        "num_images": SL, "output_format": RA, "safety_tolerance": DD, "enhance_prompt": CB, "control_image_url": IM,
        "finetune_id": T, "finetune_strength": SL,
    },
    "segmind_flux_depth_pro": {
        "seed": NU, "steps": SL, "prompt": TA, "guidance": SL, "control_image": IM, "output_format": RA,
        "safety_tolerance": SL, "prompt_upsampling": CB,
    },
    "flux_general_rf_inversion": {
        "prompt": TA, "image_size": IS, "num_inference_steps": SL, "seed": NU, "loras": JS, "control_loras": JS,
        "controlnets": JS, "controlnet_unions": JS, "easycontrols": JS, "fill_image": JS, "guidance_scale": SL,
        "use_cfg_zero": CB, "sync_mode": CB, "num_images": SL, "enable_safety_checker": CB, "reference_image_url": IM,
        "reference_strength": SL, "reference_start": SL, "reference_end": SL, "base_shift": SL, "max_shift": SL,
        "output_format": RA, "use_beta_schedule": CB, "sigma_schedule": RA, "scheduler": RA, "image_url": IM,
        "controller_guidance_forward": SL, "controller_guidance_reverse": SL, "reverse_guidance_start": SL,
        "reverse_guidance_end": SL, "reverse_guidance_schedule": DD,
    },
    "flux_dev_image_to_image": {
        "image_url": IM, "prompt": TA, "strength": SL, "num_inference_steps": SL, "seed": NU, "guidance_scale": SL,
        "sync_mode": CB, "num_images": SL, "enable_safety_checker": CB,
    },
}  # fmt: skip

FIELD_TABLE = [(api, name, kind) for api, kinds in EXPECTED_KINDS.items() for name, kind in kinds.items()]


def field(api_name: str, name: str) -> FieldSpec:
    spec = get_endpoint(api_name)
    return next(f for f in spec_fields(spec) if f.name == name)


@pytest.mark.parametrize(("api_name", "name", "kind"), FIELD_TABLE, ids=[f"{a}.{n}" for a, n, _ in FIELD_TABLE])
def test_widget_kind(api_name: str, name: str, kind: str) -> None:
    assert field(api_name, name).kind == kind


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_table_covers_every_model_field(spec: EndpointSpec) -> None:
    assert list(EXPECTED_KINDS[spec.api_name]) == list(spec.input_model.model_fields)


@pytest.mark.parametrize(
    ("api_name", "name", "minimum", "maximum", "step", "integer"),
    [
        ("segmind_flux_depth_pro", "steps", 15, 50, 1, True),
        ("flux_pro", "guidance_scale", 1, 20, 0.1, False),
        ("flux_dev_image_to_image", "strength", 0.01, 1, 0.01, False),
        ("flux_pro_depth_finetuned", "finetune_strength", 0, 2, 0.05, False),
    ],
)
def test_slider_bounds_and_step(api_name, name, minimum, maximum, step, integer) -> None:
    f = field(api_name, name)
    assert (f.minimum, f.maximum, f.step, f.integer) == (minimum, maximum, step, integer)
    assert f.bounds_text() == f"{minimum}–{maximum}"


def test_a_number_hint_asks_for_a_box_even_when_bounded() -> None:
    seed = field("flux_pro", "seed")
    assert (seed.kind, seed.minimum, seed.integer, seed.nullable, seed.default, seed.basic) == (
        NU, 0, True, True, None, True,
    )  # fmt: skip


def test_descriptor_details() -> None:
    assert field("flux_pro", "safety_tolerance").choices == ("1", "2", "3", "4", "5", "6")
    assert field("flux_general_rf_inversion", "loras").template == {"path": "", "scale": 1.0}
    assert field("flux_general_rf_inversion", "loras").default == []
    assert field("flux_general_rf_inversion", "fill_image").template == {"fill_image_url": ""}
    assert field("flux_general_rf_inversion", "image_size").nullable
    assert field("flux_pro_depth_finetuned", "finetune_id").required


def test_labels_are_proper_names() -> None:
    rf = {f.name: f for f in spec_fields(get_endpoint("flux_general_rf_inversion"))}
    labels = {name: rf[name].label for name in ("loras", "control_loras", "controlnets", "controlnet_unions",
                                                "easycontrols", "image_url", "use_cfg_zero")}  # fmt: skip
    assert labels == {
        "loras": "LoRAs", "control_loras": "Control LoRAs", "controlnets": "ControlNets",
        "controlnet_unions": "ControlNet unions", "easycontrols": "EasyControls", "image_url": "Image URL",
        "use_cfg_zero": "Use CFG zero",
    }  # fmt: skip
    assert [rf[n].item_label for n in ("loras", "controlnets", "easycontrols", "fill_image")] == [
        "LoRA", "ControlNet", "EasyControl", "Fill image",
    ]  # fmt: skip


def test_list_items_are_described_field_by_field() -> None:
    loras = field("flux_general_rf_inversion", "loras")
    path, scale = loras.items
    assert (path.name, path.kind, path.required) == ("path", T, True)
    assert (scale.name, scale.kind, scale.alternative, scale.default) == ("scale", SL, "object", 1.0)
    controlnets = field("flux_general_rf_inversion", "controlnets")
    kinds = {f.name: f.kind for f in controlnets.items}
    assert kinds["control_image_url"] == IM and kinds["mask_image_url"] == IM and kinds["mask_threshold"] == SL
    assert controlnets.max_items == 1
    unions = field("flux_general_rf_inversion", "controlnet_unions")
    controls = next(f for f in unions.items if f.name == "controls")
    assert controls.kind == JS and controls.required and controls.item_label == "Control"
    assert {f.name for f in controls.items} >= {"control_image_url", "control_mode"}
    fill = field("flux_general_rf_inversion", "fill_image")
    assert not fill.is_array and fill.max_items == 1
    assert [(f.name, f.kind, f.alternative) for f in fill.items] == [("fill_image_url", IM, "array")]


def test_layout_order_puts_required_first_then_basic() -> None:
    required, basic, advanced = layout_order(spec_fields(get_endpoint("flux_dev_image_to_image")))
    assert [f.name for f in required] == ["image_url", "prompt"]
    assert [f.name for f in basic] == ["strength", "seed", "num_images"]
    assert [f.name for f in advanced] == ["num_inference_steps", "guidance_scale", "sync_mode", "enable_safety_checker"]


def test_advanced_fields_are_grouped_in_a_fixed_order() -> None:
    _, _, advanced = layout_order(spec_fields(get_endpoint("flux_general_rf_inversion")))
    groups = advanced_groups(advanced)
    assert [name for name, _ in groups] == [
        "Sampling", "LoRAs and controls", "Reference image", "Inversion controls", "Output",
    ]  # fmt: skip
    by_group = {name: [f.name for f in members] for name, members in groups}
    assert by_group["Reference image"] == ["reference_image_url", "reference_strength", "reference_start",
                                           "reference_end"]  # fmt: skip
    assert by_group["LoRAs and controls"][0] == "loras"
    assert set(GROUPS) >= {name for name, _ in groups}


def test_a_group_hint_wins_over_the_table() -> None:
    model = create_model(
        "Hinted", __base__=WireModel, prompt=(str, Field(description="p")),
        steps=(int, Field(4, ge=1, le=8, json_schema_extra={"x-ui": ["group:Speed"]})),
        other=(bool, False),
    )  # fmt: skip
    _, _, advanced = layout_order(fields_of(model))
    assert advanced_groups(advanced) == [("Other", [advanced[1]]), ("Speed", [advanced[0]])]


@pytest.mark.parametrize(
    ("annotation", "type_name"),
    [(int | str, "integer | string"), (Any, "any"), (datetime, "string (date-time)"), (bytes, "string (binary)")],
)
def test_unsupported_types_are_named(annotation, type_name) -> None:
    model = create_model("Odd", __base__=WireModel, odd=(annotation, None))
    with pytest.raises(UnsupportedFieldError, match=re.escape(f"odd_ep.odd: type {type_name} is not supported")):
        fields_of(model, "odd_ep")


def test_a_top_level_union_with_a_list_is_unsupported() -> None:
    model = create_model("Odd", __base__=WireModel, odd=(float | dict[str, float], 1.0))
    with pytest.raises(UnsupportedFieldError, match=r"odd_ep\.odd: type number \| object"):
        fields_of(model, "odd_ep")


def test_prompt_boxes_and_sampling_come_from_the_roles_not_the_names() -> None:
    from tests.odd_endpoint import ODD

    fields = {f.name: f for f in spec_fields(ODD)}
    assert fields["text"].kind == fields["avoid"].kind == "textarea"  # no textarea hint: the prompt roles
    assert fields["denoise_steps"].group == fields["cfg"].group == "Sampling"  # the steps and guidance roles
    plain = {f.name: f for f in fields_of(ODD.input_model)}  # without the roles nothing says so
    assert plain["text"].kind == "text" and plain["denoise_steps"].group == "Other"
