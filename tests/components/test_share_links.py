"""Share links round-trip every endpoint's example, keep plain values readable, and refuse broken links."""

from __future__ import annotations

import urllib.parse

import pytest

from components.share_links import ShareLinkError, decode, encode, share_query
from endpoints import ENDPOINTS, get_endpoint


def parse(query: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_every_example_round_trips(spec):
    wire = spec.input_model.model_validate(spec.example).to_wire()
    api_name, values = decode(parse(encode(spec.api_name, wire)))
    assert api_name == spec.api_name
    assert spec.input_model.model_validate(values).to_wire() == wire


def test_short_values_are_plain_and_nested_ones_packed():
    query = encode("flux_pro", {"prompt": "a cat & a dog", "guidance_scale": 4.5, "seed": 77,
                                "image_size": {"width": 640, "height": 480}})
    params = parse(query)
    assert params["endpoint"] == "flux_pro" and params["guidance_scale"] == "4.5" and params["seed"] == "77"
    assert params["prompt"] == "a cat & a dog" and "z" in params and "image_size" not in params
    _, values = decode(params)
    assert values["seed"] == 77 and values["guidance_scale"] == 4.5
    assert values["image_size"] == {"width": 640, "height": 480}


def test_text_enums_stay_text():
    _, values = decode({"endpoint": "flux_pro", "safety_tolerance": "2", "prompt": "123"})
    assert values == {"safety_tolerance": "2", "prompt": "123"}


@pytest.mark.parametrize("query", [{"endpoint": "nope"}, {"endpoint": "flux_pro", "z": "!!!"},
                                   {"endpoint": "flux_pro", "z": "eJwrSS0uAQAEXQHB"}])
def test_broken_links_are_refused_clearly(query):
    with pytest.raises(ShareLinkError):
        decode(query)


def test_unknown_parameters_are_ignored():
    assert decode({"endpoint": "flux_pro", "FAL_KEY": "x", "prompt": "p"}) == ("flux_pro", {"prompt": "p"})


def test_share_query_leaves_out_defaults_and_keeps_what_was_changed():
    spec = get_endpoint("flux_pro")
    wire = spec.input_model.model_validate({"prompt": "a fox", "seed": 7}).to_wire()
    params = parse(share_query("flux_pro", wire))
    assert params == {"endpoint": "flux_pro", "prompt": "a fox", "seed": "7"}
    assert decode(params)[0] == "flux_pro"
    values = decode(params)[1]
    assert spec.input_model.model_validate(values).to_wire() == wire, "nothing is lost: defaults come back"


def test_nested_values_are_packed_and_read_back_typed():
    loras = [{"path": "https://x.test/lora.safetensors", "scale": 0.7}]
    query = share_query("flux_general_rf_inversion", {"prompt": "p", "image_url": "https://x.test/i.png",
                                                      "loras": loras})
    params = parse(query)
    assert set(params) == {"endpoint", "prompt", "image_url", "z"}
    assert decode(params)[1]["loras"] == loras
    packed = encode("flux_general_rf_inversion", {"loras": [{"path": "https://x.test/l", "scale": "0.5"}],
                                                  "num_inference_steps": [1]})
    values = decode(parse(packed))[1]
    assert values["loras"] == [{"path": "https://x.test/l", "scale": 0.5}], "lax typing, as for plain values"
    assert values["num_inference_steps"] == [1], "a value the field refuses is kept as it came, for the form to name"
