"""The Models tab (issue 18 step 4, issue 21 step 3): the picker, provider choice, and every model's named API."""

from __future__ import annotations

import pytest
from gradio_client import Client

from components.models_tab import (
    category_of,
    family_of,
    picker_entries,
    price_text,
    provider_choices,
    search,
)
from endpoints import DIRECT_ENDPOINTS, catalog_endpoints, get_endpoint
from sandbox import SandboxOptions
from tests.app_support import launched_app

pytestmark = pytest.mark.timeout(120)


def test_picker_lists_every_model_once_grouped_by_family_with_category_and_price():
    entries = picker_entries()
    labels = [label for label, _ in entries]
    ids = [endpoint_id for _, endpoint_id in entries]
    assert len(ids) == len(set(ids))
    # A model two providers sell is listed once (fal first); a model only BFL sells is listed too.
    assert "fal-ai/flux-pro/v1.1" in ids and "flux-pro-1.1" not in ids
    assert "flux-2-max" in ids
    assert all(spec.id in ids or get_endpoint(spec.id).provider == "bfl" for spec in catalog_endpoints())
    families = [label.split(" › ")[0] for label in labels]
    assert families == sorted(families, key=families.index)  # each family in one run
    assert families[0] == "FLUX.2"
    pro = next(label for label, i in entries if i == "fal-ai/flux-pro/v1.1")
    assert "FLUX1.1 [pro]" in pro and "text-to-image" in pro and "$0.04/MP" in pro and "2 providers" in pro


def test_family_category_and_price():
    assert family_of(get_endpoint("fal-ai/flux-pro/kontext")) == "FLUX.1 Kontext"
    assert category_of(get_endpoint("fal-ai/flux-pro/kontext")) == "edit"
    assert category_of(get_endpoint("fal-ai/flux/dev")) == "text-to-image"
    assert family_of(get_endpoint("fal-ai/flux-lora")) == "LoRA"
    assert price_text(get_endpoint("fal-ai/flux-2-pro")) == "$0.03/MP (then $0.015/MP)"


def test_search_matches_every_word():
    entries = picker_entries()
    found = search("kontext max", entries)
    assert [i for _, i in found] == ["fal-ai/flux-pro/kontext/max"]
    assert search("", entries) == entries


def test_provider_choice_names_each_provider_with_its_price():
    choices = provider_choices(get_endpoint("fal-ai/flux-pro/v1.1"))
    assert [value for _, value in choices] == ["fal-ai/flux-pro/v1.1", "flux-pro-1.1"]
    assert "Black Forest Labs" in choices[1][0] and "$0.04/image" in choices[1][0]
    assert len(provider_choices(get_endpoint("fal-ai/flux/dev"))) == 1


@pytest.fixture(scope="module")
def app():
    with launched_app(SandboxOptions(step_seconds=0.01, startup_seconds=0.05)) as launched:
        yield launched


def test_every_catalog_and_bfl_model_has_a_named_api_endpoint(app):
    client = Client(app.url, verbose=False)
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for spec in (*catalog_endpoints(), *DIRECT_ENDPOINTS):
        assert f"/{spec.api_name}" in endpoints, spec.api_name
    parameters = {p["parameter_name"]: p for p in endpoints["/flux_2_pro"]["parameters"]}
    assert parameters["prompt"]["parameter_has_default"] is False  # required
    assert "image_size" in parameters


@pytest.mark.parametrize("api_name", ["flux_2_pro", "flux_schnell", "bfl_flux_pro_1_1"])
def test_a_model_named_endpoint_returns_its_result(app, api_name):
    client = Client(app.url, verbose=False)
    result = client.predict(prompt="a lighthouse at dusk", seed=7, api_name=f"/{api_name}")
    assert result["state"] == "done", result
    assert result["images"] and result["images"][0]["url"]
    assert result["record"]["api_name"] == api_name
    assert result["record"]["input"]["seed"] == 7


def test_a_model_named_endpoint_refuses_bad_input_by_field(app):
    client = Client(app.url, verbose=False)
    with pytest.raises(Exception, match="seed"):
        client.predict(prompt="x", seed=-5, api_name="/flux_2_pro")
