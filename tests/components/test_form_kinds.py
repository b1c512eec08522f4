"""The form kinds without a browser: the registry, each kind's read/write round trip, and a whole submission ->
model (conversions and field-named errors)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest

from components.form_kinds import KINDS, OMIT, FieldKind, FieldProblem, kind_of
from components.form_values import FormError, form_values_from_example, model_from_values, write_values
from components.widgets import NotAnImage
from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import EndpointSpec
from endpoints.schema_fields import FieldSpec, spec_fields

ALL_FIELDS = [(spec, f) for spec in ENDPOINTS for f in spec_fields(spec)]


def field(api_name: str, name: str) -> FieldSpec:
    spec = get_endpoint(api_name)
    return next(f for f in spec_fields(spec) if f.name == name)


def to_wire(api_name: str, values: dict[str, Any]) -> dict[str, Any]:
    return model_from_values(get_endpoint(api_name), values).to_wire()


def errors(api_name: str, values: dict[str, Any]) -> list[str]:
    with pytest.raises(FormError) as caught:
        model_from_values(get_endpoint(api_name), values)
    assert str(caught.value) == "\n".join(caught.value.messages)
    return caught.value.messages


# --- the registry and the round trip ----------------------------------------------------------------------------


def test_one_kind_object_per_widget_kind() -> None:
    assert set(KINDS) == {
        "text", "textarea", "dropdown", "radio", "slider", "number", "checkbox", "image", "image_size", "json",
    }  # fmt: skip
    assert all(isinstance(kind, FieldKind) and kind.name == name for name, kind in KINDS.items())
    assert {kind_of(f).name for _, f in ALL_FIELDS} == set(KINDS)


@pytest.mark.parametrize(("spec", "f"), ALL_FIELDS, ids=[f"{s.api_name}.{f.name}" for s, f in ALL_FIELDS])
def test_write_then_read_gives_the_value_back(spec: EndpointSpec, f: FieldSpec) -> None:
    kind = kind_of(f)
    values = [spec.example[f.name]] if f.name in spec.example else []
    values += [] if f.required else [f.default]
    for value in values:
        written = kind.write(f, value)
        assert list(written) == [f.name, *kind.helper_keys(f)]
        read = kind.read(f, written)
        if value is None or (value == "" and not f.required):
            assert read is OMIT, value
        else:
            assert read == value


# --- kinds one by one -------------------------------------------------------------------------------------------


def test_text_empty_leaves_out_except_a_required_identifier() -> None:
    prompt, finetune = field("flux_pro", "prompt"), field("flux_pro_depth_finetuned", "finetune_id")
    assert kind_of(prompt).read(prompt, {"prompt": "  "}) is OMIT
    assert kind_of(finetune).read(finetune, {"finetune_id": ""}) == ""
    assert kind_of(prompt).write(prompt, None) == {"prompt": ""}


def test_choice_default_leaves_out() -> None:
    sigma = field("flux_general_rf_inversion", "sigma_schedule")
    assert kind_of(sigma).read(sigma, {"sigma_schedule": ""}) is OMIT
    assert kind_of(sigma).write(sigma, None) == {"sigma_schedule": ""}
    assert kind_of(sigma).read(sigma, {"sigma_schedule": "sgm_uniform"}) == "sgm_uniform"


def test_numbers_whole_floats_become_ints_and_blank_leaves_out() -> None:
    steps, seed = field("flux_pro", "num_inference_steps"), field("flux_pro", "seed")
    assert type(kind_of(steps).read(steps, {"num_inference_steps": 28.0})) is int
    assert kind_of(steps).read(steps, {"num_inference_steps": 28.5}) == 28.5  # the model says "whole number"
    assert kind_of(steps).read(steps, {"num_inference_steps": 80}) == 80  # never clamped
    assert kind_of(seed).read(seed, {"seed": None}) is OMIT


def test_tri_state_checkbox() -> None:
    sync, safety = field("flux_pro", "sync_mode"), field("flux_dev_image_to_image", "enable_safety_checker")
    assert kind_of(sync).read(sync, {"sync_mode": False}) is OMIT
    assert kind_of(sync).read(sync, {"sync_mode": None}) is OMIT
    assert kind_of(sync).read(sync, {"sync_mode": True}) is True
    assert kind_of(safety).read(safety, {"enable_safety_checker": False}) is False


@pytest.fixture
def uploaded() -> Iterator[str]:
    """A file in Gradio's upload folder, as a visitor's upload lands there."""
    folder = Path(tempfile.mkdtemp(prefix="test-upload-", dir=gr.utils.get_upload_folder()))
    path = folder / "c.png"
    path.write_bytes(b"png")
    yield str(path)
    shutil.rmtree(folder, ignore_errors=True)


def test_image_upload_beats_url_and_writes_back_to_the_right_box(uploaded) -> None:
    image = field("segmind_flux_depth_pro", "control_image")
    kind = kind_of(image)
    assert kind.helper_keys(image) == kind.ui_keys(image) == ("control_image__link",)
    both = {"control_image": uploaded, "control_image__link": "https://x.test/c.png"}
    assert kind.read(image, both) == uploaded
    assert kind.read(image, {"control_image": {"path": uploaded}}) == uploaded
    assert kind.read(image, {"control_image": None, "control_image__link": " https://x.test/c.png "}) == (
        "https://x.test/c.png"
    )
    assert kind.write(image, "https://x.test/c.png") == {"control_image": None, "control_image__link": "https://x.test/c.png"}
    assert kind.write(image, uploaded) == {"control_image": uploaded, "control_image__link": ""}


@pytest.mark.parametrize("server_file", [str(Path(__file__).resolve()), "app.py", "/etc/passwd",
                                         "/tmp/gradio/../../etc/passwd"])
def test_a_server_path_never_becomes_an_upload(server_file) -> None:
    """Issue 17.1: a value that is not a URL was handed to the upload component as a server file, which Gradio then
    copied into its cache and served. It now lands in the URL box as text, and reading it names the field."""
    image = field("flux_dev_image_to_image", "image_url")
    kind = kind_of(image)
    assert kind.write(image, server_file) == {"image_url": None, "image_url__link": server_file}
    with pytest.raises(FieldProblem):
        kind.read(image, kind.write(image, server_file))
    with pytest.raises(FieldProblem, match="not a file of the server"):
        kind.read(image, {"image_url": {"path": server_file}})


def test_image_problems_name_the_file_or_the_rule() -> None:
    image = field("segmind_flux_depth_pro", "control_image")
    with pytest.raises(FieldProblem, match='"notes.txt" is not an image'):
        kind_of(image).read(image, {"control_image": NotAnImage("notes.txt")})
    with pytest.raises(FieldProblem, match="must be an http"):
        kind_of(image).read(image, {"control_image__link": "/etc/passwd"})


def test_image_size_writes_preset_and_pixels() -> None:
    size = field("flux_pro", "image_size")
    kind = kind_of(size)
    assert kind.write(size, "square_hd") == {
        "image_size": "square_hd", "image_size__preset": "square_hd", "image_size__width": 1024,
        "image_size__height": 1024,
    }  # fmt: skip
    custom = kind.write(size, {"width": 640, "height": 480})
    assert custom["image_size__preset"] == "custom" and kind.read(size, custom) == {"width": 640, "height": 480}
    helpers_only = {k: v for k, v in custom.items() if k != "image_size"}
    assert kind.read(size, helpers_only) == {"width": 640, "height": 480}


def test_json_reads_text_or_parsed_and_writes_indented_text() -> None:
    loras = field("flux_general_rf_inversion", "loras")
    kind = kind_of(loras)
    assert kind.helper_keys(loras) == ("loras__rows",)  # the rows are drawn from a copy of the text
    assert kind.write(loras, []) == {"loras": "[]", "loras__rows": "[]"}
    assert kind.read(loras, {"loras": '[{"path": "a"}]'}) == [{"path": "a"}]
    assert kind.read(loras, {"loras": [{"path": "a"}]}) == [{"path": "a"}]
    assert kind.read(loras, {"loras": "  "}) is OMIT
    with pytest.raises(FieldProblem, match="not valid JSON"):
        kind.read(loras, {"loras": "[{"})


# --- a whole submission -> the model ---------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_seed_example_round_trips(spec: EndpointSpec) -> None:
    values = form_values_from_example(spec)
    expected = spec.example  # includes depth-finetuned's finetune_id "": sent as the seed sends it
    wire = model_from_values(spec, values).to_wire()
    assert {k: wire[k] for k in expected} == expected
    for key in set(wire) - set(expected):  # anything else is the model's own default
        assert wire[key] == spec.input_model.model_fields[key].get_default(call_default_factory=True), key


def test_write_values_fills_absent_fields_with_defaults() -> None:
    spec = get_endpoint("flux_pro")
    values = write_values(spec_fields(spec), {"prompt": "p"})
    assert values["num_inference_steps"] == 28 and values["seed"] is None and values["image_size"] == "landscape_4_3"


def test_empty_prompt_is_missing_but_other_required_text_is_sent() -> None:
    spec = get_endpoint("flux_pro_depth_finetuned")
    values = form_values_from_example(spec)
    assert errors(spec.api_name, {**values, "prompt": ""}) == ["prompt: is required"]
    assert model_from_values(spec, {**values, "finetune_id": ""}).to_wire()["finetune_id"] == ""


def test_fractional_float_for_an_int_field_is_an_error_not_truncated() -> None:
    assert errors("flux_pro", {"prompt": "p", "num_inference_steps": 28.5}) == [
        "num_inference_steps: must be a whole number"
    ]


@pytest.mark.parametrize("prompt", ["", "   ", None])
def test_empty_required_prompt_is_missing(prompt) -> None:
    assert errors("flux_pro", {"prompt": prompt}) == ["prompt: is required"]


@pytest.mark.parametrize(
    ("api_name", "values", "message"),
    [
        ("flux_pro", {"num_inference_steps": 80}, "num_inference_steps: must be between 1 and 50"),
        ("flux_dev_image_to_image", {"strength": 0, "image_url__link": "https://x.test/a.png"},
         "strength: must be between 0.01 and 1"),
        ("segmind_flux_depth_pro", {"steps": 60, "control_image__link": "https://x.test/c.png"},
         "steps: must be between 15 and 50"),
    ],
)  # fmt: skip
def test_out_of_range_values_are_refused_by_name_never_clamped(api_name, values, message) -> None:
    assert errors(api_name, {"prompt": "p", **values}) == [message]


def test_empty_optional_values_are_omitted() -> None:
    values = {"prompt": "p", "seed": None, "sync_mode": False, "image_size": ""}
    wire = to_wire("flux_pro", values)
    assert "seed" not in wire and "sync_mode" not in wire and wire["image_size"] == "landscape_4_3"
    rf = {"prompt": "p", "image_url__link": "https://x.test/a.png", "sigma_schedule": "", "image_size": None,
          "fill_image": "  ", "seed": ""}  # fmt: skip
    wire = to_wire("flux_general_rf_inversion", rf)
    assert not {"sigma_schedule", "image_size", "fill_image", "seed"} & set(wire)


def test_bad_json_names_the_field() -> None:
    values = {"prompt": "p", "image_url__link": "https://x.test/a.png", "loras": '[{"path": }]'}
    (message,) = errors("flux_general_rf_inversion", values)
    assert message.startswith("loras: not valid JSON (line 1, column 11: Expecting value")


def test_nested_items_are_validated_by_path() -> None:
    controlnet = {"path": "a", "control_image_url": "https://x.test/c.png"}
    values = {"prompt": "p", "image_url__link": "https://x.test/a.png", "loras": '[{"scale": 0.5}]',
              "controlnets": [controlnet, controlnet]}  # fmt: skip
    assert errors("flux_general_rf_inversion", values) == [
        "LoRA 1 → path: is required",  # nested fields speak in the form's words
        "controlnets: takes at most 1 item(s)",
    ]


def test_all_problems_are_reported_together_in_field_order() -> None:
    values = {"prompt": "", "image_url__link": "https://x.test/a.png", "loras": "[", "guidance_scale": -1,
              "bogus": 1}  # fmt: skip
    messages = errors("flux_general_rf_inversion", values)
    assert messages[0] == "prompt: is required"
    assert messages[1].startswith("loras: not valid JSON")
    assert messages[2] == "guidance_scale: must be between 0 and 20"
    assert messages[3:] == ["bogus: is not a field of this endpoint"]


def test_url_box_refuses_local_paths() -> None:
    # Only the app's own uploads may be local paths: a typed path must never make the provider upload a server file.
    assert errors("segmind_flux_depth_pro", {"prompt": "p", "control_image__link": "/etc/passwd"}) == [
        "control_image: must be an http(s):// or data: URL (or upload an image)"
    ]
    data_uri = "data:image/png;base64,iVBORw0KGgo="
    assert to_wire("segmind_flux_depth_pro", {"prompt": "p", "control_image__link": data_uri})["control_image"] == (
        data_uri
    )


def test_missing_image_is_required() -> None:
    assert errors("segmind_flux_depth_pro", {"prompt": "p", "control_image__link": " "}) == [
        "control_image: is required"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("square", "square"),
        ('"square"', "square"),
        ({"width": 640, "height": 480}, {"width": 640, "height": 480}),
        ({"width": 640.0, "height": 480.0}, {"width": 640, "height": 480}),
        ('{"width": 640, "height": 480}', {"width": 640, "height": 480}),
    ],
)
def test_image_size_accepts_a_preset_a_dict_or_json_text(value, expected) -> None:
    assert to_wire("flux_pro", {"prompt": "p", "image_size": value})["image_size"] == expected


def test_image_size_errors() -> None:
    assert errors("flux_pro", {"prompt": "p", "image_size": {"width": 0, "height": 512}}) == [
        "image_size.width: must be between 1 and 14142"
    ]
    assert errors("flux_pro", {"prompt": "p", "image_size": "{"})[0].startswith("image_size: not valid JSON")
    assert errors("flux_pro", {"prompt": "p", "image_size": "custom"})[0].startswith('image_size: "custom" needs')


# --- list rows ------------------------------------------------------------------------------------------------


def test_an_empty_row_is_an_error_and_the_rest_is_still_checked() -> None:
    base = {"prompt": "p", "image_url__link": "https://x.test/a.png"}
    loras = [{"path": "", "scale": 1.0}, {"path": "https://x.test/b.safetensors", "scale": 9}]
    assert errors("flux_general_rf_inversion", {**base, "loras": loras}) == [
        "LoRA 1 → path: is required",
        "LoRA 2 → scale: must be between -4 and 4",
    ]


def test_rows_check_nested_items_and_image_urls() -> None:
    base = {"prompt": "p", "image_url__link": "https://x.test/a.png"}
    unions = [{"path": "https://x.test/u", "controls": [
        {"control_image_url": "", "control_mode": "canny"},
        {"control_image_url": "/etc/passwd", "control_mode": "depth"}]}]  # fmt: skip
    assert errors("flux_general_rf_inversion", {**base, "controlnet_unions": unions}) == [
        "ControlNet union 1 → control 1 → control_image_url: is required",
        "ControlNet union 1 → control 2 → control_image_url: must be an http(s):// or data: URL (or upload an image)",
    ]
    assert errors("flux_general_rf_inversion", {**base, "fill_image": {"fill_image_url": " "}}) == [
        "Fill image → fill_image_url: is required"
    ]
    fill = {"fill_image_url": ["https://x.test/f.png", "https://x.test/g.png"]}  # the list branch passes untouched
    assert to_wire("flux_general_rf_inversion", {**base, "fill_image": fill})["fill_image"] == fill


def test_check_items_where_paths() -> None:
    from components.form_kinds.rows import check_items

    controlnets = field("flux_general_rf_inversion", "controlnets")
    assert check_items(controlnets, [{"path": "", "control_image_url": "https://x.test/c.png"}]) == [
        ("[0].path", "is required")
    ]
    assert check_items(controlnets, [{"path": "a", "control_image_url": "https://x.test/c.png"}]) == []


def test_row_patches_name_their_paths() -> None:
    from components.form_kinds.rows import add_js, remove_js, set_url_js, set_value_js

    loras = field("flux_general_rf_inversion", "loras")
    path, scale = loras.items
    assert '[0]' in set_value_js([0, "path"], path) and 'parent[key] = "";' in set_value_js([0, "path"], path)
    assert "delete parent[key];" in set_value_js([0, "scale"], scale)  # optional: an empty box leaves it out
    assert '{"path": "", "scale": 1.0}' in add_js([], loras.template, True)
    assert ".splice(2, 1)" in remove_js([], 2)
    assert 'startsWith("data:")' in set_url_js([0, "control_image_url"], path)


def test_uploads_in_rows_become_data_uris(tmp_path) -> None:
    from PIL import Image

    from components.form_kinds.rows import data_uri, upload_handler

    png = tmp_path / "c.png"
    Image.new("RGB", (4, 4), (1, 2, 3)).save(png)
    assert data_uri(str(png)).startswith("data:image/png;base64,iVBOR")
    upload = upload_handler("control_loras[0].control_image_url", [0, "control_image_url"])
    code, link = upload('[{"path": "p", "control_image_url": ""}]', str(png))
    assert link == "" and '"control_image_url": "data:image/png;base64,' in code


def test_a_value_longer_than_a_path_is_no_upload_and_is_never_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    """A restored or linked value in an image field (an image's plain base64 looks like an absolute path) is not
    resolved as one: that takes time that grows with the square of its length."""
    from components.form_kinds.image import is_upload
    from providers import local_files

    resolved: list[str] = []
    resolve = Path.resolve
    monkeypatch.setattr(local_files.Path, "resolve", lambda self, *a, **k: (
        resolved.append(str(self)[:8]) if len(str(self)) > 4096 else None) or resolve(self, *a, **k))
    upload = Path(gr.utils.get_upload_folder()) / "fp-test-upload.png"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(b"x")
    try:
        assert is_upload(str(upload))
        assert not is_upload("/9j/" + "A" * 2_000_000)
        assert resolved == []
    finally:
        upload.unlink()


def test_a_refused_uploads_name_is_escaped_in_its_toast(monkeypatch):
    """Gradio's toasts show HTML: a file named ``<b>bold</b>.png`` was shown bold (a review)."""
    import gradio as gr

    from components.form_kinds import image as image_kind
    from components.widgets import NotAnImage

    said: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda message, *args, **kwargs: said.append(message))
    assert image_kind.check_upload("Image")(NotAnImage("<b id=x>bold</b>.png")) is None
    assert said and "<b" not in said[0] and "&lt;b id=x&gt;bold&lt;/b&gt;.png" in said[0], said
