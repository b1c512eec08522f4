"""Sweep axes, value syntax, validation messages, the endpoint mapping and plans (pure: no network)."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from runs.record import Cost
from runs.sweep import (
    DEFAULT_MAX_CELLS,
    ENDPOINT_FIELD,
    Axis,
    SweepError,
    axis_from_values,
    estimate_seconds,
    format_seconds,
    label_for,
    map_input,
    parse_axis,
    parse_axis_values,
    parse_json_axis,
    plan_sweep,
    sweepable_fields,
)
from runs.sweep import axes as sweep_axes
from runs.sweep import syntax as sweep_syntax

PRO = get_endpoint("flux_pro")
SEGMIND = get_endpoint("segmind_flux_depth_pro")
I2I = get_endpoint("flux_dev_image_to_image")
RF = get_endpoint("flux_general_rf_inversion")
DEPTH = get_endpoint("flux_pro_depth_finetuned")

PRO_BASE: dict[str, Any] = {**PRO.example, "prompt": "a cat on a mat, a cat in a hat", "seed": 7}
I2I_BASE: dict[str, Any] = {**I2I.example, "seed": 7}


def messages(exc: pytest.ExceptionInfo[SweepError]) -> list[str]:
    return exc.value.messages


def flat_cost(spec: EndpointSpec, wire: dict[str, Any]) -> Cost:
    return Cost(0.05 * wire.get("num_images", 1), "$0.05 per image")


def twelve_and_a_half(spec: EndpointSpec, wire: dict[str, Any]) -> float:
    return 12.5


def plan(x: Axis, y: Axis | None = None, *, spec: EndpointSpec = PRO, base: dict[str, Any] | None = None, **kw: Any):
    options: dict[str, Any] = {
        "cost_of": flat_cost,
        "seconds_per_job": twelve_and_a_half,
        "max_cells": DEFAULT_MAX_CELLS,
        "concurrency": {"fal": 4, "segmind": 2},
        "rng": random.Random(0),
        **kw,
    }
    return plan_sweep(spec, base if base is not None else PRO_BASE, x, y, **options)


# --------------------------------------------------------------------------------------------------------------
# Value syntax


@pytest.mark.parametrize(
    ("spec", "field", "text", "expected"),
    [
        (PRO, "num_inference_steps", "1-5", [1, 2, 3, 4, 5]),
        (PRO, "num_inference_steps", "1-5 (+2)", [1, 3, 5]),
        (PRO, "num_inference_steps", "1-6 (+2)", [1, 3, 5]),
        (PRO, "num_inference_steps", "10-5 (-3)", [10, 7]),
        (PRO, "num_inference_steps", "5-1", [5, 4, 3, 2, 1]),
        (PRO, "num_inference_steps", "10-50 [5]", [10, 20, 30, 40, 50]),
        (PRO, "num_inference_steps", "20, 28, 1-3", [20, 28, 1, 2, 3]),
        (PRO, "num_inference_steps", "4.0", [4]),
        (PRO, "guidance_scale", "2, 3.5, 5", [2.0, 3.5, 5.0]),
        (PRO, "guidance_scale", '"2", 3.5', [2.0, 3.5]),
        (PRO, "guidance_scale", "1-3 [5]", [1.0, 1.5, 2.0, 2.5, 3.0]),
        (PRO, "guidance_scale", "2-3 (+0.25)", [2.0, 2.25, 2.5, 2.75, 3.0]),
        (PRO, "guidance_scale", "2.0-8.0 [4]", [2.0, 4.0, 6.0, 8.0]),
        (RF, "reference_start", "0.0-1.0 [6]", [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (RF, "base_shift", "-1--5", [-1.0, -2.0, -3.0, -4.0, -5.0]),
        (RF, "base_shift", "-5 - 5 (+5)", [-5.0, 0.0, 5.0]),
        (RF, "base_shift", "-0.5, .25", [-0.5, 0.25]),
        (PRO, "output_format", "jpeg, png", ["jpeg", "png"]),
        (PRO, "prompt", "cat -> dog, fox", ["cat", "dog", "fox"]),
        (PRO, "prompt", "cat, dog, fox", ["cat", "dog", "fox"]),
        (PRO, "prompt", '"a cat" -> "a dog, sitting", fox', ["a cat", "a dog, sitting", "fox"]),
        (PRO, "image_size", "square_hd, 1024x768", ["square_hd", "1024x768"]),
        (PRO, ENDPOINT_FIELD, "flux_pro, flux-depth-pro", ["flux_pro", "flux-depth-pro"]),
    ],
)
def test_value_syntax(spec: EndpointSpec, field: str, text: str, expected: list[Any]) -> None:
    values = parse_axis_values(spec, field, text)
    assert values == expected
    assert [type(v) for v in values] == [type(v) for v in expected]


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("num_inference_steps", "1-3 [5]",
         "X axis (num_inference_steps): 1-3 [5] gives 1.5, but num_inference_steps takes whole numbers"),
        ("num_inference_steps", "2.5", "X axis (num_inference_steps): 2.5: must be a whole number"),
        ("num_inference_steps", "1-5 (-1)", "X axis (num_inference_steps): 1-5 (-1): a step of -1 never gets from 1 to 5"),
        ("num_inference_steps", "1-5 (0)", "X axis (num_inference_steps): 1-5 (0): the step must not be 0"),
        ("num_inference_steps", "1-5 [0]",
         "X axis (num_inference_steps): 1-5 [0]: the count in [ ] must be a whole number of at least 1"),
        ("guidance_scale", "abc",
         "X axis (guidance_scale): 'abc' is not a number or a range such as 1-5, 1-5 (+2) or 1-3 [5]"),
        ("guidance_scale", "5-", "X axis (guidance_scale): '5-' is not a number or a range such as 1-5, 1-5 (+2) or 1-3 [5]"),
        ("guidance_scale", "   ", "X axis (guidance_scale): no values given"),
        ("guidance_scale", "1-100000", "X axis (guidance_scale): 1-100000: gives 100000 values; an axis takes at most 1000"),
        ("prompt", "a -> b -> c, d", None),
    ],
)
def test_syntax_errors_name_axis_and_field(field: str, text: str, message: str | None) -> None:
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, field, text, PRO_BASE)
    if message is not None:
        assert messages(exc) == [message]
    assert all(m.startswith(f"X axis ({field}): ") for m in messages(exc))


HOSTILE_AXIS = ", ".join(["0-999"] * 23_400)  # 140 KB: 23 million values once expanded


class _ReadJson:
    """``json`` for ``runs.sweep.axes``, noting each text it decodes."""

    def __init__(self, read: list[str]) -> None:
        self.read = read

    def loads(self, text: str) -> Any:
        self.read.append("json")
        return json.loads(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


@pytest.mark.parametrize("field", ["seed", "num_inference_steps", "guidance_scale", "prompt", "endpoint"])
def test_huge_axis_text_is_refused_by_name_before_any_of_it_is_read(field: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    monkeypatch.setattr(sweep_axes, "json", _ReadJson(read))
    split = sweep_syntax._csv_tokens
    monkeypatch.setattr(sweep_syntax, "_csv_tokens", lambda text: read.append("tokens") or split(text))
    with pytest.raises(SweepError) as exc:
        parse_json_axis(PRO, field, HOSTILE_AXIS, PRO_BASE, max_values=64)
    assert messages(exc) == [f"X axis ({field}): 163,798 characters; the values of an axis take at most 32,000"]
    with pytest.raises(SweepError, match="140,003 characters"):  # a JSON list as long: never decoded either
        parse_json_axis(PRO, field, "[" + "0," * 70_000 + "0]", PRO_BASE, max_values=64)
    assert read == [], "refused by its length before it was decoded or split"
    parse_json_axis(PRO, "seed", "[1, 2]", PRO_BASE, max_values=64)
    assert read == ["json"], "the spy sees a text being read"


def test_values_are_counted_before_anything_is_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    expanded: list[str] = []
    original = sweep_syntax._expand_range
    monkeypatch.setattr(sweep_syntax, "_expand_range", lambda m, t, p: expanded.append(t) or original(m, t, p))
    text = ", ".join(["0-999"] * 4000)  # 28 KB, under the text bound: 4 million values
    with pytest.raises(SweepError) as exc:
        parse_json_axis(PRO, "seed", text, PRO_BASE, max_values=64)
    assert expanded == [], "counted from each range's ends, never expanded"
    assert messages(exc) == [
        "X axis (seed): 0-999: gives 1000 values; at most 64 fit this sweep's cell limit (PLAYGROUND_SWEEP_MAX_CELLS)"
    ]
    with pytest.raises(SweepError, match=r"X axis \(seed\): 70 values; at most 64 fit"):
        parse_json_axis(PRO, "seed", "0-34, 100-134", PRO_BASE, max_values=64)
    with pytest.raises(SweepError, match=r"X axis \(seed\): 100 values; at most 64 fit"):
        parse_json_axis(PRO, "seed", "100 random seeds", PRO_BASE, max_values=64)
    with pytest.raises(SweepError, match=r"X axis \(seed\): 65 values; at most 64 fit"):
        parse_json_axis(PRO, "seed", json.dumps(list(range(65))), PRO_BASE, max_values=64)
    with pytest.raises(SweepError, match=r"X axis \(prompt\): 66 values; at most 64 fit"):
        parse_json_axis(PRO, "prompt", "cat -> " + ", ".join(f"w{i}" for i in range(65)), PRO_BASE, max_values=64)
    assert expanded == []
    assert len(parse_json_axis(PRO, "seed", "1-64", PRO_BASE, max_values=64)) == 64


def test_deeply_nested_json_axis_is_refused_by_name() -> None:
    with pytest.raises(SweepError, match=r"^X axis \(seed\): ") as exc:
        parse_json_axis(PRO, "seed", "[" * 20_000, PRO_BASE)
    assert len(str(exc.value)) < 200  # the bad value is clipped in the message
    with pytest.raises(SweepError) as exc:
        parse_json_axis(PRO, "seed", ", ".join(["x"] * 500), PRO_BASE)
    assert len(messages(exc)) == 11 and messages(exc)[-1] == "X axis (seed): ... and 490 more"


def test_y_axis_errors_say_y() -> None:
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, "num_inference_steps", "80", PRO_BASE, axis="Y")
    assert messages(exc) == ["Y axis (num_inference_steps): 80: must be between 1 and 50"]


def test_values_are_validated_against_the_schema_with_field_named_errors() -> None:
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, "num_inference_steps", "20, 80, 0", PRO_BASE)
    assert messages(exc) == [
        "X axis (num_inference_steps): 80: must be between 1 and 50",
        "X axis (num_inference_steps): 0: must be between 1 and 50",
    ]
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, "safety_tolerance", "1, 7", PRO_BASE)
    assert messages(exc) == ["X axis (safety_tolerance): 7: must be one of '1', '2', '3', '4', '5' or '6'"]
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, "image_size", "square, 0x768", PRO_BASE)
    assert messages(exc) == ["X axis (image_size): 0×768: width: must be between 1 and 14142"]


def test_unknown_and_unsweepable_fields_list_the_sweepable_ones() -> None:
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, "cfg", "1, 2", PRO_BASE)
    (message,) = messages(exc)
    assert message.startswith("X axis: 'cfg' is not a field of FLUX.1 [pro]; sweepable fields: prompt, image_size, ")
    assert message.endswith(", endpoint")
    with pytest.raises(SweepError, match="'loras' cannot be swept"):
        parse_axis(RF, "loras", "[]", RF.example)
    assert "loras" not in sweepable_fields(RF)
    assert sweepable_fields(SEGMIND) == [
        "seed", "steps", "prompt", "guidance", "control_image", "output_format", "safety_tolerance",
        "prompt_upsampling", "endpoint",
    ]


def test_duplicates_are_removed_with_a_note() -> None:
    axis = parse_axis(PRO, "guidance_scale", "2, 3.5, 2.0, 3.5", PRO_BASE)
    assert axis.values == (2.0, 3.5)
    assert axis.notes == ("X axis (guidance_scale): removed duplicate value(s) 2, 3.5",)


def test_empty_values_are_an_error() -> None:
    with pytest.raises(SweepError, match=r"X axis \(seed\): no values given"):
        axis_from_values(PRO, "seed", [], PRO_BASE)
    with pytest.raises(SweepError, match=r"X axis \(seed\): no values given"):
        parse_json_axis(PRO, "seed", "[]", PRO_BASE)


def test_enums_and_booleans_from_csv() -> None:
    assert parse_axis(PRO, "output_format", "PNG, Jpeg", PRO_BASE).values == ("png", "jpeg")
    assert parse_axis(PRO, "safety_tolerance", "1, 6", PRO_BASE).values == ("1", "6")
    assert parse_axis(I2I, "enable_safety_checker", "true, false", I2I_BASE).values == (True, False)
    # an optional field: "default" leaves it unset, so the provider's default applies
    axis = parse_axis(PRO, "sync_mode", "true, default", PRO_BASE)
    assert axis.values == (True, None)
    assert axis.labels == ("sync_mode = true", "sync_mode = default")
    with pytest.raises(SweepError) as exc:
        parse_axis(I2I, "enable_safety_checker", "true, maybe", I2I_BASE)
    assert messages(exc) == ["X axis (enable_safety_checker): maybe: must be true or false"]


def test_random_seeds_are_drawn_from_the_rng_within_the_field_range() -> None:
    values = parse_axis_values(PRO, "seed", "4 random seeds", rng=random.Random(5))
    assert values == parse_axis_values(PRO, "seed", "4 random", rng=random.Random(5))
    assert len(values) == len(set(values)) == 4
    assert all(isinstance(v, int) and 0 <= v <= 2**32 - 1 for v in values)
    assert parse_axis(PRO, "seed", "1, 2, 3", PRO_BASE).values == (1, 2, 3)
    axis = parse_axis(PRO, "seed", "42, random, -1", PRO_BASE, rng=random.Random(1))
    assert axis.values[0] == 42 and len(set(axis.values)) == 3
    assert all(0 <= v <= 2**32 - 1 for v in axis.values)
    with pytest.raises(SweepError, match=r"X axis \(seed\): 0 random: asks for 0 seeds"):
        parse_axis(PRO, "seed", "0 random", PRO_BASE)


def test_prompt_search_and_replace() -> None:
    axis = parse_axis(PRO, "prompt", "cat -> dog, fox", PRO_BASE)
    assert axis.kind == "prompt_sr" and axis.search == "cat"
    assert axis.values == ("cat", "dog", "fox")
    assert axis.labels == ("prompt: cat", "prompt: dog", "prompt: fox")
    assert axis.title == 'prompt S/R: "cat"'
    assert axis.apply(1, PRO_BASE)["prompt"] == "a dog on a mat, a dog in a hat"
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, "prompt", "bird -> dog", PRO_BASE)
    assert messages(exc) == [
        ('X axis (prompt): "bird" is not in the prompt; write the text to replace first, then its replacements: '
        "cat -> dog, fox")
    ]


def test_image_size_presets_and_custom_sizes() -> None:
    axis = parse_axis(PRO, "image_size", "Square_HD, 1024x768, 640 × 480", PRO_BASE)
    assert axis.values == ("square_hd", {"width": 1024, "height": 768}, {"width": 640, "height": 480})
    assert axis.labels == (
        "image_size = square_hd (1024×1024)", "image_size = 1024×768", "image_size = 640×480",
    )
    assert parse_axis(RF, "image_size", "default, square", RF.example).values == (None, "square")


def test_endpoint_axis_takes_ids_and_api_names() -> None:
    axis = parse_axis(I2I, ENDPOINT_FIELD, "flux_dev_image_to_image, flux-depth-pro, fal-ai/flux-general/rf-inversion",
                      I2I_BASE)
    assert axis.kind == "endpoint"
    assert axis.values == ("fal-ai/flux/dev/image-to-image", "flux-depth-pro", "fal-ai/flux-general/rf-inversion")
    assert axis.labels == (
        "endpoint = [dev] Image to Image", "endpoint = Flux Depth Pro · Segmind", "endpoint = [dev] ControlNets + LoRAs",
    )
    axis = parse_axis(PRO, ENDPOINT_FIELD, "flux_pro, fal-ai/flux-pro", PRO_BASE)
    assert axis.values == ("fal-ai/flux-pro",)
    assert axis.notes == ("X axis (endpoint): removed duplicate value(s) FLUX.1 [pro]",)


def test_endpoint_axis_refuses_unknown_endpoints_and_unmet_required_fields() -> None:
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, ENDPOINT_FIELD, "flux_pro, flux-depth-pro, sdxl", PRO_BASE)
    assert messages(exc) == [
        "X axis (endpoint): Flux Depth Pro · Segmind: control_image: is required (nothing in FLUX.1 [pro] maps to it)",
        ("X axis (endpoint): 'sdxl' is not an endpoint; known: flux_pro, flux_pro_depth_finetuned, "
        "segmind_flux_depth_pro, flux_general_rf_inversion, flux_dev_image_to_image"),
    ]


def test_json_axis() -> None:
    assert parse_json_axis(PRO, "num_inference_steps", "[10, 20, 30]", PRO_BASE).values == (10, 20, 30)
    assert parse_json_axis(PRO, "num_inference_steps", [10, 20], PRO_BASE).values == (10, 20)
    assert parse_json_axis(PRO, "safety_tolerance", "[1, \"2\"]", PRO_BASE).values == ("1", "2")
    assert parse_json_axis(PRO, "sync_mode", "[true, null]", PRO_BASE).values == (True, None)
    sizes = parse_json_axis(PRO, "image_size", '["square", {"width": 100, "height": 200}, "640x480"]', PRO_BASE)
    assert sizes.values == ("square", {"width": 100, "height": 200}, {"width": 640, "height": 480})
    assert parse_json_axis(PRO, "prompt", '["cat", "dog"]', PRO_BASE).values == ("cat", "dog")
    assert parse_json_axis(PRO, ENDPOINT_FIELD, '["flux_pro"]', PRO_BASE).values == ("fal-ai/flux-pro",)
    # not a JSON list: read with the person's syntax
    assert parse_json_axis(PRO, "num_inference_steps", "1-4", PRO_BASE).values == (1, 2, 3, 4)
    assert parse_json_axis(PRO, "prompt", "cat -> dog", PRO_BASE).values == ("cat", "dog")
    with pytest.raises(SweepError) as exc:
        parse_json_axis(PRO, "num_inference_steps", "[1.5, 80]", PRO_BASE, axis="Y")
    assert messages(exc) == [
        "Y axis (num_inference_steps): 1.5: must be a whole number",
        "Y axis (num_inference_steps): 80: must be between 1 and 50",
    ]
    with pytest.raises(SweepError, match="each value must be a single number, text or boolean"):
        parse_json_axis(PRO, "num_inference_steps", "[[1, 2]]", PRO_BASE)


def test_base_input_problems_are_reported_as_the_forms() -> None:
    with pytest.raises(SweepError) as exc:
        parse_axis(PRO, "guidance_scale", "2, 3", {**PRO_BASE, "num_inference_steps": 99})
    assert messages(exc) == ["num_inference_steps: must be between 1 and 50"]
    # the swept field's own base value does not matter
    assert parse_axis(PRO, "num_inference_steps", "2, 3", {**PRO_BASE, "num_inference_steps": 99}).values == (2, 3)


# --------------------------------------------------------------------------------------------------------------
# Labels


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("guidance_scale", 3.5, "guidance_scale = 3.5"),
        ("guidance_scale", 2.0, "guidance_scale = 2"),
        ("num_inference_steps", 28, "num_inference_steps = 28"),
        ("sync_mode", False, "sync_mode = false"),
        ("sync_mode", None, "sync_mode = default"),
        ("endpoint", "fal-ai/flux-pro", "endpoint = FLUX.1 [pro]"),
        ("endpoint", "segmind_flux_depth_pro", "endpoint = Flux Depth Pro · Segmind"),
        ("endpoint", PRO, "endpoint = FLUX.1 [pro]"),
        ("prompt", "dog", "prompt: dog"),
        ("image_size", "landscape_4_3", "image_size = landscape_4_3 (1024×768)"),
        ("image_size", {"width": 640, "height": 480}, "image_size = 640×480"),
        ("guidance_scale", 0.30000000000000004, "guidance_scale = 0.3"),
    ],
)
def test_label_for(field: str, value: Any, label: str) -> None:
    assert label_for(field, value, PRO) == label


def test_labels_tell_prompts_and_sizes_by_the_fields_kind_not_their_name() -> None:
    assert label_for("prompt", "dog") == "prompt = dog"  # no endpoint: nothing says what the field is
    assert label_for("image_size", "square") == "image_size = square"
    assert label_for("control_image", "dog", SEGMIND) == "control_image = dog"


# --------------------------------------------------------------------------------------------------------------
# map_input (the endpoint axis)


def test_map_input_carries_common_fields_under_their_names_in_the_target() -> None:
    wire = I2I.build_input({**I2I_BASE, "num_inference_steps": 30, "guidance_scale": 4}).to_wire()
    mapped, unmapped = map_input(I2I, SEGMIND, wire)
    assert mapped == {
        "control_image": I2I.example["image_url"],
        "prompt": I2I.example["prompt"],
        "steps": 30,
        "guidance": 4.0,
        "seed": 7,
    }
    assert unmapped == ["strength", "num_images", "enable_safety_checker"]

    seg_wire = SEGMIND.build_input(SEGMIND.example).to_wire()
    mapped, unmapped = map_input(SEGMIND, RF, seg_wire)
    assert mapped["image_url"] == SEGMIND.example["control_image"]
    assert (mapped["num_inference_steps"], mapped["guidance_scale"], mapped["seed"]) == (40, 7, 96522)
    assert unmapped == ["output_format", "safety_tolerance", "prompt_upsampling"]

    mapped, unmapped = map_input(SEGMIND, DEPTH, seg_wire)
    assert mapped["control_image_url"] == SEGMIND.example["control_image"]

    mapped, unmapped = map_input(PRO, RF, PRO.build_input(PRO_BASE).to_wire())
    assert mapped["image_size"] == "landscape_4_3"


def test_map_input_never_clamps_values_out_of_the_targets_bounds() -> None:
    wire = PRO.build_input({**PRO_BASE, "num_inference_steps": 5, "guidance_scale": 3}).to_wire()
    mapped, unmapped = map_input(PRO, SEGMIND, wire)
    assert "steps" not in mapped  # Segmind takes 15..50: its default (40) applies
    assert mapped["guidance"] == 3
    assert unmapped == ["image_size", "num_inference_steps", "num_images", "output_format"]
    assert SEGMIND.build_input({**mapped, "control_image": "https://x/y.png"}).to_wire()["steps"] == 40


def test_map_input_to_itself_is_the_identity() -> None:
    wire = PRO.build_input(PRO_BASE).to_wire()
    assert map_input(PRO, PRO, wire) == (wire, [])


# --------------------------------------------------------------------------------------------------------------
# Plans


def test_a_4_by_2_plan() -> None:
    x = parse_axis(PRO, "num_inference_steps", "10-40 [4]", PRO_BASE)
    y = parse_axis(PRO, "guidance_scale", "2, 3.5", PRO_BASE, axis="Y")
    p = plan(x, y)
    assert p.jobs == 8 and p.images == 8 and p.shape == (4, 2)
    assert [(c.x_index, c.y_index) for c in p.cells] == [(i, j) for j in range(2) for i in range(4)]
    assert [(c.input["num_inference_steps"], c.input["guidance_scale"]) for c in p.cells] == [
        (s, g) for g in (2.0, 3.5) for s in (10, 20, 30, 40)
    ]
    assert all(c.endpoint is PRO and c.input["seed"] == 7 for c in p.cells)
    assert p.cell(2, 1).x_value == 30 and p.cell(2, 1).y_value == 3.5
    assert p.cell(2, 1).input == PRO.build_input({**PRO_BASE, "num_inference_steps": 30, "guidance_scale": 3.5}).to_wire()
    assert p.estimated_cost == Cost(0.4, "8 cells, each $0.05 per image")
    assert p.estimated_seconds == 25.0  # 8 fal jobs, 4 at a time, 12.5 s each: two waves
    assert p.summary() == "8 jobs (4 × 2) · est. $0.40 · about 25 s"
    assert p.unmapped == {}
    data = p.to_json()
    assert data["x"]["field"] == "num_inference_steps" and data["y"]["values"] == [2.0, 3.5]
    assert len(data["cells"]) == 8 and data["cells"][0]["input"]["num_inference_steps"] == 10


def test_one_axis_plan_and_images_count() -> None:
    x = parse_axis(PRO, "num_images", "1, 2, 4", PRO_BASE)
    p = plan(x)
    assert [(c.x_index, c.y_index, c.y_value) for c in p.cells] == [(0, 0, None), (1, 0, None), (2, 0, None)]
    assert (p.jobs, p.images) == (3, 7)
    assert p.summary() == "3 jobs, 7 images · est. $0.35 · about 15 s"


def test_the_cell_cap_is_refused_with_the_count() -> None:
    x = parse_axis(PRO, "num_inference_steps", "1-12", PRO_BASE)
    y = parse_axis(PRO, "guidance_scale", "1-8", PRO_BASE, axis="Y")
    with pytest.raises(SweepError) as exc:
        plan(x, y)
    assert messages(exc) == [
        ("This sweep has 96 cells (12 × 8); the limit is 64 (PLAYGROUND_SWEEP_MAX_CELLS). "
        "Remove values or raise the limit.")
    ]
    assert plan(x, y, max_cells=96).jobs == 96


def test_same_field_on_both_axes_is_refused_except_two_prompt_replacements() -> None:
    x = parse_axis(PRO, "seed", "1, 2", PRO_BASE)
    y = parse_axis(PRO, "seed", "3, 4", PRO_BASE, axis="Y")
    with pytest.raises(SweepError, match="X and Y axes both sweep seed"):
        plan(x, y)
    x = parse_axis(PRO, "prompt", "cat -> dog", PRO_BASE)
    y = parse_axis(PRO, "prompt", "mat -> rug", PRO_BASE, axis="Y")
    p = plan(x, y)
    assert p.cell(1, 1).input["prompt"] == "a dog on a rug, a dog in a hat"
    y = parse_axis(PRO, "prompt", "a cat on -> one cat on", PRO_BASE, axis="Y")
    with pytest.raises(SweepError, match='"a cat on" is no longer in the prompt'):
        plan(x, y)


def test_an_unset_seed_is_fixed_once_for_every_cell() -> None:
    base = {k: v for k, v in PRO_BASE.items() if k != "seed"}
    p = plan(parse_axis(PRO, "guidance_scale", "2, 3", base), base=base)
    seeds = {c.input["seed"] for c in p.cells}
    assert len(seeds) == 1
    assert f"every cell uses seed {seeds.pop()}" in p.notes[0]
    p = plan(parse_axis(PRO, "seed", "1, 2", base), base=base)
    assert [c.input["seed"] for c in p.cells] == [1, 2] and p.notes == ()


def test_endpoint_axis_plan_maps_inputs_and_reports_unmapped_fields() -> None:
    x = parse_axis(I2I, ENDPOINT_FIELD, "flux_dev_image_to_image, flux-depth-pro, flux_general_rf_inversion", I2I_BASE)
    y = parse_axis(I2I, "guidance_scale", "2, 5", I2I_BASE, axis="Y")
    p = plan(x, y, spec=I2I, base=I2I_BASE)
    assert [c.endpoint.id for c in p.cells[:3]] == list(x.values)
    seg = p.cell(1, 1)
    assert seg.input["guidance"] == 5.0 and seg.input["steps"] == 40 and seg.input["seed"] == 7
    assert seg.input["control_image"] == I2I.example["image_url"]
    rf = p.cell(2, 0)
    assert rf.input["image_url"] == I2I.example["image_url"] and rf.input["guidance_scale"] == 2.0
    assert p.unmapped == {
        "flux-depth-pro": ("strength", "num_images", "enable_safety_checker"),
        "fal-ai/flux-general/rf-inversion": ("strength",),
    }
    # fal: 4 jobs at 4 at once = one wave; segmind: 2 jobs at 2 at once = one wave
    assert p.estimated_seconds == 12.5
    assert p.summary() == "6 jobs (3 × 2) · est. $0.30 · about 15 s"


def test_a_swept_value_the_other_endpoint_refuses_is_an_error_not_a_silent_default() -> None:
    x = parse_axis(I2I, ENDPOINT_FIELD, "flux_dev_image_to_image, flux-depth-pro", I2I_BASE)
    y = parse_axis(I2I, "num_inference_steps", "10, 20", I2I_BASE, axis="Y")
    with pytest.raises(SweepError) as exc:
        plan(x, y, spec=I2I, base=I2I_BASE)
    assert messages(exc) == [
        ("Y axis (num_inference_steps): 10 cannot be sent to Flux Depth Pro · Segmind "
        "(it has no such field, or refuses that value)")
    ]


def test_costs_with_unknown_prices_say_so() -> None:
    def some_unknown(spec: EndpointSpec, wire: dict[str, Any]) -> Cost:
        return Cost(None, "no price") if spec.provider == "segmind" else Cost(0.05, "$0.05 per image")

    x = parse_axis(I2I, ENDPOINT_FIELD, "flux_dev_image_to_image, flux-depth-pro", I2I_BASE)
    p = plan(x, spec=I2I, base=I2I_BASE, cost_of=some_unknown)
    assert p.estimated_cost.usd == 0.05
    assert p.estimated_cost.basis == (
        "price unknown for 1 of 2 cells (Flux Depth Pro · Segmind); the total counts the others only"
    )
    assert p.summary() == "2 jobs · est. ≥ $0.05 (some prices unknown) · about 15 s"
    p = plan(x, spec=I2I, base=I2I_BASE, cost_of=lambda s, w: Cost(None, "no price"))
    assert p.estimated_cost.usd is None and "cost unknown" in p.summary()


def test_the_price_module_plugs_in() -> None:
    from runs.pricing import estimate_cost

    x = parse_axis(PRO, "image_size", "square_hd, landscape_4_3", PRO_BASE)
    p = plan(x, cost_of=lambda spec, wire: estimate_cost(spec, wire, spec.price))
    expected = sum(estimate_cost(PRO, c.input, PRO.price).usd or 0 for c in p.cells)
    assert p.estimated_cost.usd == pytest.approx(expected)
    assert p.estimated_cost.usd is not None and p.estimated_cost.usd > 0


def test_estimated_seconds_use_per_provider_concurrency() -> None:
    x = parse_axis(PRO, "seed", "1-10", PRO_BASE)
    cells = plan(x).cells
    assert estimate_seconds(cells, lambda s, w: 10.0, {"fal": 16}) == 10.0
    assert estimate_seconds(cells, lambda s, w: 10.0, {"fal": 4}) == 30.0  # 4 + 4 + 2
    assert estimate_seconds(cells, lambda s, w: 10.0, {}) == 100.0  # unknown provider: one at a time


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (8.1, "9 s"), (12.5, "15 s"), (25, "25 s"), (89, "90 s"), (200, "3 min"), (4000, "1 h 7 min")],
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


# --------------------------------------------------------------------------------------------------------------
# Roles, not names: a throwaway endpoint whose fields have none of the usual names


def test_a_sweep_reads_the_roles_of_an_endpoint_with_odd_field_names() -> None:
    from tests.odd_endpoint import ODD, registered

    base = {"text": "a cat on a mat", "denoise_steps": 12, "cfg": 3.0, "canvas": "landscape_4_3", "batch": 2}
    with registered():
        seeds = parse_axis(ODD, "noise", "3 random seeds", base, rng=random.Random(1))  # the seed role
        assert len(seeds) == 3 and all(isinstance(v, int) for v in seeds.values)
        prompt = parse_axis(ODD, "text", "cat -> dog", base)  # the prompt role: search and replace
        assert prompt.kind == "prompt_sr" and prompt.labels == ("text: cat", "text: dog")
        size = parse_axis(ODD, "canvas", "square, 640x480", base)
        assert size.labels == ("canvas = square (512×512)", "canvas = 640×480")
        steps = parse_axis(ODD, "denoise_steps", "4, 9", base)
        p = plan(steps, spec=ODD, base=base)
        assert {cell.seed for cell in p.cells} == {p.cells[0].input["noise"]}  # one fixed seed, in the seed role
        assert p.images == 4 and "The seed was unset" in p.notes[0]  # 2 cells × batch 2
        # the endpoint axis carries each field to the one playing the same role
        mapped, unmapped = map_input(ODD, PRO, ODD.build_input({**base, "noise": 5}).to_wire())
        assert mapped == {"prompt": "a cat on a mat", "num_inference_steps": 12, "guidance_scale": 3.0, "seed": 5,
                          "image_size": "landscape_4_3", "num_images": 2, "output_format": "png"}  # no role: by name
        assert unmapped == []
        back, lost = map_input(SEGMIND, ODD, SEGMIND.build_input(SEGMIND.example).to_wire())
        assert (back["text"], back["denoise_steps"], back["cfg"], back["noise"]) == (
            SEGMIND.example["prompt"], SEGMIND.example["steps"], SEGMIND.example["guidance"], SEGMIND.example["seed"])
        assert "control_image" in lost  # the odd endpoint takes no input image


def test_a_grid_past_the_pixel_budget_is_refused_at_plan_time_before_anything_is_priced() -> None:
    priced: list[object] = []
    x = parse_axis(PRO, "seed", "1-200", PRO_BASE)
    y = parse_axis(PRO, "guidance_scale", "2, 3, 4, 5", PRO_BASE, axis="Y")
    with pytest.raises(SweepError) as exc:  # 800 cells of at least 256 px: ~60 MP; Pillow refuses past ~179 MP
        plan(x, y, max_cells=1000, max_grid_pixels=32_000_000, cost_of=lambda s, w: priced.append(w) or flat_cost(s, w))
    assert priced == []
    assert "PLAYGROUND_SWEEP_MAX_GRID_PIXELS" in messages(exc)[0] and "256-px tiles" in messages(exc)[0]
    assert plan(x, y, max_cells=1000, max_grid_pixels=100_000_000).jobs == 800


@pytest.mark.parametrize("api_name", ["flux_pro", "flux_general_rf_inversion", "segmind_flux_depth_pro",
                                      "flux_dev_image_to_image"])
def test_each_axis_example_is_values_the_field_takes(api_name: str):
    """The values box's placeholder for each field (``axis_example``) reads as values of that field, within its
    rules: a visitor who types the example gets a plan, not an error."""
    spec = get_endpoint(api_name)
    for name in sweep_syntax.sweepable_fields(spec):
        example = sweep_syntax.axis_example(spec, name)
        if name in (sweep_syntax.ENDPOINT_FIELD, sweep_syntax.PROVIDER_FIELD) or not example:
            continue
        text = re.sub(r" \(\d+ values from .*\)$", "", example.removeprefix("e.g. ").split(", or ")[0])
        if text.startswith("search -> replace"):
            text = "cat -> dog, fox"
        values = sweep_syntax.parse_axis_values(spec, name, text, rng=random.Random(1))
        assert values, (name, example)
        base = {**spec.example, spec.field_for("prompt") or "prompt": "a cat on a wall"}
        sweep_axes.axis_from_values(spec, name, values, base)  # within the field's rules (raises SweepError if not)


@pytest.mark.parametrize(("spec", "field", "typed"), [
    (PRO, "seed", "4 random seeds"),
    (PRO, "seed", "random, 7, -1"),
    (PRO, "guidance_scale", "1.5-4.5 [4]"),
    (PRO, "guidance_scale", "1-2 [7]"),  # 1.1666666666666667: more digits than a label shows
    (PRO, "guidance_scale", "1.000000000001, 2"),
    (PRO, "num_inference_steps", "10-30 (+10)"),
    (PRO, "image_size", "landscape_4_3, 1024x768, square"),
    (PRO, "safety_tolerance", "1, 2, 5"),
    (PRO, "sync_mode", "true, false"),
    (PRO, "prompt", 'cat -> dog, "fox, red", hat'),
    (PRO, "prompt", "a cat on a mat, a dog"),
    (PRO, ENDPOINT_FIELD, "flux_pro, fal-ai/flux-pro/v1.1"),
    (get_endpoint("fal-ai/flux-pro/v1.1"), "provider", "all"),
])
def test_a_stored_axis_is_written_back_as_the_text_that_gives_its_values(spec, field, typed):
    """A sweep restored from the history fills its values box: the text reads back as the very values that ran
    (random seeds as the seeds drawn, ranges as their values, quotes kept), so Run again makes the same cells."""
    base = {**spec.example, "prompt": "a cat on a mat, a cat in a hat", "seed": 7}
    stored = json.loads(json.dumps(parse_axis(spec, field, typed, base).to_json()))  # as the history keeps it
    text = sweep_syntax.axis_text(spec, stored["field"], stored["kind"], stored["values"])
    assert text is not None
    again = parse_axis(spec, field, text, base, rng=random.Random(1))
    assert list(again.values) == stored["values"] and list(again.labels) == stored["labels"]


def test_an_axis_that_would_read_back_otherwise_is_not_written():
    assert sweep_syntax.axis_text(PRO, "guidance_scale", "value", ["not a number"]) is None
    assert sweep_syntax.axis_text(PRO, "no_such_field", "value", [1, 2]) is None
    assert sweep_syntax.axis_text(PRO, "prompt", "prompt_sr", ["a -> b", "c"]) is None
    assert sweep_syntax.axis_text(PRO, "seed", "value", []) is None


def test_endpoints_and_providers_are_written_back_by_name():
    fal_11 = get_endpoint("fal-ai/flux-pro/v1.1")
    assert sweep_syntax.axis_text(fal_11, "provider", "endpoint", ["fal-ai/flux-pro/v1.1", "flux-pro-1.1"]) == "fal, bfl"
    assert sweep_syntax.axis_text(PRO, ENDPOINT_FIELD, "endpoint", ["fal-ai/flux-pro", "fal-ai/flux-pro/v1.1"]) == (
        "flux_pro, " + fal_11.api_name)


def test_a_measured_time_reads_as_the_history_shows_it():
    from runs.sweep import format_elapsed

    assert [format_elapsed(s) for s in (0.04, 11.24, 59.94, 59.96, 125, 180)] == [
        "0.0 s", "11.2 s", "59.9 s", "1 min", "2 min 5 s", "3 min"]
