"""Share links round-trip every endpoint's example, keep plain values readable, and refuse broken links."""

from __future__ import annotations

import base64
import urllib.parse
import zlib

import pytest

from components.share_links import ShareLinkError, decode, encode, open_link, share_query
from components.widgets import toast_text
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


# --- issue 17: values from a link are validated by the endpoint's model, one by one --------------------------------


def test_a_server_path_in_an_image_field_is_refused_by_name(tmp_path):
    """``/?endpoint=flux_dev_image_to_image&image_url=/path/to/app.py`` made Gradio copy and serve the file."""
    secret = tmp_path / "ledger.jsonl"
    secret.write_text("visitor addresses")
    for path in (str(secret), "app.py", "../../etc/passwd"):
        opened = open_link({"endpoint": "flux_dev_image_to_image", "prompt": "a fox", "image_url": path})
        assert opened.values == {"prompt": "a fox"}, "the path never reaches the form"
        assert opened.refused == ["image_url: must be an http(s):// or data: URL"]
    packed = encode("flux_general_rf_inversion", {"prompt": "p", "controlnets": [
        {"path": "https://x.test/c", "control_image_url": str(secret)}]})
    opened = open_link(parse(packed))
    assert "controlnets" not in opened.values and opened.refused == [
        "controlnets[0].control_image_url: must be an http(s):// or data: URL"]
    ok = open_link({"endpoint": "flux_dev_image_to_image", "image_url": "https://x.test/a.png"})
    assert ok.values == {"image_url": "https://x.test/a.png"} and not ok.refused


def test_a_bad_value_is_refused_by_name_and_the_rest_of_the_link_kept():
    """``seed=abc`` used to drop the whole link silently."""
    opened = open_link({"endpoint": "flux_pro", "prompt": "a fox", "seed": "abc", "num_inference_steps": "30",
                        "guidance_scale": "999"})
    assert opened.values == {"prompt": "a fox", "num_inference_steps": 30}
    assert sorted(m.split(":")[0] for m in opened.refused) == ["guidance_scale", "seed"]
    assert "seed: must be a whole number" in opened.refused
    assert "seed" in (opened.warning() or "")


def test_deeply_nested_values_are_refused_by_field():
    plain = open_link({"endpoint": "flux_general_rf_inversion", "prompt": "p", "loras": "[" * 5000})
    assert plain.values == {"prompt": "p"} and plain.refused and plain.refused[0].startswith("loras:")
    deep = "[" * 40 + "]" * 40
    packed = encode("flux_general_rf_inversion", {"prompt": "p"})
    data = zlib.compress(('{"loras": ' + deep + ', "prompt": "p"}').encode())
    z = base64.urlsafe_b64encode(data).decode().rstrip("=")
    opened = open_link({**parse(packed), "z": z})
    assert opened.values == {"prompt": "p"}
    assert opened.refused == ["loras: is nested too deeply (at most 16 levels of lists and objects)"]
    data = zlib.compress(("[" * 5000).encode())
    with pytest.raises(ShareLinkError, match="nest"):
        decode({"endpoint": "flux_pro", "z": base64.urlsafe_b64encode(data).decode()})


def test_what_a_link_says_is_escaped_in_its_toasts():
    hostile = "<img src=x onerror=alert(1)>"
    with pytest.raises(ShareLinkError) as caught:
        open_link({"endpoint": hostile})
    assert "<img" not in toast_text(str(caught.value)) and "&lt;img" in toast_text(str(caught.value))
    opened = open_link({"endpoint": "flux_pro", "prompt": "p", "seed": hostile})
    assert opened.refused and "<img" not in (opened.warning() or "<img")
