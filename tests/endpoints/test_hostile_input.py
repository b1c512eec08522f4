"""Hostile input is refused by the models, with a message naming the field, before anything is sent or billed.

Every endpoint in the registry is covered: numbers are bounded, NaN and Infinity refused, seeds kept to 0..2³²−1,
text that cannot be encoded refused, prompts and URLs limited in length, lists limited in count.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from pydantic import ValidationError

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import (
    DATA_URI_MAX_CHARS,
    PROMPT_MAX_CHARS,
    SEED_MAX,
    SHORT_TEXT_MAX_CHARS,
    URL_MAX_CHARS,
    EndpointSpec,
)
from endpoints.validation import (
    describe_for_people,
    describe_validation_error,
    to_fal_detail,
)

SPECS = pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
RF = "flux_general_rf_inversion"


def _properties(spec: EndpointSpec) -> dict[str, dict[str, Any]]:
    return spec.input_model.model_json_schema()["properties"]


def _branches(prop: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in prop.get("anyOf", [prop]) if b.get("type") != "null"]


def _fields_of_type(spec: EndpointSpec, *kinds: str) -> list[str]:
    """Top-level fields whose only non-null type is one of ``kinds`` (enums excluded)."""
    out = []
    for name, prop in _properties(spec).items():
        branches = _branches(prop)
        if len(branches) == 1 and branches[0].get("type") in kinds and "enum" not in branches[0]:
            out.append(name)
    return out


def errors(spec: EndpointSpec, people: bool = False, **overrides: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        spec.build_input({**spec.example, **overrides})
    describe = describe_for_people if people else describe_validation_error
    return describe(caught.value, spec.input_model)


def _walk(schema: Any, path: str = ""):
    """Every sub-schema of a JSON schema, with where it is."""
    if isinstance(schema, dict):
        yield path, schema
        for key, value in schema.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _walk(value, f"{path}/{i}")


# --- bounds --------------------------------------------------------------------------------------------------


@SPECS
def test_every_number_list_and_mapping_is_bounded(spec):
    """Nested models, union branches and per-layer dictionaries included."""
    for where, node in _walk(spec.input_model.model_json_schema()):
        kind = node.get("type")
        if kind in ("integer", "number"):
            assert "minimum" in node and "maximum" in node, f"{spec.api_name}{where} is an unbounded number"
        if kind == "array":
            assert "maxItems" in node, f"{spec.api_name}{where} is an unbounded list"
        if kind == "object" and isinstance(node.get("additionalProperties"), dict):
            assert "maxProperties" in node, f"{spec.api_name}{where} is an unbounded mapping"


@SPECS
def test_defaults_and_example_lie_within_the_bounds(spec):
    """pydantic does not validate defaults, so each one is given explicitly."""
    spec.build_input(spec.example)
    for name, info in spec.input_model.model_fields.items():
        if not info.is_required():
            default = info.get_default(call_default_factory=True)
            if default is not None:
                spec.build_input({**spec.example, name: default})


@pytest.mark.parametrize(
    ("api_name", "field", "too_many"),
    [
        (RF, "num_inference_steps", 51),
        (RF, "num_images", 5),
        (RF, "guidance_scale", 20.5),
        (RF, "reverse_guidance_end", 51),
        (RF, "controller_guidance_reverse", 1.5),
        ("flux_pro_depth_finetuned", "num_inference_steps", 51),
        ("flux_pro_depth_finetuned", "guidance_scale", 101),
    ],
)
def test_a_billion_steps_or_images_is_refused(api_name, field, too_many):
    spec = get_endpoint(api_name)
    for value in (too_many, 10**9):
        (message,) = errors(spec, **{field: value})
        assert message.startswith(f"{field}: must be between "), message


@pytest.mark.parametrize(
    ("field", "item", "limit"),
    [
        ("loras", {"path": "p"}, 8),
        ("control_loras", {"path": "p", "control_image_url": "u"}, 8),
        ("easycontrols", {"control_method_url": "canny", "image_url": "u", "image_control_type": "spatial"}, 8),
        ("controlnets", {"path": "p", "control_image_url": "u"}, 1),
    ],
)
def test_lists_are_limited_in_length(field, item, limit):
    spec = get_endpoint(RF)
    spec.build_input({**spec.example, field: [item] * limit})
    assert errors(spec, **{field: [item] * (limit + 1)}) == [f"{field}: takes at most {limit} item(s)"]


def test_lora_scales_are_bounded_per_layer_too():
    spec = get_endpoint(RF)
    spec.build_input({**spec.example, "loras": [{"path": "p", "scale": {"transformer.x": -4, "y": 4}}]})
    assert errors(spec, loras=[{"path": "p", "scale": 1e9}]) == ["loras[0].scale: must be between -4 and 4"]
    assert errors(spec, loras=[{"path": "p", "scale": {"x": 4.5}}]) == ["loras[0].scale.x: must be between -4 and 4"]
    layers = {f"layer{i}": 1.0 for i in range(1001)}
    assert errors(spec, loras=[{"path": "p", "scale": layers}]) == ["loras[0].scale: takes at most 1000 entries"]


# --- seeds ---------------------------------------------------------------------------------------------------


def _seed_specs() -> list[EndpointSpec]:
    return [spec for spec in ENDPOINTS if "seed" in spec.input_model.model_fields]


@pytest.mark.parametrize("spec", _seed_specs(), ids=lambda s: s.api_name)
def test_seeds_are_unsigned_32_bit(spec):
    for good in (0, 1, SEED_MAX):
        assert spec.build_input({**spec.example, "seed": good}).to_wire()["seed"] == good
    for bad in (-1, SEED_MAX + 1, 2**53 + 1, 2**64, 10**100):
        assert errors(spec, seed=bad) == ["seed: must be between 0 and 4294967295"], bad
    assert errors(spec, seed=1.5) == ["seed: must be a whole number"]
    assert errors(spec, seed="many") == ["seed: must be a whole number"]


def test_every_endpoint_has_a_seed_and_shares_one_type():
    schemas = [_properties(spec)["seed"] for spec in ENDPOINTS]
    ranges = {(b["minimum"], b["maximum"]) for s in schemas for b in _branches(s)}
    assert ranges == {(0, 4294967295)}
    assert all("number" in s["x-ui"] for s in schemas), "typed in a box, not slid"


# --- NaN and Infinity ----------------------------------------------------------------------------------------


@SPECS
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, "NaN", "Infinity"], ids=repr)
def test_nan_and_infinity_are_refused_in_every_number(spec, value):
    fields = _fields_of_type(spec, "number", "integer")
    assert fields
    for field in fields:
        if isinstance(value, str) and field in _fields_of_type(spec, "integer"):
            continue  # "NaN" for a whole number is not a number at all: `must be a whole number`
        assert errors(spec, **{field: value}) == [f"{field}: must be a finite number"], field


@pytest.mark.parametrize(
    ("overrides", "machine", "people"),
    [
        (
            {"loras": [{"path": "p", "scale": math.nan}]},
            "loras[0].scale: must be a finite number",
            "LoRA 1 → scale: must be a finite number",
        ),
        (
            {"loras": [{"path": "p", "scale": {"single_blocks.0": math.inf}}]},
            "loras[0].scale.single_blocks.0: must be a finite number",
            "LoRA 1 → scale → single_blocks.0: must be a finite number",
        ),
        (
            {"controlnets": [{"path": "p", "control_image_url": "u", "conditioning_scale": -math.inf}]},
            "controlnets[0].conditioning_scale: must be a finite number",
            "ControlNet 1 → conditioning_scale: must be a finite number",
        ),
        (
            {"image_size": {"width": math.inf, "height": 512}},
            "image_size.width: must be a finite number",
            "Image size → width: must be a finite number",
        ),
    ],
)
def test_nan_and_infinity_are_refused_in_nested_models(overrides, machine, people):
    spec = get_endpoint(RF)
    assert errors(spec, **overrides) == [machine]
    assert errors(spec, people=True, **overrides) == [people]


# --- text ----------------------------------------------------------------------------------------------------


@SPECS
def test_lone_surrogates_are_refused_in_every_string(spec):
    fields = _fields_of_type(spec, "string")
    assert "prompt" in fields
    for field in fields:
        for value in ("\ud800", "a cat \udfff", "\ud83d"):
            assert errors(spec, **{field: value}) == [f"{field}: contains characters that are not valid text"]
    assert errors(spec, people=True, prompt="\ud800") == ["Prompt: contains characters that are not valid text"]


def test_lone_surrogates_are_refused_in_nested_strings_list_items_and_keys():
    spec = get_endpoint(RF)
    rule = "contains characters that are not valid text"
    assert errors(spec, loras=[{"path": "\ud800"}]) == [f"loras[0].path: {rule}"]
    assert errors(spec, fill_image={"fill_image_url": ["ok", "\ud800"]}) == [f"fill_image.fill_image_url: {rule}"]
    (key,) = errors(spec, loras=[{"path": "p", "scale": {"\ud800": 1.0}}])  # pydantic shows the key as U+FFFD
    assert key.startswith("loras[0].scale.") and key.endswith(f": {rule}")


def test_valid_unicode_is_welcome():
    spec = get_endpoint("flux_pro")
    prompt = "一只猫 🐈 — ünïcödé, emoji 👩‍🚀 and RTL שלום"
    assert spec.build_input({**spec.example, "prompt": prompt}).to_wire()["prompt"] == prompt


@SPECS
def test_prompts_are_limited_in_length(spec):
    spec.build_input({**spec.example, "prompt": "x" * PROMPT_MAX_CHARS})
    assert errors(spec, prompt="x" * (PROMPT_MAX_CHARS + 1)) == ["prompt: must be at most 10000 characters"]


def _image_fields(spec: EndpointSpec) -> list[str]:
    return [n for n, p in _properties(spec).items() if "image" in p.get("x-ui", [])]


@pytest.mark.parametrize("spec", [s for s in ENDPOINTS if _image_fields(s)], ids=lambda s: s.api_name)
def test_urls_are_limited_in_length(spec):
    image_fields = _image_fields(spec)
    for field in image_fields:
        spec.build_input({**spec.example, field: "https://x.test/" + "a" * (URL_MAX_CHARS - 15)})
        long_url = "https://x.test/" + "a" * URL_MAX_CHARS
        assert errors(spec, **{field: long_url}) == [f"{field}: must be at most 2048 characters"]
        data_uri = "data:image/png;base64," + "A" * (URL_MAX_CHARS * 4)  # data: URIs may be far longer
        spec.build_input({**spec.example, field: data_uri})
        huge = "data:image/png;base64," + "A" * DATA_URI_MAX_CHARS
        assert errors(spec, **{field: huge}) == [f"{field}: a data: URI must be at most 20 MB; upload the file instead"]


def test_nested_urls_and_identifiers_are_limited_in_length():
    spec = get_endpoint(RF)
    assert errors(spec, loras=[{"path": "h" * 3000}]) == ["loras[0].path: must be at most 2048 characters"]
    cn = {"path": "p", "control_image_url": "u", "variant": "v" * (SHORT_TEXT_MAX_CHARS + 1)}
    assert errors(spec, controlnets=[cn]) == ["controlnets[0].variant: must be at most 256 characters"]
    depth = get_endpoint("flux_pro_depth_finetuned")
    assert errors(depth, finetune_id="f" * 300) == ["finetune_id: must be at most 256 characters"]


# --- wrong types ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_name", "overrides", "expected"),
    [
        ("flux_pro", {"prompt": ["a", "list"]}, "prompt: must be text"),
        ("flux_pro", {"prompt": 42}, "prompt: must be text"),
        ("flux_pro", {"guidance_scale": {"a": 1}}, "guidance_scale: must be a number"),
        ("flux_pro", {"num_images": [1]}, "num_images: must be a whole number"),
        ("flux_pro", {"sync_mode": "perhaps"}, "sync_mode: must be true or false"),
        ("segmind_flux_depth_pro", {"control_image": {"url": "x"}}, "control_image: must be text"),
        (RF, {"loras": "my-lora"}, "loras: must be a list"),
        (RF, {"loras": ["my-lora"]}, "loras[0]: must be an object"),
        (RF, {"fill_image": "x"}, "fill_image: must be an object"),
        (RF, {"loras": [{"path": "p", "scale": "strong"}]}, "loras[0].scale: must be a number"),
        (RF, {"loras": [{"path": "p", "scale": [1, 2]}]}, "loras[0].scale: must be a number"),
        (RF, {"loras": [{"path": "p", "scale": {"x": "strong"}}]}, "loras[0].scale.x: must be a number"),
    ],
)
def test_wrong_types_name_the_field(api_name, overrides, expected):
    assert errors(get_endpoint(api_name), **overrides) == [expected]


# --- what comes out is always encodable ------------------------------------------------------------------------


def test_messages_and_fal_detail_are_valid_json_text_even_for_hostile_keys():
    spec = get_endpoint(RF)
    values = {
        **spec.example,
        "loras": [{"path": "p", "scale": {"k" * 5000: 1.0}, "\ud800bad": 1}],
        "guidance_scale": math.nan,
        "x" * 100_000: 1,  # an unknown field with a long name
    }
    with pytest.raises(ValidationError) as caught:
        spec.build_input(values)
    for lines in (describe_validation_error(caught.value, spec.input_model), describe_for_people(caught.value)):
        json.dumps(lines, ensure_ascii=False).encode("utf-8")
        assert all(len(line) < 200 for line in lines), lines
    json.dumps(to_fal_detail(caught.value), ensure_ascii=False, allow_nan=False).encode("utf-8")


@SPECS
def test_wire_json_is_strict_json(spec):
    json.dumps(spec.build_input(spec.example).to_wire(), allow_nan=False, ensure_ascii=False).encode("utf-8")
