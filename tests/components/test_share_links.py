"""Share links round-trip every endpoint's example, keep plain values readable, and refuse broken links."""

from __future__ import annotations

import urllib.parse

import pytest

from components.share_links import ShareLinkError, decode, encode
from endpoints import ENDPOINTS


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
