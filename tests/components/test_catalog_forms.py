"""Catalog models (built from fal's documents) go through the same form code as the seeds: every field gets a
widget kind, LoRA lists get row editors, image inputs are image fields, and "Load example" round-trips."""

from __future__ import annotations

import pytest

from components.form_values import form_values_from_example, model_from_values
from endpoints import catalog_endpoints, get_endpoint
from endpoints.base import EndpointSpec
from endpoints.schema_fields import fields_of

CATALOG = catalog_endpoints()


@pytest.mark.parametrize("spec", CATALOG, ids=lambda s: s.api_name)
def test_every_catalog_field_has_a_widget_and_the_example_round_trips(spec: EndpointSpec) -> None:
    fields = fields_of(spec.input_model, spec.api_name)  # raises UnsupportedFieldError for a field without one
    assert [f.name for f in fields] == list(spec.input_model.model_fields)
    wire = model_from_values(spec, form_values_from_example(spec)).to_wire()
    assert {k: wire[k] for k in spec.example} == spec.example


def test_catalog_widgets_follow_the_document() -> None:
    lora = {f.name: f for f in fields_of(get_endpoint("fal-ai/flux-lora").input_model)}
    assert lora["loras"].kind == "json" and [i.name for i in lora["loras"].items] == ["scale", "path"]  # row editor
    assert lora["image_size"].kind == "image_size" and lora["num_inference_steps"].kind == "slider"
    assert (lora["num_inference_steps"].minimum, lora["num_inference_steps"].maximum) == (1, 50)
    assert lora["seed"].kind == "number" and lora["prompt"].kind == "textarea"
    kontext = {f.name: f for f in fields_of(get_endpoint("fal-ai/flux-pro/kontext").input_model)}
    assert kontext["image_url"].kind == "image" and kontext["image_url"].required
    assert kontext["safety_tolerance"].kind == "dropdown" and kontext["safety_tolerance"].default == "2"
    edit = {f.name: f for f in fields_of(get_endpoint("fal-ai/flux-2/lora/edit").input_model)}
    assert edit["image_urls"].kind == "json" and edit["image_urls"].is_array and edit["image_urls"].required
