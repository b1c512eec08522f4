"""Every seed field of every endpoint: present, with the seed's type, default, bounds, enum and required marker.

The table below is transcribed from ``../shared/seeds/``. Bounds the seed does not give are marked with their
source: ``fal`` (fal's published API reference for its FLUX endpoints), ``bfl`` (Black Forest Labs' API for the same
model), or ``ours`` (chosen and argued beside the field in ``endpoints/``). Seeds are 0..2³²−1 everywhere.
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import IMAGE_SIZE_PRESETS, SEED_MAX, ImageSize
from endpoints.flux_general_rf_inversion import (
    ControlLoraWeight,
    ControlNet,
    ControlNetUnion,
    ControlNetUnionInput,
    EasyControlWeight,
    ImageFillInput,
    LoraWeight,
)

REQ = "required"
NONE = None
PRESETS = set(IMAGE_SIZE_PRESETS)
SAFETY = {"1", "2", "3", "4", "5", "6"}
SEED = (0, SEED_MAX)
LORA_SCALE = (-4, 4)  # ours

# (field, default, (lower, upper) or None, enum values or None)
SEED_FIELDS: dict[str, list[tuple]] = {
    "flux_pro": [
        ("prompt", REQ, None, None),
        ("image_size", "landscape_4_3", None, PRESETS),
        ("num_inference_steps", 28, (1, 50), None),  # bounds: fal
        ("seed", NONE, SEED, None),
        ("guidance_scale", 3.5, (1, 20), None),  # bounds: fal
        ("sync_mode", NONE, None, None),
        ("num_images", 1, (1, 4), None),  # bounds: fal
        ("safety_tolerance", "2", None, SAFETY),
        ("output_format", "jpeg", None, {"jpeg", "png"}),
    ],
    "flux_pro_depth_finetuned": [
        ("prompt", REQ, None, None),
        ("image_size", "landscape_4_3", None, PRESETS),
        ("num_inference_steps", 28, (1, 50), None),  # upper bound: fal, bfl
        ("seed", NONE, SEED, None),
        ("guidance_scale", 15, (1, 100), None),  # upper bound: bfl
        ("sync_mode", NONE, None, None),
        ("num_images", 1, (1, 4), None),
        ("output_format", "jpeg", None, {"jpeg", "png"}),
        ("safety_tolerance", "2", None, SAFETY),
        ("enhance_prompt", NONE, None, None),
        ("control_image_url", REQ, None, None),
        ("finetune_id", REQ, None, None),
        ("finetune_strength", REQ, (0, 2), None),  # bounds: fal's sibling finetuned endpoints
    ],
    "segmind_flux_depth_pro": [
        ("seed", 96522, SEED, None),
        ("steps", 40, (15, 50), None),
        ("prompt", REQ, None, None),
        ("guidance", 7, (1, 50), None),
        ("control_image", REQ, None, None),
        ("output_format", "jpg", None, {"jpg", "png"}),
        ("safety_tolerance", 2, (1, 6), None),
        ("prompt_upsampling", True, None, None),
    ],
    "flux_general_rf_inversion": [
        ("prompt", REQ, None, None),
        ("image_size", NONE, None, PRESETS),
        ("num_inference_steps", 28, (1, 50), None),  # upper bound: fal's other FLUX.1 [dev] endpoints
        ("seed", NONE, SEED, None),
        ("loras", [], None, None),
        ("control_loras", [], None, None),
        ("controlnets", [], None, None),
        ("controlnet_unions", [], None, None),
        ("easycontrols", [], None, None),
        ("fill_image", NONE, None, None),
        ("guidance_scale", 3.5, (0, 20), None),  # upper bound: fal's other FLUX.1 [dev] endpoints
        ("use_cfg_zero", False, None, None),
        ("sync_mode", False, None, None),
        ("num_images", 1, (1, 4), None),  # upper bound: fal (the seed's "always 1" is for streaming)
        ("enable_safety_checker", True, None, None),
        ("reference_image_url", NONE, None, None),
        ("reference_strength", 0.65, (-3, 3), None),  # ours
        ("reference_start", 0, (0, 1), None),
        ("reference_end", 1, (0, 1), None),
        ("base_shift", 0.5, (0, 5), None),  # ours
        ("max_shift", 1.15, (0, 5), None),  # ours
        ("output_format", "png", None, {"jpeg", "png"}),
        ("use_beta_schedule", False, None, None),
        ("sigma_schedule", NONE, None, {"sgm_uniform"}),
        ("scheduler", "euler", None, {"euler", "dpmpp_2m"}),
        ("image_url", REQ, None, None),
        ("controller_guidance_forward", 0.6, (0, 1), None),  # RF-Inversion paper
        ("controller_guidance_reverse", 0.75, (0, 1), None),  # RF-Inversion paper
        ("reverse_guidance_start", 0, (0, 50), None),  # upper bound: ours (≤ steps)
        ("reverse_guidance_end", 8, (0, 50), None),  # upper bound: ours (≤ steps)
        ("reverse_guidance_schedule", "constant", None, {"constant", "linear_increase", "linear_decrease"}),
    ],
    "flux_dev_image_to_image": [
        ("image_url", REQ, None, None),
        ("prompt", REQ, None, None),
        ("strength", 0.95, (0.01, 1), None),  # bounds: fal
        ("num_inference_steps", 40, (10, 50), None),  # bounds: fal
        ("seed", NONE, SEED, None),
        ("guidance_scale", 3.5, (1, 20), None),  # bounds: fal
        ("sync_mode", NONE, None, None),
        ("num_images", 1, (1, 4), None),  # bounds: fal
        ("enable_safety_checker", True, None, None),
    ],
}

NESTED_FIELDS: dict[type[BaseModel], list[tuple]] = {
    LoraWeight: [("path", REQ, None, None), ("scale", 1.0, LORA_SCALE, None)],
    ControlLoraWeight: [
        ("path", REQ, None, None),
        ("scale", 1.0, LORA_SCALE, None),
        ("control_image_url", REQ, None, None),
        ("preprocess", "None", None, {"canny", "depth", "None"}),
    ],
    ControlNet: [
        ("path", REQ, None, None),
        ("config_url", NONE, None, None),
        ("variant", NONE, None, None),
        ("control_image_url", REQ, None, None),
        ("mask_image_url", NONE, None, None),
        ("mask_threshold", 0.5, (0, 1), None),
        ("conditioning_scale", 1.0, (0, 10), None),  # ours
        ("start_percentage", 0.0, (0, 1), None),
        ("end_percentage", 1.0, (0, 1), None),
    ],
    ControlNetUnion: [
        ("path", REQ, None, None),
        ("config_url", NONE, None, None),
        ("variant", NONE, None, None),
        ("controls", REQ, None, None),
    ],
    ControlNetUnionInput: [
        ("control_image_url", REQ, None, None),
        ("mask_image_url", NONE, None, None),
        ("control_mode", REQ, None, {"canny", "tile", "depth", "blur", "pose", "gray", "low-quality"}),
        ("conditioning_scale", 1.0, (0, 10), None),  # ours
        ("mask_threshold", 0.5, (0, 1), None),
        ("start_percentage", 0.0, (0, 1), None),
        ("end_percentage", 1.0, (0, 1), None),
    ],
    EasyControlWeight: [
        ("control_method_url", REQ, None, None),
        ("scale", 1.0, LORA_SCALE, None),  # ours
        ("image_url", REQ, None, None),
        ("image_control_type", REQ, None, {"subject", "spatial"}),
    ],
    ImageFillInput: [("fill_image_url", REQ, None, None)],
    ImageSize: [("width", 512, (1, 14142), None), ("height", 512, (1, 14142), None)],  # bounds: fal
}


def _enum_values(schema: dict, defs: dict) -> set | None:
    if "$ref" in schema:
        return _enum_values(defs[schema["$ref"].split("/")[-1]], defs)
    if "enum" in schema:
        return set(schema["enum"])
    if "const" in schema:
        return {schema["const"]}
    for key in ("anyOf", "oneOf"):
        if key in schema:
            found = [v for s in schema[key] if (v := _enum_values(s, defs))]
            return set().union(*found) if found else None
    return None


def _bounds(schema: dict, defs: dict) -> tuple:
    """(minimum, maximum) of a number field, looking through ``| None`` and the number branch of a union."""
    if "$ref" in schema:
        return _bounds(defs[schema["$ref"].split("/")[-1]], defs)
    if schema.get("type") in ("integer", "number"):
        return schema.get("minimum"), schema.get("maximum")
    for branch in schema.get("anyOf", ()):
        if branch.get("type") in ("integer", "number"):
            return branch.get("minimum"), branch.get("maximum")
    return None, None


def _check_model(model: type[BaseModel], rows: list[tuple]) -> None:
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    assert list(model.model_fields) == [row[0] for row in rows], "fields and their order follow the seed"
    for name, default, bounds, enum in rows:
        info = model.model_fields[name]
        prop = schema["properties"][name]
        if default == REQ:
            assert info.is_required() and name in schema.get("required", []), name
        else:
            assert not info.is_required(), name
            actual = info.default_factory() if info.default_factory else info.default
            assert actual == default and actual is not PydanticUndefined, name
        assert _bounds(prop, defs) == (bounds or (None, None)), f"{name} bounds"
        assert _enum_values(prop, defs) == enum, f"{name} enum"
        assert prop.get("description"), f"{name} has a description"


@pytest.mark.parametrize("api_name", list(SEED_FIELDS))
def test_every_seed_field_with_default_bounds_and_enum(api_name):
    _check_model(get_endpoint(api_name).input_model, SEED_FIELDS[api_name])


@pytest.mark.parametrize("model", list(NESTED_FIELDS), ids=lambda m: m.__name__)
def test_nested_types_of_rf_inversion(model):
    _check_model(model, NESTED_FIELDS[model])


def test_the_seed_table_covers_the_registry():
    """The table above is the one place that names endpoints; everything else reads the registry."""
    assert sorted(SEED_FIELDS) == sorted(spec.api_name for spec in ENDPOINTS)


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_registry_entries_are_complete_and_found_by_id_or_api_name(spec):
    assert get_endpoint(spec.id) is spec and get_endpoint(spec.api_name) is spec
    assert spec.provider in ("fal", "segmind") and spec.title and spec.description and spec.label
    assert spec.seed_document.endswith(".txt") and spec.example
    assert spec.status == "active" or spec.status_note, "a deprecated endpoint says why"


def test_registry_ids_are_unique_and_unknown_keys_fail():
    assert len({s.id for s in ENDPOINTS}) == len({s.api_name for s in ENDPOINTS}) == len(ENDPOINTS)
    with pytest.raises(KeyError, match="unknown endpoint"):
        get_endpoint("fal-ai/nope")


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_seed_example_round_trips_to_wire_json(spec):
    wire = spec.build_input(spec.example).to_wire()
    for key, value in spec.example.items():
        assert wire[key] == value, key
    model = spec.input_model
    for key in set(wire) - set(spec.example):  # only defaults the example left out
        info = model.model_fields[key]
        assert wire[key] == (info.default_factory() if info.default_factory else info.default), key
    assert None not in wire.values(), "unset optionals are omitted, never sent as null"


def test_custom_image_size_serialises_as_object():
    spec = get_endpoint("flux_pro")
    wire = spec.build_input({**spec.example, "image_size": {"width": 1280, "height": 720}}).to_wire()
    assert wire["image_size"] == {"width": 1280, "height": 720}


def test_nested_lists_serialise_without_nulls():
    spec = get_endpoint("flux_general_rf_inversion")
    values = {
        **spec.example,
        "loras": [{"path": "https://x.test/lora.safetensors"}],
        "controlnets": [{"path": "cn", "control_image_url": "https://x.test/c.png"}],
    }
    wire = spec.build_input(values).to_wire()
    assert wire["loras"] == [{"path": "https://x.test/lora.safetensors", "scale": 1.0}]
    assert "config_url" not in wire["controlnets"][0]


def test_seed_example_of_depth_finetuned_omits_a_required_field():
    """The seed's verbatim example lacks finetune_strength; our declared example adds it (see spec notes)."""
    spec = get_endpoint("flux_pro_depth_finetuned")
    verbatim = {k: v for k, v in spec.example.items() if k != "finetune_strength"}
    with pytest.raises(Exception, match="finetune_strength"):
        spec.build_input(verbatim)
    assert any("finetune_strength" in note for note in spec.notes)
    assert spec.status == "deprecated"


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_unknown_fields_are_rejected(spec):
    unknown = next(name for name in ("image_size", "colour") if name not in spec.input_model.model_fields)
    with pytest.raises(Exception, match=unknown):
        spec.build_input({**spec.example, unknown: "square"})
