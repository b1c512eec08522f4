"""The built form: components and layout, ``value_components``/``write`` (Restore) round trips for every endpoint,
and the API contract of a launched app driven through gradio_client (required parameters without defaults,
defaults equal to the model's, descriptions, field-named errors)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio.blocks import Block

from components.form import EndpointForm, FormError, UnsupportedFieldError, build_form
from components.form_kinds import kind_of
from components.page_config import INITIAL_VALUES_MARK
from endpoints import ENDPOINTS, get_endpoint
from endpoints.base import EndpointSpec, WireModel
from endpoints.schema_fields import layout_order
from tests.app_support import free_port
from tests.endpoints.test_schema_fields import EXPECTED_KINDS

#: A fuller rf-inversion input than its seed example: every list and the fill image, nested controls included.
RICH_RF: dict[str, Any] = {
    **get_endpoint("flux_general_rf_inversion").example,
    "image_size": {"width": 640, "height": 480},
    "seed": 7,
    "loras": [{"path": "https://x.test/a.safetensors", "scale": 0.8},
              {"path": "https://x.test/b.safetensors", "scale": {"transformer.x": 0.5}}],
    "control_loras": [{"path": "https://x.test/c.safetensors", "control_image_url": "https://x.test/c.png",
                       "preprocess": "canny"}],
    "controlnets": [{"path": "https://x.test/cn", "control_image_url": "https://x.test/d.png",
                     "conditioning_scale": 0.7, "end_percentage": 0.8}],
    "controlnet_unions": [{"path": "https://x.test/u", "controls": [
        {"control_image_url": "https://x.test/e.png", "control_mode": "canny"},
        {"control_image_url": "https://x.test/f.png", "control_mode": "depth", "conditioning_scale": 0.5}]}],
    "easycontrols": [{"control_method_url": "canny", "image_url": "https://x.test/g.png",
                      "image_control_type": "spatial", "scale": 1.5}],
    "fill_image": {"fill_image_url": ["https://x.test/h.png", "https://x.test/i.png"]},
    "reference_image_url": "https://x.test/r.png",
    "sigma_schedule": "sgm_uniform",
    "sync_mode": True,
}  # fmt: skip


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


class WeirdInput(WireModel):
    prompt: str
    weird: int | str = 0


WEIRD = EndpointSpec(
    id="test/weird", api_name="weird_ep", title="Weird", provider="fal", description="", input_model=WeirdInput,
    example={}, seed_document="",
)  # fmt: skip


def test_unsupported_field_type_raises_at_build() -> None:
    with gr.Blocks(), pytest.raises(UnsupportedFieldError, match=r"^weird_ep\.weird: type integer \| string is not"):
        build_form(WEIRD)


def test_build_form_needs_a_blocks_context() -> None:
    with pytest.raises(RuntimeError, match="inside an open gr.Blocks"):
        build_form(get_endpoint("flux_pro"))


# --- the built forms ----------------------------------------------------------------------------------------


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
        assert set(form.value_components()) >= set(form.api_inputs()) | set(form.ui_inputs())
        assert form.components() == form.value_components()  # the old name still works


def test_component_types_and_server_side_values_are_the_model_defaults(built) -> None:
    _, forms = built
    flux_pro, rf = forms["flux_pro"].fields, forms["flux_general_rf_inversion"].fields
    prompt = flux_pro["prompt"].component
    assert isinstance(prompt, gr.Textbox) and prompt.lines == 3 and prompt.value is None  # not the example
    steps = flux_pro["num_inference_steps"].component
    assert isinstance(steps, gr.Slider) and steps.value == 28
    assert isinstance(flux_pro["seed"].component, gr.Number) and flux_pro["seed"].component.precision == 0
    assert isinstance(flux_pro["safety_tolerance"].component, gr.Dropdown)
    assert isinstance(flux_pro["output_format"].component, gr.Radio)
    sync = flux_pro["sync_mode"].component
    assert isinstance(sync, gr.Checkbox) and sync.value is None  # tri-state: "not sent"
    size = flux_pro["image_size"]
    assert isinstance(size.component, gr.JSON) and size.component.visible is False
    assert set(size.extra) == {"image_size__preset", "image_size__width", "image_size__height"}
    image = rf["image_url"]
    assert isinstance(image.component, gr.Image) and image.component.type == "filepath"
    assert image.component.sources == ["upload", "clipboard"] and image.component.value is None
    assert image.extra["image_url__link"].value == ""  # the page fills the example URL in
    assert isinstance(rf["loras"].component, gr.Code) and rf["loras"].component.value == "[]"
    assert rf["fill_image"].component.value == ""
    required_slider = forms["flux_pro_depth_finetuned"].fields["finetune_strength"].component
    assert isinstance(required_slider, gr.Slider) and required_slider.value is None


def test_layout_required_first_and_advanced_in_labelled_sections(built) -> None:
    _, forms = built
    for api_name, form in forms.items():
        required, basic, advanced = layout_order(list(form.descriptors.values()))
        first_ids = [form.fields[f.name].component._id for f in required]
        later_ids = [form.fields[f.name].component._id for f in basic + advanced]
        assert max(first_ids) < min(later_ids), api_name
        assert form.advanced is not None and form.advanced.label == "Advanced" and form.advanced.open is False
        for f in advanced:
            chain = ancestors(form.fields[f.name].component)
            assert form.advanced in chain and form.sections[f.group] in chain, f"{api_name}.{f.name}"
        for f in required + basic:
            assert form.advanced not in ancestors(form.fields[f.name].component), f"{api_name}.{f.name}"
    rf = forms["flux_general_rf_inversion"]
    assert list(rf.sections) == ["Sampling", "LoRAs and controls", "Reference image", "Inversion controls", "Output"]
    assert rf.sections["Sampling"].open and not rf.sections["Reference image"].open


def test_image_size_is_synced_in_the_browser_only(built) -> None:
    demo, forms = built
    size = forms["flux_pro"].fields["image_size"]
    preset = size.extra["image_size__preset"]
    syncs = [fn for fn in demo.fns.values() if preset._id in [t[0] for t in fn.targets]]
    assert syncs and all(fn.fn is None and fn.js for fn in syncs)
    assert all(size.component in fn.outputs for fn in syncs)


def test_the_example_is_filled_in_by_the_browser_not_stored(built) -> None:
    demo, forms = built
    form = forms["flux_pro"]
    loads = [fn for fn in demo.fns.values() if fn.fn is None and form.fields["prompt"].component in fn.outputs]
    assert loads and all(fn.js for fn in loads)
    triggers = {t[1] for fn in loads for t in fn.targets}
    assert triggers == {"load", "click"}  # page load and "Load example"
    assert loads[0].js.startswith(INITIAL_VALUES_MARK)  # the page takes them as starting values (page_config)
    values = json.loads(loads[0].js.removeprefix(INITIAL_VALUES_MARK).removeprefix("() => "))
    assert values == list(form.write(form.spec.example).values())  # this form has no image: nothing derived


# --- value_components / write: what Restore, share links and "Use as input" use -------------------------------


@pytest.mark.parametrize(
    "wire_input", [*(s.example for s in ENDPOINTS), RICH_RF],
    ids=[*(s.api_name for s in ENDPOINTS), "rf_inversion_with_every_list"],
)  # fmt: skip
def test_write_then_to_model_round_trips_the_wire_json(built, wire_input: dict[str, Any]) -> None:
    _, forms = built
    spec = next(s for s in ENDPOINTS if set(wire_input) <= set(s.input_model.model_fields) and
                all(k in wire_input for k, f in s.input_model.model_fields.items() if f.is_required()))  # fmt: skip
    form = forms[spec.api_name]
    wire = spec.input_model.model_validate(wire_input).to_wire()
    values = form.write(wire)
    assert list(values) == list(form.value_components())
    assert form.to_model(values).to_wire() == wire


def test_write_gives_every_value_component_defaults_for_absent_fields(built) -> None:
    _, forms = built
    form = forms["flux_pro"]
    values = form.write({"prompt": "a fox"})
    assert values["prompt"] == "a fox" and values["num_inference_steps"] == 28 and values["seed"] is None
    assert values["image_size"] == "landscape_4_3" and values["image_size__preset"] == "landscape_4_3"
    updates = form.updates({"prompt": "a fox"})
    assert updates[form.fields["prompt"].component] == "a fox" and len(updates) == len(values)


def test_write_puts_an_uploaded_path_in_the_upload_and_a_url_in_the_url_box(built, tmp_path) -> None:
    _, forms = built
    form = forms["segmind_flux_depth_pro"]
    by_url = form.write({"prompt": "p", "control_image": "https://x.test/c.png"})
    assert by_url["control_image"] is None and by_url["control_image__link"] == "https://x.test/c.png"
    folder = Path(tempfile.mkdtemp(dir=gr.utils.get_upload_folder()))
    try:
        (folder / "c.png").write_bytes(b"png")
        by_file = form.write({"prompt": "p", "control_image": str(folder / "c.png")})
        assert by_file["control_image"] == str(folder / "c.png") and by_file["control_image__link"] == ""
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    server_file = str(tmp_path / "secret.txt")  # not an upload: never handed to the upload component
    by_path = form.write({"prompt": "p", "control_image": server_file})
    assert by_path["control_image"] is None and by_path["control_image__link"] == server_file


def test_write_keys_follow_each_kind(built) -> None:
    _, forms = built
    form = forms["flux_general_rf_inversion"]
    expected = [key for name, f in form.descriptors.items() for key in (name, *kind_of(f).helper_keys(f))]
    assert list(form.value_components()) == expected


# --- the API contract, through gradio_client ------------------------------------------------------------------


API_ENDPOINTS = ("flux_pro", "segmind_flux_depth_pro", "flux_general_rf_inversion", "flux_pro_depth_finetuned")


@pytest.fixture(scope="module")
def launched():
    from tests.app_support import app_client

    with gr.Blocks() as demo:
        for api_name in API_ENDPOINTS:
            form = build_form(get_endpoint(api_name))
            out = gr.Textbox()

            def handler(_form: EndpointForm = form, **values: Any) -> str:
                try:
                    return json.dumps({"wire": _form.to_model(values).to_wire()})
                except FormError as exc:
                    raise gr.Error(str(exc)) from None

            handler.__doc__ = f"Run {api_name}."
            gr.Button().click(
                form.declare_api_parameters(handler),
                inputs_kwargs=form.api_inputs() | form.ui_inputs(),
                outputs=out,
                api_name=api_name,
            )
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    try:
        yield demo, app_client(demo.local_url)
    finally:
        demo.close()


def call(client, api_name: str, **kwargs: Any) -> dict[str, Any]:
    return json.loads(client.predict(**kwargs, api_name=f"/{api_name}"))["wire"]


def api_parameters(client, api_name: str) -> dict[str, dict[str, Any]]:
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"][f"/{api_name}"]
    return {p["parameter_name"]: p for p in info["parameters"]}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("api_name", API_ENDPOINTS)
def test_api_required_fields_have_no_default_and_the_rest_default_to_the_model(launched, api_name) -> None:
    _, client = launched
    spec = get_endpoint(api_name)
    params = api_parameters(client, api_name)
    fields = spec.input_model.model_fields
    assert set(params) == set(fields) | {f"{n}__link" for n, p in params.items() if p["component"] == "Image"}
    for name, param in params.items():
        assert param["python_type"]["description"], f"{name} has no description"
        if name.endswith("__link"):
            assert param["parameter_has_default"] and param["parameter_default"] == ""
            continue
        model_field = fields[name]
        if model_field.is_required():
            assert not param["parameter_has_default"], name
            continue
        default = model_field.get_default(call_default_factory=True)
        assert param["parameter_has_default"], name
        shown = param["parameter_default"]
        if param["component"] == "Code":  # lists and objects travel as JSON text
            shown = json.loads(shown) if shown else None
        assert shown == default, name


@pytest.mark.timeout(60)
def test_api_descriptions_are_the_fields(launched) -> None:
    demo, client = launched
    params = api_parameters(client, "flux_pro")
    assert params["prompt"]["python_type"]["description"] == "The prompt to generate an image from."
    assert "Range: 1–50" in params["num_inference_steps"]["python_type"]["description"]
    text = client.view_api(print_info=False, return_format="str")
    assert "prompt: str (required)" in text and "The prompt to generate an image from." in text
    handler = next(fn.fn for fn in demo.fns.values() if fn.api_name == "flux_pro")
    assert "    prompt: The prompt to generate an image from." in handler.__doc__  # Args: for MCP tools


@pytest.mark.timeout(60)
def test_api_missing_prompt_is_named(launched) -> None:
    from gradio_client.exceptions import AppError

    _, client = launched
    with pytest.raises(TypeError, match="required argument: prompt"):
        client.predict(api_name="/flux_pro")  # gradio_client knows prompt has no default
    with pytest.raises(AppError, match="prompt: is required"):
        client.predict(prompt=None, api_name="/flux_pro")  # what any other caller omitting it gets
    with pytest.raises(AppError, match="prompt: is required"):
        client.predict(prompt="  ", api_name="/flux_pro")


@pytest.mark.timeout(60)
def test_api_defaults_apply_and_are_not_the_example(launched) -> None:
    _, client = launched
    wire = call(client, "flux_pro", prompt="a fox")
    assert wire == {"prompt": "a fox", "image_size": "landscape_4_3", "num_inference_steps": 28,
                    "guidance_scale": 3.5, "num_images": 1, "safety_tolerance": "2", "output_format": "jpeg"}  # fmt: skip
    rf = call(client, "flux_general_rf_inversion", prompt="glasses", image_url=None,
              image_url__link="https://x.test/a.png")  # fmt: skip
    assert "image_size" not in rf and "sigma_schedule" not in rf and "seed" not in rf and rf["loras"] == []


@pytest.mark.timeout(60)
def test_api_calls_by_keyword(launched, tmp_path) -> None:
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError
    from PIL import Image

    _, client = launched
    png = tmp_path / "control.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(png)
    custom = call(client, "flux_pro", prompt="a fox", image_size={"width": 640, "height": 480}, seed=7)
    assert custom["image_size"] == {"width": 640, "height": 480} and custom["seed"] == 7
    preset = call(client, "flux_pro", prompt="a fox", image_size="square_hd", num_inference_steps=30)
    assert preset["image_size"] == "square_hd" and preset["num_inference_steps"] == 30 and "seed" not in preset
    with pytest.raises(AppError, match="num_inference_steps: must be a whole number"):
        call(client, "flux_pro", prompt="p", num_inference_steps=28.5)

    segmind = call(client, "segmind_flux_depth_pro", prompt="a desk", control_image=handle_file(str(png)), steps=20)
    path = segmind["control_image"]
    assert path.endswith("control.png") and not path.startswith(("http://", "https://", "data:"))
    by_url = call(client, "segmind_flux_depth_pro", prompt="a desk", control_image=None,
                  control_image__link="https://x.test/c.png")  # fmt: skip
    assert by_url["control_image"] == "https://x.test/c.png"
    with pytest.raises(TypeError, match="required argument: control_image"):
        client.predict(prompt="p", control_image__link="https://x.test/c.png", api_name="/segmind_flux_depth_pro")
    with pytest.raises(AppError, match="steps: must be between 15 and 50"):
        call(client, "segmind_flux_depth_pro", prompt="p", control_image=None,
             control_image__link="https://x.test/c.png", steps=60)  # fmt: skip
    with pytest.raises(AppError, match="output_format: must be one of 'jpg' or 'png'"):
        call(client, "segmind_flux_depth_pro", prompt="p", control_image=None,
             control_image__link="https://x.test/c.png", output_format="gif")  # fmt: skip
    with pytest.raises(AppError, match="control_image: is required"):
        call(client, "segmind_flux_depth_pro", prompt="p", control_image=None)


@pytest.mark.timeout(60)
def test_api_upload_that_is_not_an_image_is_named(launched, tmp_path) -> None:
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    _, client = launched
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    with pytest.raises(AppError, match='control_image: "notes.txt" is not an image'):
        call(client, "segmind_flux_depth_pro", prompt="p", control_image=handle_file(str(notes)))


def raw_call(demo: gr.Blocks, client: Any, api_name: str, **kwargs: Any) -> str:
    """A call as any HTTP client makes it (``/gradio_api/call``), not gradio_client, which would upload a local
    path from the caller's side: the text of its answer stream."""
    import httpx

    names = list(api_parameters(client, api_name))
    data = [kwargs.get(name) for name in names]
    root = client.src.rstrip("/")
    with httpx.Client(timeout=20) as http:
        event = http.post(f"{root}/gradio_api/call/{api_name}", json={"data": data}).json()["event_id"]
        return http.get(f"{root}/gradio_api/call/{api_name}/{event}").text


@pytest.mark.timeout(60)
def test_api_image_argument_naming_a_server_file_is_refused(launched, tmp_path) -> None:
    """Issue 17.1: an API argument naming a server file (as a file, or in the URL box) never reaches a run."""
    demo, client = launched
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"the ledger")
    as_link = raw_call(demo, client, "segmind_flux_depth_pro", prompt="p", control_image__link=str(secret))
    assert "event: error" in as_link and "control_image: must be an http(s):// or data: URL" in as_link
    as_file = raw_call(demo, client, "segmind_flux_depth_pro", prompt="p",
                       control_image={"path": str(secret), "meta": {"_type": "gradio.FileData"}})
    assert "event: error" in as_file and "the ledger" not in as_file and str(secret) not in as_file.split("error")[0]


@pytest.mark.timeout(60)
def test_api_deeply_nested_json_is_refused_by_field(launched) -> None:
    """Issue 17.9: ``"[" * 5000`` in a list field raised RecursionError ("The upstream Gradio app has raised an
    exception"); it is refused by field."""
    from gradio_client.exceptions import AppError

    _, client = launched
    with pytest.raises(AppError, match="loras: is nested too deeply"):
        call(client, "flux_general_rf_inversion", prompt="p", image_url=None, image_url__link="https://x.test/a.png",
             loras="[" * 5000)
    with pytest.raises(AppError, match="loras: is nested too deeply"):
        call(client, "flux_general_rf_inversion", prompt="p", image_url=None, image_url__link="https://x.test/a.png",
             loras="[" * 40 + "]" * 40)


def planted_record(secret: str) -> Any:
    from runs.record import RunRecord

    return RunRecord(id="planted", endpoint_id=get_endpoint("flux_dev_image_to_image").id,
                     api_name="flux_dev_image_to_image", provider="fal", route="sandbox",
                     input={"prompt": "a trap", "image_url": secret, "seed": 7, "strength": 0.6}, state="done")


def assert_refused(form: EndpointForm, updates: dict[Any, Any], checked: Any, secret: str) -> None:
    components = form.value_components()
    assert updates[components["image_url"]] is None and updates[components["image_url__link"]] == ""
    assert secret not in json.dumps([v for v in updates.values() if not isinstance(v, Block)], default=str)
    assert checked.messages == ["image_url: must be an http(s):// or data: URL"]
    assert updates[components["prompt"]] == "a trap" and updates[components["seed"]] == 7, "the rest is kept"


def test_a_history_entry_naming_a_server_file_restores_everything_else(built, tmp_path) -> None:
    """Issue 17.1: a history entry (the browser's to edit) whose record names a server file in an image field."""
    _, forms = built
    form = forms["flux_dev_image_to_image"]
    secret = str(tmp_path / "ledger.jsonl")
    (tmp_path / "ledger.jsonl").write_text("visitor addresses")
    entry_input = planted_record(secret).to_json()["input"]
    updates, checked = form.checked_updates(entry_input)
    assert_refused(form, updates, checked, secret)
    plain = form.updates(entry_input)
    assert plain[form.value_components()["image_url"]] is None, "updates() checks too"


def test_an_opened_image_whose_record_names_a_server_file_is_refused(built, tmp_path) -> None:
    """Issue 17.1: the same record, read out of an image dropped on "Open image"."""
    import io

    from PIL import Image

    from runs.provenance import embed_metadata, read_metadata

    _, forms = built
    form = forms["flux_dev_image_to_image"]
    secret = str(tmp_path / "ledger.jsonl")
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="PNG")
    meta = read_metadata(embed_metadata(buffer.getvalue(), "image/png", planted_record(secret)))
    mapped = meta.to_form_values(form.spec)
    assert mapped.values["image_url"] == secret, "the image carries the path"
    updates, checked = form.checked_updates(mapped.values)
    assert_refused(form, updates, checked, secret)


def test_outside_values_the_model_refuses_are_named_and_the_rest_kept(built) -> None:
    _, forms = built
    form = forms["flux_general_rf_inversion"]
    deep: list[Any] = []
    for _ in range(20):
        deep = [deep]
    _, checked = form.checked_updates({"prompt": "p", "seed": "abc", "loras": deep, "num_inference_steps": 12,
                                       "not_a_field": 1})
    assert sorted(checked.refused) == ["loras", "seed"]
    assert checked.refused["loras"] == "loras: is nested too deeply (at most 16 levels of lists and objects)"
    assert checked.values == {"prompt": "p", "num_inference_steps": 12}
