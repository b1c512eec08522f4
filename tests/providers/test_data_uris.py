"""data: URIs anywhere in a body: found by path, decoded with field-named errors, replaced in place."""

from __future__ import annotations

import base64

import pytest

from providers.data_uris import INLINE_MAX_CHARS, decode_data_uri, field_name, large_data_uris, set_at
from providers.errors import ValidationFailed


def uri(data: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64," + base64.b64encode(data).decode()


def test_large_data_uris_are_found_in_url_fields_at_any_depth_and_small_ones_are_left():
    big, small = uri(b"x" * INLINE_MAX_CHARS), uri(b"tiny")
    svg = "data:image/svg+xml," + "<svg/>" * INLINE_MAX_CHARS  # not base64: sent inline as before
    body = {"prompt": "data:image/png;base64," + "A" * INLINE_MAX_CHARS, "image_url": big, "mask_url": svg,
            "controlnets": [{"control_image_url": small}, {"control_image_url": big, "mask_image_url": big}],
            "fill_image": {"fill_image_url": [small, big]}}
    found = [field_name(path) for path, _ in large_data_uris(body)]
    assert found == ["image_url", "controlnets[1].control_image_url", "controlnets[1].mask_image_url",
                     "fill_image.fill_image_url[1]"]


def test_decode_gives_bytes_and_type_and_names_the_field_when_malformed():
    assert decode_data_uri(uri(b"\x89PNG", "image/PNG"), "image_url") == (b"\x89PNG", "image/png")
    assert decode_data_uri("data:;base64," + base64.b64encode(b"a").decode(), "f") == (b"a", "application/octet-stream")
    with pytest.raises(ValidationFailed, match=r"controlnets\[0\].control_image_url: the data: URI's base64"):
        decode_data_uri("data:image/png;base64,@@@not base64@@@", "controlnets[0].control_image_url")
    with pytest.raises(ValidationFailed, match="image_url: not a base64 data: URI"):
        decode_data_uri("data:image/svg+xml,<svg/>", "image_url")
    with pytest.raises(ValidationFailed, match="not a base64"):
        decode_data_uri("data:image/png;base64", "image_url")  # no comma


def test_set_at_replaces_the_value_in_place():
    body = {"a": [{"b": "old"}]}
    set_at(body, ("a", 0, "b"), "new")
    assert body == {"a": [{"b": "new"}]}


def test_public_input_shows_nested_uploads_as_their_urls():
    from endpoints import get_endpoint
    from runs.runner import public_input

    big = uri(b"y" * INLINE_MAX_CHARS)
    wire = {"prompt": "p", "controlnets": [{"control_image_url": big, "path": "https://x.test/w"}]}
    shown = public_input(get_endpoint("flux_general_rf_inversion"), wire,
                         {"controlnets[0].control_image_url": "https://cdn.test/c.png"})
    assert shown["controlnets"][0]["control_image_url"] == "https://cdn.test/c.png"
    assert wire["controlnets"][0]["control_image_url"] == big  # the input itself is left as it was
