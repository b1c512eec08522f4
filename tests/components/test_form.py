"""The endpoint form: schema -> widgets (a table), layout, values -> model (conversions and field-named errors),
and one launched app driven through gradio_client with keyword parameters."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import gradio as gr
import pytest
from gradio.blocks import Block
from pydantic import Field, create_model

from components.form import EndpointForm, FormError, UnsupportedFieldError, build_form, form_values_from_example
from components.form_values import model_from_values
from components.schema_fields import fields_of, humanise, layout_order
from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import EndpointSpec, WireModel

T, TA, DD, RA, SL, NU, CB, IM, IS, JS = (
    "text", "textarea", "dropdown", "radio", "slider", "number", "checkbox", "image", "image_size", "json",
)  # fmt: skip

EXPECTED_KINDS: dict[str, dict[str, str]] = {
    "flux_pro": {
        "prompt": TA, "image_size": IS, "num_inference_steps": SL, "seed": NU, "guidance_scale": SL, "sync_mode": CB,
        "num_images": SL, "safety_tolerance": DD, "output_format": RA,
    },
    "flux_pro_depth_finetuned": {
        "prompt": TA, "image_size": IS, "num_inference_steps": NU, "seed": NU, "guidance_scale": NU, "sync_mode": CB,
        "num_images": SL, "output_format": RA, "safety_tolerance": DD, "enhance_prompt": CB, "control_image_url": IM,
        "finetune_id": T, "finetune_strength": SL,
    },
    "segmind_flux_depth_pro": {
        "seed": NU, "steps": SL, "prompt": TA, "guidance": SL, "control_image": IM, "output_format": RA,
        "safety_tolerance": SL, "prompt_upsampling": CB,
    },
    "flux_general_rf_inversion": {
        "prompt": TA, "image_size": IS, "num_inference_steps": NU, "seed": NU, "loras": JS, "control_loras": JS,
        "controlnets": JS, "controlnet_unions": JS, "easycontrols": JS, "fill_image": JS, "guidance_scale": NU,
        "use_cfg_zero": CB, "sync_mode": CB, "num_images": NU, "enable_safety_checker": CB, "reference_image_url": IM,
        "reference_strength": NU, "reference_start": SL, "reference_end": SL, "base_shift": NU, "max_shift": NU,
        "output_format": RA, "use_beta_schedule": CB, "sigma_schedule": RA, "scheduler": RA, "image_url": IM,
        "controller_guidance_forward": NU, "controller_guidance_reverse": NU, "reverse_guidance_start": NU,
        "reverse_guidance_end": NU, "reverse_guidance_schedule": DD,
    },
    "flux_dev_image_to_image": {
        "image_url": IM, "prompt": TA, "strength": SL, "num_inference_steps": SL, "seed": NU, "guidance_scale": SL,
        "sync_mode": CB, "num_images": SL, "enable_safety_checker": CB,
    },
}  # fmt: skip

FIELD_TABLE = [(api, name, kind) for api, kinds in EXPECTED_KINDS.items() for name, kind in kinds.items()]


def field(api_name: str, name: str):
    spec = get_endpoint(api_name)
    return next(f for f in fields_of(spec.input_model, api_name) if f.name == name)


def to_wire(api_name: str, values: dict[str, Any]) -> dict[str, Any]:
    return model_from_values(get_endpoint(api_name), values).to_wire()


def errors(api_name: str, values: dict[str, Any]) -> list[str]:
    with pytest.raises(FormError) as caught:
        model_from_values(get_endpoint(api_name), values)
    assert str(caught.value) == "\n".join(caught.value.messages)
    return caught.value.messages


# --- schema -> widgets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("api_name", "name", "kind"), FIELD_TABLE, ids=[f"{a}.{n}" for a, n, _ in FIELD_TABLE])
def test_widget_kind(api_name: str, name: str, kind: str) -> None:
    assert field(api_name, name).kind == kind


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_table_covers_every_model_field(spec: EndpointSpec) -> None:
    assert list(EXPECTED_KINDS[spec.api_name]) == list(spec.input_model.model_fields)


@pytest.mark.parametrize(
    ("api_name", "name", "minimum", "maximum", "step", "integer"),
    [
        ("segmind_flux_depth_pro", "steps", 15, 50, 1, True),
        ("flux_pro", "guidance_scale", 1, 20, 0.1, False),
        ("flux_dev_image_to_image", "strength", 0.01, 1, 0.01, False),
        ("flux_pro_depth_finetuned", "finetune_strength", 0, 2, 0.05, False),
    ],
)
def test_slider_bounds_and_step(api_name, name, minimum, maximum, step, integer) -> None:
    f = field(api_name, name)
    assert (f.minimum, f.maximum, f.step, f.integer) == (minimum, maximum, step, integer)


def test_descriptor_details() -> None:
    seed = field("flux_pro", "seed")
    assert (seed.integer, seed.nullable, seed.default, seed.basic) == (True, True, None, True)
    assert field("flux_pro", "safety_tolerance").choices == ("1", "2", "3", "4", "5", "6")
    assert field("flux_general_rf_inversion", "loras").template == {"path": "", "scale": 1.0}
    assert field("flux_general_rf_inversion", "loras").default == []
    assert field("flux_general_rf_inversion", "fill_image").template == {"fill_image_url": ""}
    assert field("flux_general_rf_inversion", "image_size").nullable
    assert humanise("num_inference_steps") == "Num inference steps"
    assert humanise("control_image_url") == "Control image URL"


def test_layout_order_puts_required_first_then_basic() -> None:
    required, basic, advanced = layout_order(fields_of(get_endpoint("flux_dev_image_to_image").input_model))
    assert [f.name for f in required] == ["image_url", "prompt"]
    assert [f.name for f in basic] == ["strength", "seed", "num_images"]
    assert [f.name for f in advanced] == ["num_inference_steps", "guidance_scale", "sync_mode", "enable_safety_checker"]


class WeirdInput(WireModel):
    prompt: str = Field(description="fine")
    weird: int | str = Field(0, description="no widget for this")


WEIRD = EndpointSpec(
    id="test/weird", api_name="weird_ep", title="Weird", provider="fal", description="", input_model=WeirdInput,
    output_model=None, example={}, seed_document="",
)


def test_unsupported_field_type_raises_at_build() -> None:
    with gr.Blocks(), pytest.raises(UnsupportedFieldError, match=r"^weird_ep\.weird: type integer \| string is not"):
        build_form(WEIRD)


@pytest.mark.parametrize(
    ("annotation", "type_name"),
    [(int | str, "integer | string"), (Any, "any"), (datetime, "string (date-time)"), (bytes, "string (binary)")],
)
def test_unsupported_types_are_named(annotation, type_name) -> None:
    model = create_model("Odd", __base__=WireModel, odd=(annotation, None))
    with pytest.raises(UnsupportedFieldError, match=re.escape(f"odd_ep.odd: type {type_name} is not supported")):
        fields_of(model, "odd_ep")


def test_build_form_needs_a_blocks_context() -> None:
    with pytest.raises(RuntimeError, match="inside an open gr.Blocks"):
        build_form(get_endpoint("flux_pro"))


# --- the built forms ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built() -> tuple[gr.Blocks, dict[str, EndpointForm]]:
    with gr.Blocks() as demo:
        forms = {spec.api_name: build_form(spec) for spec in ENDPOINTS}
    return demo, forms


def ancestors(block: Block) -> list[Block]:
    chain = []
    while getattr(block, "parent", None) is not None:
        block = block.parent
        chain.append(block)
    return chain


def test_all_five_forms_build(built) -> None:
    demo, forms = built
    config = demo.get_config_file()  # renders every initial value through postprocess
    assert len(config["components"]) > 100
    for api_name, form in forms.items():
        spec = get_endpoint(api_name)
        assert list(form.fields) == list(spec.input_model.model_fields)
        assert {n: w.kind for n, w in form.fields.items()} == EXPECTED_KINDS[api_name]
        images = [n for n, w in form.fields.items() if w.kind == "image"]
        assert set(form.ui_inputs()) == {f"{n}__link" for n in images}
        assert not set(form.api_inputs()) & set(form.ui_inputs())
        assert set(form_values_from_example(spec)) == set(form.components())


def test_component_types(built) -> None:
    _, forms = built
    flux_pro, rf = forms["flux_pro"].fields, forms["flux_general_rf_inversion"].fields
    assert isinstance(flux_pro["prompt"].component, gr.Textbox) and flux_pro["prompt"].component.lines == 3
    assert isinstance(flux_pro["num_inference_steps"].component, gr.Slider)
    assert isinstance(flux_pro["seed"].component, gr.Number) and flux_pro["seed"].component.precision == 0
    assert isinstance(flux_pro["safety_tolerance"].component, gr.Dropdown)
    assert isinstance(flux_pro["output_format"].component, gr.Radio)
    assert isinstance(flux_pro["sync_mode"].component, gr.Checkbox)
    size = flux_pro["image_size"]
    assert isinstance(size.component, gr.JSON) and size.component.visible is False
    assert set(size.extra) == {"image_size__preset", "image_size__width", "image_size__height"}
    image = rf["image_url"]
    assert isinstance(image.component, gr.Image) and image.component.type == "filepath"
    assert image.component.sources == ["upload", "clipboard"]
    assert image.extra["image_url__link"].value == ""  # API default; the page fills the example URL in
    assert isinstance(rf["loras"].component, gr.Code) and rf["loras"].component.value == "[]"
    assert rf["fill_image"].component.value == ""


def test_layout_required_first_and_advanced_in_accordion(built) -> None:
    _, forms = built
    for api_name, form in forms.items():
        required, basic, advanced = layout_order(list(form.descriptors.values()))
        first_ids = [form.fields[f.name].component._id for f in required]
        later_ids = [form.fields[f.name].component._id for f in basic + advanced]
        assert max(first_ids) < min(later_ids), api_name
        assert form.advanced is not None and form.advanced.label == "Advanced" and form.advanced.open is False
        for f in advanced:
            assert form.advanced in ancestors(form.fields[f.name].component), f"{api_name}.{f.name}"
        for f in required + basic:
            assert form.advanced not in ancestors(form.fields[f.name].component), f"{api_name}.{f.name}"


def test_image_size_is_synced_in_the_browser_only(built) -> None:
    demo, forms = built
    size = forms["flux_pro"].fields["image_size"]
    preset = size.extra["image_size__preset"]
    syncs = [fn for fn in demo.fns.values() if preset._id in [t[0] for t in fn.targets]]
    assert syncs and all(fn.fn is None and fn.js for fn in syncs)
    assert all(size.component in fn.outputs for fn in syncs)


def test_declare_api_parameters_makes_empty_components_optional() -> None:
    def handler(request: gr.Request, **values: Any) -> str:
        return ""

    with gr.Blocks() as demo:
        seg = build_form(get_endpoint("segmind_flux_depth_pro"))
        out = gr.Textbox()
        gr.Button().click(seg.declare_api_parameters(handler), inputs_kwargs=seg.api_inputs() | seg.ui_inputs(),
                          outputs=out, api_name="seg")  # fmt: skip
    params = {p["parameter_name"]: p for p in demo.get_api_info()["named_endpoints"]["/seg"]["parameters"]}
    assert set(params) == {*EXPECTED_KINDS["segmind_flux_depth_pro"], "control_image__link"}
    assert all(p["parameter_has_default"] for p in params.values())
    assert params["control_image__link"]["parameter_default"] == ""


# --- values -> model ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ENDPOINTS, ids=lambda s: s.api_name)
def test_seed_example_round_trips(spec: EndpointSpec) -> None:
    values = form_values_from_example(spec)
    expected = spec.example  # includes depth-finetuned's finetune_id "": sent as the seed sends it
    wire = model_from_values(spec, values).to_wire()
    assert {k: wire[k] for k in expected} == expected
    for key in set(wire) - set(expected):  # anything else is the model's own default
        assert wire[key] == spec.input_model.model_fields[key].get_default(call_default_factory=True), key


def test_empty_prompt_is_missing_but_other_required_text_is_sent() -> None:
    spec = get_endpoint("flux_pro_depth_finetuned")
    values = form_values_from_example(spec)
    assert errors(spec.api_name, {**values, "prompt": ""}) == ["prompt: is required"]
    assert model_from_values(spec, {**values, "finetune_id": ""}).to_wire()["finetune_id"] == ""


def test_whole_float_from_a_slider_becomes_int() -> None:
    wire = to_wire("flux_pro", {"prompt": "p", "num_inference_steps": 28.0, "num_images": 2.0})
    assert wire["num_inference_steps"] == 28 and type(wire["num_inference_steps"]) is int
    assert type(wire["num_images"]) is int


def test_fractional_float_for_an_int_field_is_an_error_not_truncated() -> None:
    assert errors("flux_pro", {"prompt": "p", "num_inference_steps": 28.5}) == [
        "num_inference_steps: must be a whole number"
    ]


@pytest.mark.parametrize("prompt", ["", "   ", None])
def test_empty_required_prompt_is_missing(prompt) -> None:
    assert errors("flux_pro", {"prompt": prompt}) == ["prompt: is required"]


def test_out_of_range_segmind_steps_names_field_and_bounds() -> None:
    values = {"prompt": "p", "control_image": "", "control_image__link": "https://x.test/c.png", "steps": 60}
    assert errors("segmind_flux_depth_pro", values) == ["steps: must be between 15 and 50"]


def test_empty_optional_values_are_omitted() -> None:
    values = {"prompt": "p", "seed": None, "sync_mode": False, "image_size": ""}
    wire = to_wire("flux_pro", values)
    assert "seed" not in wire and "sync_mode" not in wire and wire["image_size"] == "landscape_4_3"
    rf = {"prompt": "p", "image_url__link": "https://x.test/a.png", "sigma_schedule": "", "image_size": None,
          "fill_image": "  ", "seed": ""}  # fmt: skip
    wire = to_wire("flux_general_rf_inversion", rf)
    assert not {"sigma_schedule", "image_size", "fill_image", "seed"} & set(wire)


def test_checkboxes() -> None:
    assert to_wire("flux_pro", {"prompt": "p", "sync_mode": True})["sync_mode"] is True
    wire = to_wire("flux_dev_image_to_image", {"prompt": "p", "image_url__link": "https://x.test/a.png",
                                               "enable_safety_checker": False})  # fmt: skip
    assert wire["enable_safety_checker"] is False  # a non-optional bool is always sent


def test_bad_json_names_the_field() -> None:
    values = {"prompt": "p", "image_url__link": "https://x.test/a.png", "loras": '[{"path": }]'}
    (message,) = errors("flux_general_rf_inversion", values)
    assert message.startswith("loras: not valid JSON (line 1, column 11: Expecting value")


def test_nested_items_are_validated_by_path() -> None:
    controlnet = {"path": "a", "control_image_url": "u"}
    values = {"prompt": "p", "image_url__link": "https://x.test/a.png", "loras": '[{"scale": 0.5}]',
              "controlnets": [controlnet, controlnet]}  # fmt: skip
    assert errors("flux_general_rf_inversion", values) == [
        "loras[0].path: is required",
        "controlnets: takes at most 1 item(s)",
    ]


def test_json_editors_accept_text_or_parsed_values() -> None:
    base = {"prompt": "p", "image_url__link": "https://x.test/a.png"}
    text = to_wire("flux_general_rf_inversion", {**base, "loras": '[{"path": "a", "scale": 0.5}]'})
    parsed = to_wire("flux_general_rf_inversion", {**base, "loras": [{"path": "a", "scale": 0.5}]})
    assert text["loras"] == parsed["loras"] == [{"path": "a", "scale": 0.5}]
    fill = to_wire("flux_general_rf_inversion", {**base, "fill_image": '{"fill_image_url": "https://x.test/f.png"}'})
    assert fill["fill_image"] == {"fill_image_url": "https://x.test/f.png"}


def test_all_problems_are_reported_together_in_field_order() -> None:
    values = {"prompt": "", "image_url__link": "https://x.test/a.png", "loras": "[", "guidance_scale": -1,
              "bogus": 1}  # fmt: skip
    messages = errors("flux_general_rf_inversion", values)
    assert messages[0] == "prompt: is required"
    assert messages[1].startswith("loras: not valid JSON")
    assert messages[2].startswith("guidance_scale: must be at least 0")  # "0.0": the bound is a float
    assert messages[3:] == ["bogus: is not a field of this endpoint"]


def test_upload_beats_url_and_url_is_used_otherwise() -> None:
    base = {"prompt": "p", "control_image__link": "https://x.test/c.png"}
    uploaded = to_wire("segmind_flux_depth_pro", {**base, "control_image": "/tmp/gradio/abc/c.png"})
    assert uploaded["control_image"] == "/tmp/gradio/abc/c.png"
    assert to_wire("segmind_flux_depth_pro", {**base, "control_image": None})["control_image"] == "https://x.test/c.png"
    assert errors("segmind_flux_depth_pro", {"prompt": "p", "control_image__link": " "}) == [
        "control_image: is required"
    ]


def test_url_box_refuses_local_paths() -> None:
    # Only the app's own uploads may be local paths: a typed path must never make the provider upload a server file.
    assert errors("segmind_flux_depth_pro", {"prompt": "p", "control_image__link": "/etc/passwd"}) == [
        "control_image: must be an http(s):// or data: URL (or upload an image)"
    ]
    data_uri = "data:image/png;base64,iVBORw0KGgo="
    wire = to_wire("segmind_flux_depth_pro", {"prompt": "p", "control_image__link": data_uri})
    assert wire["control_image"] == data_uri


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


def test_image_size_from_the_ui_helpers() -> None:
    custom = {"prompt": "p", "image_size__preset": "custom", "image_size__width": 800, "image_size__height": 600.0}
    assert to_wire("flux_pro", custom)["image_size"] == {"width": 800, "height": 600}
    preset = {**custom, "image_size__preset": "square_hd"}
    assert to_wire("flux_pro", preset)["image_size"] == "square_hd"


def test_image_size_errors() -> None:
    assert errors("flux_pro", {"prompt": "p", "image_size": {"width": 0, "height": 512}}) == [
        "image_size.width: must be between 1 and 14142"
    ]
    assert errors("flux_pro", {"prompt": "p", "image_size": "{"})[0].startswith("image_size: not valid JSON")
    assert errors("flux_pro", {"prompt": "p", "image_size": "custom"})[0].startswith('image_size: "custom" needs')


def test_form_to_model_matches_the_pure_function(built) -> None:
    form = built[1]["segmind_flux_depth_pro"]
    values = {**form_values_from_example(form.spec), "steps": 30.0, "control_image__link": "https://x.test/c.png"}
    assert form.to_model(values) == model_from_values(form.spec, values)


# --- one launched app, driven by gradio_client with keyword parameters ----------------------------------------


@pytest.mark.timeout(60)
def test_launched_app_over_gradio_client(tmp_path) -> None:
    from gradio_client import Client, handle_file
    from PIL import Image

    png = tmp_path / "control.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(png)

    with gr.Blocks() as demo:
        for api_name in ("flux_pro", "segmind_flux_depth_pro"):
            form = build_form(get_endpoint(api_name))
            out = gr.Textbox()

            def handler(_form: EndpointForm = form, **values: Any) -> str:
                try:
                    return json.dumps({"wire": _form.to_model(values).to_wire()})
                except FormError as exc:
                    return json.dumps({"errors": exc.messages})

            gr.Button().click(
                form.declare_api_parameters(handler),
                inputs_kwargs=form.api_inputs() | form.ui_inputs(),
                outputs=out,
                api_name=api_name,
            )
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)

        def call(api_name: str, **kwargs: Any) -> dict[str, Any]:
            return json.loads(client.predict(**kwargs, api_name=f"/{api_name}"))

        custom = call("flux_pro", prompt="a fox", image_size={"width": 640, "height": 480}, seed=7)
        assert custom["wire"]["image_size"] == {"width": 640, "height": 480} and custom["wire"]["seed"] == 7
        preset = call("flux_pro", prompt="a fox", image_size="square_hd", num_inference_steps=30)
        assert preset["wire"]["image_size"] == "square_hd" and preset["wire"]["num_inference_steps"] == 30
        assert "seed" not in preset["wire"]  # omitted parameter -> None -> not sent
        assert call("flux_pro", prompt="", num_inference_steps=28.5)["errors"] == [
            "prompt: is required",
            "num_inference_steps: must be a whole number",
        ]

        segmind = call("segmind_flux_depth_pro", prompt="a desk", control_image=handle_file(str(png)), steps=20)
        path = segmind["wire"]["control_image"]
        assert path.endswith("control.png") and not path.startswith(("http://", "https://", "data:"))
        assert segmind["wire"]["steps"] == 20
        by_url = call("segmind_flux_depth_pro", prompt="a desk", control_image__link="https://x.test/c.png")
        assert by_url["wire"]["control_image"] == "https://x.test/c.png"
        assert call("segmind_flux_depth_pro", prompt="p", control_image__link="https://x.test/c.png", steps=60)[
            "errors"
        ] == ["steps: must be between 15 and 50"]
        assert call("segmind_flux_depth_pro", prompt="p", control_image__link="https://x.test/c.png",
                    output_format="gif")["errors"] == ["output_format: must be one of 'jpg' or 'png'"]  # fmt: skip
    finally:
        demo.close()
