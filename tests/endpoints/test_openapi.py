"""The OpenAPI converter (endpoints/openapi.py) on fal's published documents (endpoints/openapi_docs).

Each shipped snapshot is a real document, written from fal's published material (see its ``x-playground-snapshot``);
the small hand-made documents here only stand for what no shipped one has: a video model, broken references.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import IMAGE_SIDE_MAX, PROMPT_MAX_CHARS, SEED_MAX, WireModel
from endpoints.catalog import FLUX_SET, SHIPPED_PRICES, SNAPSHOT_DIR, build_specs, shipped_ids, snapshot_path
from endpoints.catalog import Document as CatalogDocument
from endpoints.openapi import DocumentError, NotAnImageEndpoint, Overrides, api_name_for, spec_from_openapi
from endpoints.openapi_schema import BOUND_NOTE_KEY, FLOAT_ABS_MAX, LIST_MAX
from endpoints.validation import describe_validation_error

FLUX_2_PRO = "fal-ai/flux-2-pro"
FLUX_LORA = "fal-ai/flux-lora"
KONTEXT = "fal-ai/flux-pro/kontext"
LORA_EDIT = "fal-ai/flux-2/lora/edit"
RF_INVERSION = "fal-ai/flux-general/rf-inversion"
I2I = "fal-ai/flux/dev/image-to-image"


def document(endpoint_id: str) -> dict[str, Any]:
    return json.loads(snapshot_path(endpoint_id).read_text(encoding="utf-8"))


def build(endpoint_id: str, **kwargs: Any):
    return spec_from_openapi(document(endpoint_id), **kwargs)


def errors(model: type[BaseModel], values: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(values)
    return describe_validation_error(caught.value, model)


def prop_schema(model: type[BaseModel], name: str) -> dict[str, Any]:
    return model.model_json_schema()["properties"][name]


# --- the shipped documents -------------------------------------------------------------------------------------


def test_every_flux_endpoint_and_the_seed_comparisons_are_shipped():
    assert set(FLUX_SET) | {RF_INVERSION, I2I} <= set(shipped_ids())
    required = {
        "fal-ai/flux/schnell", "fal-ai/flux/dev", FLUX_LORA, "fal-ai/flux-pro/v1.1", "fal-ai/flux-pro/v1.1-ultra",
        KONTEXT, "fal-ai/flux-pro/kontext/max", "fal-ai/flux-kontext/dev", "fal-ai/flux-2", FLUX_2_PRO,
        "fal-ai/flux-2-flex", "fal-ai/flux-2/klein/4b",
    }  # fmt: skip
    assert required <= set(FLUX_SET)


@pytest.mark.parametrize("path", sorted(SNAPSHOT_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_each_snapshot_records_its_sources_and_builds(path: Path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    snapshot = doc["x-playground-snapshot"]
    assert snapshot["written"] == "2026-12-03" and any("fal-js" in source for source in snapshot["sources"])
    spec = spec_from_openapi(doc)
    assert spec.id == path.stem.replace("__", "/") and spec.provider == "fal"
    assert issubclass(spec.input_model, WireModel)
    assert spec.build_input(spec.example).to_wire() == spec.example  # the example is fal's, and valid
    assert spec.roles["prompt"] == "prompt" and spec.roles["seed"] == "seed"
    # the order is the document's x-fal-order-properties
    order = doc["components"]["schemas"]["Input"]["x-fal-order-properties"]
    assert list(spec.input_model.model_fields) == order


def test_every_number_string_and_list_is_bounded():
    """The hostile-input rules: no field of any generated model is unbounded (nested models included)."""

    def check(model: type[BaseModel], where: str) -> None:
        schema = model.model_json_schema()
        defs = schema.get("$defs", {})
        for name, definition in [("", schema), *defs.items()]:
            for field, prop in definition.get("properties", {}).items():
                for branch in prop.get("anyOf", [prop]):
                    place = f"{where}{name}.{field}"
                    kind = branch.get("type")
                    if kind in ("integer", "number"):
                        assert {"minimum", "exclusiveMinimum"} & set(branch), place
                        assert {"maximum", "exclusiveMaximum"} & set(branch), place
                    elif kind == "string" and "enum" not in branch:
                        is_url = "maxLength" not in branch  # Url: checked by its validator (URL_MAX_CHARS)
                        assert "maxLength" in branch or is_url, place
                    elif kind == "array":
                        assert "maxItems" in branch, place

    for endpoint_id in shipped_ids():
        check(build(endpoint_id).input_model, endpoint_id)


# --- what the converter reads ----------------------------------------------------------------------------------


def test_anyof_with_null_is_an_optional_field():
    model = build(FLUX_2_PRO).input_model
    seed = model.model_fields["seed"]
    assert not seed.is_required() and seed.default is None
    assert model.model_validate({"prompt": "x", "seed": None}).to_wire() == {**_defaults(model), "prompt": "x"}
    assert errors(model, {"prompt": "x", "seed": SEED_MAX + 1}) == [f"seed: must be between 0 and {SEED_MAX}"]
    # the document gives no seed bound: the one chosen is said in the schema
    assert "4294967295" in prop_schema(model, "seed")[BOUND_NOTE_KEY]
    # an optional enum: Kontext's aspect ratio
    kontext = build(KONTEXT).input_model
    assert kontext.model_fields["aspect_ratio"].default is None
    assert kontext.model_validate({"prompt": "x", "image_url": "https://a/b.png", "aspect_ratio": "21:9"})
    assert errors(kontext, {"prompt": "x", "image_url": "https://a/b.png", "aspect_ratio": "5:1"})[0].startswith(
        "aspect_ratio: must be one of"
    )


def _defaults(model: type[WireModel]) -> dict[str, Any]:
    return {
        name: f.get_default(call_default_factory=True)
        for name, f in model.model_fields.items()
        if not f.is_required() and f.get_default(call_default_factory=True) is not None
    }


def test_nested_arrays_of_objects_become_nested_wire_models():
    model = build(FLUX_LORA).input_model
    loras = model.model_fields["loras"]
    assert loras.get_default(call_default_factory=True) == []
    (item,) = get_args(loras.annotation)
    assert issubclass(item, WireModel) and item.__name__ == "LoraWeight"
    assert item.model_fields["path"].is_required() and item.model_fields["scale"].default == 1
    ok = model.model_validate({"prompt": "x", "loras": [{"path": "https://h/l.safetensors", "scale": 0.7}]})
    assert ok.to_wire()["loras"] == [{"scale": 0.7, "path": "https://h/l.safetensors"}]
    assert errors(model, {"prompt": "x", "loras": [{"path": "p", "scale": 5}]}) == [
        "loras[0].scale: must be between 0 and 4"
    ]
    assert errors(model, {"prompt": "x", "loras": [{"path": "p", "scale": math.nan}]}) == [
        "loras[0].scale: must be a finite number"
    ]
    assert errors(model, {"prompt": "x", "loras": [{"path": "p", "weight": 1}]}) == [
        "loras[0].weight: is not a field of this endpoint"
    ]
    # fal gives no limit on the number of LoRAs: the chosen one, said in the schema
    assert errors(model, {"prompt": "x", "loras": [{"path": "p"}] * (LIST_MAX + 1)}) == [
        f"loras: takes at most {LIST_MAX} item(s)"
    ]
    assert f"at most {LIST_MAX} items" in prop_schema(model, "loras")[BOUND_NOTE_KEY]
    # two levels deep: a ControlNet union's controls; a LoRA scale that is a number or per-layer dictionary
    rf = build(RF_INVERSION).input_model
    union_item = get_args(rf.model_fields["controlnet_unions"].annotation)[0]
    controls_item = get_args(union_item.model_fields["controls"].annotation)[0]
    assert issubclass(controls_item, WireModel) and "control_mode" in controls_item.model_fields
    base = {"prompt": "x", "image_url": "https://a/b.png"}
    assert rf.model_validate({**base, "control_loras": [{"path": "p", "control_image_url": "u", "scale": {"a": 2}}]})
    assert errors(rf, {**base, "control_loras": [{"path": "p", "control_image_url": "u", "scale": {"a": 1e9}}]})


def test_image_size_is_a_preset_or_a_size_with_the_documents_bounds():
    model = build(FLUX_2_PRO).input_model
    assert model.model_fields["image_size"].default == "landscape_4_3"
    assert model.model_validate({"prompt": "x", "image_size": "square_hd"}).to_wire()["image_size"] == "square_hd"
    wide = model.model_validate({"prompt": "x", "image_size": {"width": 2048, "height": 1024}})
    assert wide.to_wire()["image_size"] == {"width": 2048, "height": 1024}
    assert errors(model, {"prompt": "x", "image_size": {"width": IMAGE_SIDE_MAX + 1, "height": 512}}) == [
        f"image_size.width: must be between 1 and {IMAGE_SIDE_MAX}"
    ]
    assert errors(model, {"prompt": "x", "image_size": {"width": 0, "height": 512}}) == [
        f"image_size.width: must be between 1 and {IMAGE_SIDE_MAX}"
    ]
    assert errors(model, {"prompt": "x", "image_size": "huge"})  # not a preset
    size_schema = model.model_json_schema()["$defs"]["ImageSize"]["properties"]["width"]
    assert size_schema["maximum"] == IMAGE_SIDE_MAX and "at least 1 px" in size_schema[BOUND_NOTE_KEY]


def test_string_enums_keep_their_string_defaults():
    model = build(FLUX_2_PRO).input_model
    tolerance = model.model_fields["safety_tolerance"]
    assert tolerance.default == "2" and get_origin(tolerance.annotation) is Literal
    assert get_args(tolerance.annotation) == ("1", "2", "3", "4", "5")
    assert model.model_fields["output_format"].default == "jpeg"
    assert errors(model, {"prompt": "x", "safety_tolerance": "9"})[0].startswith("safety_tolerance: must be one of")
    assert errors(model, {"prompt": "x", "safety_tolerance": 2})  # a number is not the string "2"


def test_an_enum_default_outside_its_choices_is_corrected_and_said():
    doc = document(FLUX_2_PRO)
    doc["components"]["schemas"]["Input"]["properties"]["safety_tolerance"]["default"] = 2  # int, choices are text
    spec = spec_from_openapi(doc)
    assert spec.input_model.model_fields["safety_tolerance"].default == "2"
    assert any("safety_tolerance: the default 2 is not one of its choices; read as '2'" in n for n in spec.notes)


def test_image_urls_is_a_list_of_image_urls_marked_for_a_multi_image_input():
    spec = build(LORA_EDIT)
    model = spec.input_model
    field = model.model_fields["image_urls"]
    assert field.is_required() and get_origin(field.annotation) is list
    assert prop_schema(model, "image_urls")["x-ui"] == ["images"]
    assert spec.roles["images"] == "image_urls" and "image" not in spec.roles
    assert spec.example["image_urls"] == [
        "https://storage.googleapis.com/falserverless/example_inputs/flux2_dev_lora_edit_input.png"
    ]
    assert errors(model, {"prompt": "x", "image_urls": ["https://a/" + "b" * 3000]}) == [
        "image_urls[0]: must be at most 2048 characters"
    ]
    # a single image input: Kontext's image_url gets the image hint; the role is "image"
    kontext = build(KONTEXT)
    assert prop_schema(kontext.input_model, "image_url")["x-ui"] == ["image"]
    assert kontext.roles["image"] == "image_url"


def test_a_ui_field_marks_an_image_whatever_its_name():
    doc = document(FLUX_2_PRO)
    props = doc["components"]["schemas"]["Input"]["properties"]
    props["reference"] = {"type": "string", "ui": {"field": "image"}, "x-fal-unknown": {"anything": 1}}
    props["image_url"] = {"type": "string", "ui": {"field": "text"}}  # ui.field wins over the name
    model = spec_from_openapi(doc).input_model
    assert prop_schema(model, "reference")["x-ui"] == ["image"]
    assert "x-ui" not in prop_schema(model, "image_url")


def test_hostile_input_rules_hold_in_generated_models():
    model = build(FLUX_2_PRO).input_model
    assert errors(model, {"prompt": "x" * (PROMPT_MAX_CHARS + 1)}) == [
        f"prompt: must be at most {PROMPT_MAX_CHARS} characters"
    ]
    assert errors(model, {"prompt": "\ud800"}) == ["prompt: contains characters that are not valid text"]
    assert errors(model, {"prompt": "x", "surprise": 1}) == ["surprise: is not a field of this endpoint"]
    flex = build("fal-ai/flux-2-flex").input_model
    assert errors(flex, {"prompt": "x", "guidance_scale": math.inf}) == ["guidance_scale: must be a finite number"]
    # a number the document leaves unbounded gets the argued bound
    rf = build(RF_INVERSION).input_model
    nag = rf.model_fields["nag_tau"]
    assert prop_schema(rf, "nag_tau")["minimum"] == -FLOAT_ABS_MAX and prop_schema(rf, "nag_tau")["maximum"] == (
        FLOAT_ABS_MAX
    )
    assert nag.default == 2.5


def test_roles_are_inferred_and_can_be_overridden():
    spec = build("fal-ai/flux/dev")
    assert dict(spec.roles) == {
        "prompt": "prompt", "seed": "seed", "steps": "num_inference_steps", "guidance": "guidance_scale",
        "size": "image_size", "count": "num_images",
    }  # fmt: skip
    assert build(I2I).roles["strength"] == "strength" and build(I2I).roles["image"] == "image_url"
    assert build(RF_INVERSION).roles["negative_prompt"] == "negative_prompt"
    custom = build("fal-ai/flux/dev", overrides=Overrides(roles={"steps": None, "guidance": "num_inference_steps"}))
    assert "steps" not in custom.roles and custom.roles["guidance"] == "num_inference_steps"
    with pytest.raises(ValueError, match="not a field of the input"):
        build("fal-ai/flux/dev", overrides=Overrides(roles={"steps": "steps_that_do_not_exist"}))


def test_api_names_come_from_ids():
    assert api_name_for(FLUX_2_PRO) == "flux_2_pro"
    assert api_name_for("fal-ai/flux-pro/v1.1-ultra") == "flux_pro_v1_1_ultra"
    assert api_name_for("fal-ai/flux-2/klein/4b") == "flux_2_klein_4b"
    assert api_name_for("someone/flux-thing") == "someone_flux_thing"
    assert api_name_for("fal-ai/3d") == "m_3d"


def test_shipped_prices_include_flux_2_pro_first_and_further_megapixels():
    price = build(FLUX_2_PRO, price=SHIPPED_PRICES[FLUX_2_PRO]).price
    assert price is not None and price.unit == "megapixel"
    assert (price.unit_price_usd, price.extra_unit_price_usd, price.counts_input_images) == (0.03, 0.015, True)
    assert get_endpoint(FLUX_2_PRO).price == price
    assert SHIPPED_PRICES["fal-ai/flux-pro/v1.1-ultra"].unit == "image"


# --- refused documents -----------------------------------------------------------------------------------------

VIDEO_ID = "fal-ai/some-video-model"


def video_document() -> dict[str, Any]:
    """A video model's document, in fal's layout (output: a ``video`` File, no images)."""
    return {
        "openapi": "3.0.4",
        "info": {"title": f"Queue OpenAPI for {VIDEO_ID}", "version": "1.0.0",
                 "x-fal-metadata": {"endpointId": VIDEO_ID, "category": "text-to-video"}},
        "components": {"schemas": {
            "Input": {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"],
                      "x-fal-order-properties": ["prompt"]},
            "File": {"type": "object", "properties": {"url": {"type": "string"}, "content_type": {"type": "string"}}},
            "Output": {"type": "object", "properties": {"video": {"$ref": "#/components/schemas/File"},
                                                        "seed": {"type": "integer"}}, "required": ["video"]},
        }},
        "paths": {
            f"/{VIDEO_ID}": {"post": {"requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Input"}}}}}},
            f"/{VIDEO_ID}/requests/{{request_id}}": {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Output"}}}}}}},
        },
    }  # fmt: skip


def test_a_video_model_is_refused_by_name_and_the_rest_of_the_catalog_is_unaffected():
    with pytest.raises(NotAnImageEndpoint) as caught:
        spec_from_openapi(video_document())
    message = str(caught.value)
    assert message.startswith(f"{VIDEO_ID}: its output has no images (video)") and "\n" not in message
    docs = {
        VIDEO_ID: CatalogDocument(VIDEO_ID, video_document(), "test"),
        FLUX_2_PRO: CatalogDocument(FLUX_2_PRO, document(FLUX_2_PRO), "shipped snapshot"),
    }
    result = build_specs(docs)
    assert [s.id for s in result.specs] == [FLUX_2_PRO]
    assert len(result.problems) == 1 and result.problems[0].startswith(VIDEO_ID)


def test_bad_documents_are_refused_by_name():
    def refused(doc: dict[str, Any]) -> str:
        with pytest.raises(DocumentError) as caught:
            spec_from_openapi(doc)
        assert str(caught.value).startswith(f"{FLUX_2_PRO}: ")
        return str(caught.value)

    missing = document(FLUX_2_PRO)
    del missing["paths"][f"/{FLUX_2_PRO}"]
    assert "no POST /fal-ai/flux-2-pro" in refused(missing)
    no_result = document(FLUX_2_PRO)
    del no_result["paths"][f"/{FLUX_2_PRO}/requests/{{request_id}}"]
    assert "no GET /fal-ai/flux-2-pro/requests/{request_id}" in refused(no_result)

    nowhere = document(FLUX_2_PRO)
    nowhere["components"]["schemas"]["Input"]["properties"]["image_size"]["anyOf"][0]["$ref"] = (
        "#/components/schemas/Missing"
    )
    assert "$ref '#/components/schemas/Missing' resolves nowhere" in refused(nowhere)

    cycle = document(FLUX_LORA)
    schemas = cycle["components"]["schemas"]
    schemas["LoraWeight"]["properties"]["inner"] = {"type": "array", "items": {"$ref": "#/components/schemas/LoraWeight"}}
    assert "$ref cycle" in refused_as(cycle, FLUX_LORA)

    alias_loop = document(FLUX_2_PRO)
    alias_loop["components"]["schemas"]["A"] = {"$ref": "#/components/schemas/B"}
    alias_loop["components"]["schemas"]["B"] = {"$ref": "#/components/schemas/A"}
    alias_loop["components"]["schemas"]["Input"]["properties"]["seed"] = {"$ref": "#/components/schemas/A"}
    assert "$ref cycle" in refused(alias_loop)


def refused_as(doc: dict[str, Any], endpoint_id: str) -> str:
    with pytest.raises(DocumentError) as caught:
        spec_from_openapi(doc)
    assert str(caught.value).startswith(f"{endpoint_id}: ")
    return str(caught.value)


def test_unknown_vendor_keys_are_ignored():
    doc = document(FLUX_2_PRO)
    doc["x-vendor"] = {"a": 1}
    doc["components"]["schemas"]["Input"]["x-fal-something"] = True
    doc["components"]["schemas"]["Input"]["properties"]["prompt"]["x-fal"] = {"max_file_size": 5}
    assert list(spec_from_openapi(doc).input_model.model_fields) == list(build(FLUX_2_PRO).input_model.model_fields)


# --- the seed endpoints, built from their published documents -------------------------------------------------


def _core(annotation: Any) -> tuple[Any, list[Any]]:
    """The annotation without ``Optional``/``Annotated``, and the constraints met on the way."""
    from typing import Annotated, Union

    metadata: list[Any] = []
    while True:
        if get_origin(annotation) is Annotated:
            core, *extras = get_args(annotation)
            for extra in extras:
                metadata += extra.metadata if isinstance(extra, FieldInfo) else [extra]
            annotation = core
            continue
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) in (Union, __import__("types").UnionType) and len(args) == 1:
            annotation = args[0]
            continue
        return annotation, metadata


def _nested(core: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, or as list items), if any."""
    if get_origin(core) is list:
        core = _core(get_args(core)[0])[0]
    return core if isinstance(core, type) and issubclass(core, BaseModel) else None


def facts(model: type[BaseModel], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Per field, nested models' fields included (``loras[].scale``): required, default, bounds and choices."""
    out: dict[str, dict[str, Any]] = {}
    for field_name, info in model.model_fields.items():
        name = prefix + field_name
        core, metadata = _core(info.annotation)
        inner = _nested(core)
        if inner is not None and inner.__name__ != "ImageSize":
            out.update(facts(inner, f"{name}{'[]' if get_origin(core) is list else ''}."))
        fact: dict[str, Any] = {"required": info.is_required()}
        if not info.is_required():
            fact["default"] = info.get_default(call_default_factory=True)
        for meta in [*info.metadata, *metadata]:
            for attr in ("ge", "gt", "le", "lt", "max_length"):
                value = getattr(meta, attr, None)
                if value is not None:
                    fact[attr] = value
        if get_origin(core) is Literal:
            fact["choices"] = get_args(core)
        out[name] = fact
    return out


#: Every difference between a hand-written seed module and the same endpoint built from fal's published document,
#: and why. The seed modules are the contract; the document is what fal publishes today (fal-js, 2026-04).
SEED_DIFFERENCES: dict[str, dict[tuple[str, str], tuple[Any, Any, str]]] = {
    RF_INVERSION: {
        ("negative_prompt", "field"): (None, "doc", "NAG negative prompt: added by fal after the seed was written"),
        ("nag_scale", "field"): (None, "doc", "NAG: added by fal after the seed"),
        ("nag_tau", "field"): (None, "doc", "NAG: added by fal after the seed"),
        ("nag_alpha", "field"): (None, "doc", "NAG: added by fal after the seed"),
        ("nag_end", "field"): (None, "doc", "NAG: added by fal after the seed"),
        ("controlnets", "max_length"): (1, LIST_MAX, ("the seed: 'only one controlnet is supported'; fal's schema "
                                        "has no maxItems, so the converter's list bound applies")),
        ("controlnet_unions", "max_length"): (1, LIST_MAX, "as controlnets"),
        ("num_images", "le"): (4, 10, "fal's schema allows 10; the module keeps fal's 1-4 of its other endpoints"),
        ("base_shift", "ge"): (0, 0.01, "fal's schema starts at 0.01; the module argued 0"),
        ("max_shift", "ge"): (0, 0.01, "as base_shift"),
        ("controller_guidance_forward", "ge"): (0, 0.01, "fal: 0.01-3; the module: the paper's 0-1"),
        ("controller_guidance_forward", "le"): (1, 3, "as above"),
        ("controller_guidance_reverse", "ge"): (0, 0.01, "as controller_guidance_forward"),
        ("controller_guidance_reverse", "le"): (1, 3, "as above"),
        ("reverse_guidance_start", "ge"): (0, -(2**31 - 1), ("fal gives no bound: the converter's generic integer "
                                           "bound; the module bounds timestep indices by the 50 steps")),
        ("reverse_guidance_start", "le"): (50, 2**31 - 1, "as above"),
        ("reverse_guidance_end", "ge"): (0, -(2**31 - 1), "as reverse_guidance_start"),
        ("reverse_guidance_end", "le"): (50, 2**31 - 1, "as above"),
        ("sigma_schedule", "choices"): (("sgm_uniform",), None, ("fal-js renders it as free text; the seed lists "
                                        "its one value")),
        ("sigma_schedule", "max_length"): (None, PROMPT_MAX_CHARS, "free text is bounded by the text limit"),
        # nested rows
        ("loras[].scale", "ge"): (None, 0, ("fal-js keeps one LoraWeight schema for all endpoints (a number, 0-4); "
                                  "the seed documents a number or a per-layer dictionary, bounded -4..4 in the module")),
        ("loras[].scale", "le"): (None, 4, "as above"),
        ("easycontrols[].scale", "ge"): (-4.0, 0, "fal: 0-2; the module gives EasyControl the LoRA bounds"),
        ("easycontrols[].scale", "le"): (4.0, 2, "as above"),
        ("controlnets[].conditioning_scale", "le"): (10.0, 2, "fal: at most 2; the module argued ComfyUI's 10"),
        ("controlnets[].mask_threshold", "ge"): (0, 0.01, "fal: 0.01-0.99; the seed: 0-1"),
        ("controlnets[].mask_threshold", "le"): (1, 0.99, "as above"),
        ("controlnets[].variant", "max_length"): (256, PROMPT_MAX_CHARS, ("the module: ShortText for an identifier; "
                                                  "the converter bounds text it knows nothing of by the text limit")),
        ("controlnet_unions[].variant", "max_length"): (256, PROMPT_MAX_CHARS, "as controlnets[].variant"),
        ("controlnet_unions[].controls[].conditioning_scale", "le"): (10.0, 2, "as controlnets[]"),
        ("controlnet_unions[].controls[].mask_threshold", "ge"): (0, 0.01, "as controlnets[]"),
        ("controlnet_unions[].controls[].mask_threshold", "le"): (1, 0.99, "as controlnets[]"),
        ("fill_image.fill_image_url", "required"): (True, False, ("fal's schema makes it optional; the seed requires "
                                                    "it")),
    },
    I2I: {
        ("acceleration", "field"): (None, "doc", "added by fal after the seed was written"),
        ("output_format", "field"): (None, "doc", "added by fal after the seed was written"),
        ("sync_mode", "default"): (None, False, "fal's schema says false; the module leaves it unset (not sent)"),
    },
}  # fmt: skip


@pytest.mark.parametrize("endpoint_id", [RF_INVERSION, I2I])
def test_seed_endpoints_built_from_their_documents_differ_only_where_listed(endpoint_id: str):
    """Field by field: names, required, defaults, bounds, choices. Every difference is listed and explained above.

    Seeds have no other published document: fal-ai/flux-pro and fal-ai/flux-pro/v1/depth-finetuned are no longer in
    fal-js (deprecated upstream), and the Segmind endpoint is not fal's.
    """
    hand = facts(get_endpoint(endpoint_id).input_model)
    built = facts(build(endpoint_id).input_model)
    found: dict[tuple[str, str], tuple[Any, Any]] = {}
    for name in set(hand) | set(built):
        if name not in built:
            found[(name, "field")] = ("hand", None)
            continue
        if name not in hand:
            found[(name, "field")] = (None, "doc")
            continue
        for aspect in set(hand[name]) | set(built[name]):
            mine, theirs = hand[name].get(aspect), built[name].get(aspect)
            if mine != theirs:
                found[(name, aspect)] = (mine, theirs)
    expected = {key: (a, b) for key, (a, b, _why) in SEED_DIFFERENCES[endpoint_id].items()}
    assert found == expected
    # the order: the seed's (fal's API page), fields fal added since after them
    seed_fields = list(get_endpoint(endpoint_id).input_model.model_fields)
    built_fields = list(build(endpoint_id).input_model.model_fields)
    assert built_fields[: len(seed_fields)] == seed_fields


def test_generated_models_are_served_under_their_ids_and_seeds_stay_first():
    assert get_endpoint(I2I) is next(s for s in ENDPOINTS if s.id == I2I)  # the seed module, not the document
    assert get_endpoint("flux_2_pro").id == FLUX_2_PRO


def test_building_the_whole_shipped_catalog_is_fast():
    import time

    docs = {i: CatalogDocument(i, document(i), "shipped snapshot") for i in FLUX_SET}
    started = time.perf_counter()
    result = build_specs(copy.deepcopy(docs))
    assert len(result.specs) == len(FLUX_SET) and not result.problems
    assert time.perf_counter() - started < 2.0


def test_hostile_documents_are_refused_by_name_not_crashing():
    def input_props(doc: dict[str, Any]) -> dict[str, Any]:
        return doc["components"]["schemas"]["Input"]["properties"]

    self_union = document(FLUX_2_PRO)
    self_union["components"]["schemas"]["Loop"] = {"anyOf": [{"$ref": "#/components/schemas/Loop"}, {"type": "null"}]}
    input_props(self_union)["seed"] = {"$ref": "#/components/schemas/Loop"}
    assert "$ref cycle" in refused_as(self_union, FLUX_2_PRO)

    deep = document(FLUX_2_PRO)
    schemas = deep["components"]["schemas"]
    for level in range(12):
        schemas[f"L{level}"] = {"type": "object", "properties": {"x": {"$ref": f"#/components/schemas/L{level + 1}"}}}
    schemas["L12"] = {"type": "object", "properties": {"y": {"type": "integer"}}}
    input_props(deep)["deep"] = {"$ref": "#/components/schemas/L0"}
    assert "nested deeper than 8 levels" in refused_as(deep, FLUX_2_PRO)

    lists = document(FLUX_2_PRO)
    nested: dict[str, Any] = {"type": "integer"}
    for _ in range(12):
        nested = {"type": "array", "items": nested}
    input_props(lists)["lists"] = nested
    assert "lists nested deeper than 8 levels" in refused_as(lists, FLUX_2_PRO)

    junk = document(FLUX_2_PRO)
    input_props(junk)["odd"] = {"anyOf": [1, 2]}
    assert "an unreadable anyOf" in refused_as(junk, FLUX_2_PRO)

    shadow = document(FLUX_2_PRO)
    input_props(shadow)["json"] = {"type": "string"}
    assert "input.json: a field name that clashes" in refused_as(shadow, FLUX_2_PRO)

    fine = document(FLUX_2_PRO)
    input_props(fine)["model_name"] = {"type": "string", "default": "a"}  # fal uses model_* names: allowed
    assert spec_from_openapi(fine).input_model.model_fields["model_name"].default == "a"

    # whatever the converter did not foresee leaves one endpoint out, not the app
    broken = document(FLUX_2_PRO)
    broken["components"]["schemas"]["Input"]["properties"] = ["not", "a", "mapping"]
    result = build_specs({FLUX_2_PRO: CatalogDocument(FLUX_2_PRO, broken, "test")})
    assert result.specs == () and len(result.problems) == 1 and result.problems[0].startswith(FLUX_2_PRO)


def test_an_image_size_object_default_is_kept():
    doc = document(FLUX_2_PRO)
    doc["components"]["schemas"]["Input"]["properties"]["image_size"]["default"] = {"width": 1024, "height": 1024}
    model = spec_from_openapi(doc).input_model
    assert model.model_validate({"prompt": "x"}).to_wire()["image_size"] == {"width": 1024, "height": 1024}
