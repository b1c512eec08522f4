"""The config embedded in the page leaves out what Gradio's frontend never reads (components/page_config.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio import routes

from components import page_config
from components.gradio_fixes import fixes_active
from components.page_config import PAGE_UNUSED_ENDPOINT_KEYS, PAGE_UNUSED_KEYS, trim_page_config

FRONTEND = Path(gr.__file__).parent / "templates" / "frontend"


def embedded(html: str, name: str) -> dict:
    """The JSON the page assigns to ``window.<name>``."""
    match = re.search(rf"window\.{name} = (\{{.*?\}});</script>", html, re.DOTALL)
    assert match, f"no window.{name} in the page"
    return json.loads(match.group(1))


def embedded_config(html: str) -> dict:
    return embedded(html, "gradio_config")


def embedded_api_info(html: str) -> dict:
    return embedded(html, "gradio_api_info")


@pytest.fixture()
def demo():
    with gr.Blocks() as blocks:
        name = gr.Textbox(label="Name")
        out = gr.JSON()
        gr.Button("Go").click(lambda s: {"name": s}, name, out, api_name="go")
    _, url, _ = blocks.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True)
    yield blocks, url.rstrip("/")
    blocks.close()


@pytest.fixture()
def plain_filter():
    """Gradio's own filter for the test, whatever an app launched earlier in this process installed; the filter as
    it was afterwards."""
    filters = routes.templates.env.filters
    current = filters["toorjson"]
    plain = current.__wrapped__ if getattr(current, "__flux_playground_trimmed__", False) else current
    filters["toorjson"] = plain
    yield plain
    filters["toorjson"] = current


def test_the_frontend_reads_none_of_the_left_out_keys():
    """The reason the keys may go: no built frontend file names them (this fails on a Gradio whose frontend does)."""
    names = {key for key in PAGE_UNUSED_KEYS if key != "api_info"}
    for path in FRONTEND.rglob("*.js"):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not [n for n in names if n in text], path
        # "api_info" appears only as the client's own property (from window.gradio_api_info), never a component's
        assert not re.search(r"\.api_info\b", text.replace("this.api_info", "")), path


def test_the_pages_client_reads_only_parameters_and_returns_of_an_endpoint():
    """The reason an endpoint's other keys may go: the client's ``view_api`` builds each endpoint of its own view from
    ``parameters``, ``returns`` and ``oauth_token``, and only "Use via API" (which fetches ``/gradio_api/info``)
    reads descriptions and code snippets."""
    readers = [p.name for p in FRONTEND.rglob("*.js")
               if "window.gradio_api_info" in p.read_text(encoding="utf-8", errors="replace")]
    assert len(readers) == 1, readers
    client = next(FRONTEND.rglob(readers[0])).read_text(encoding="utf-8")
    built = re.search(r"r\[i\]\[e\]=\{parameters:[^}]*\}", client)
    assert built and "oauth_token" in built.group(0), "the client's view of an endpoint is not as checked"
    assert not re.search(r"\.\.\.a[,}]", built.group(0))  # no endpoint copied whole
    assert "code_snippets" not in client
    docs = [p for p in FRONTEND.rglob("ApiDocs-*.js")]
    assert docs and all("/info`" in p.read_text(encoding="utf-8") for p in docs)


def test_the_page_leaves_them_out_and_config_and_api_keep_them(demo, plain_filter):
    blocks, url = demo
    before = embedded_config(httpx.get(url + "/", trust_env=False).text)
    assert any(PAGE_UNUSED_KEYS & set(c) for c in before["components"])  # plain Gradio sends them
    assert trim_page_config() is fixes_active()
    assert trim_page_config() is fixes_active()  # installed once
    if not fixes_active():
        pytest.skip("Gradio is not a tested version: the page is Gradio's own")
    page = httpx.get(url + "/", trust_env=False).text
    after = embedded_config(page)
    assert not any(PAGE_UNUSED_KEYS & set(c) for c in after["components"])
    # everything else is as Gradio sends it
    strip = [{k: v for k, v in c.items() if k not in PAGE_UNUSED_KEYS} for c in before["components"]]
    assert after["components"] == strip
    assert {k: v for k, v in after.items() if k != "components"} == {k: v for k, v in before.items()
                                                                        if k != "components"}
    assert "window.gradio_api_info = {" in page and '"/go"' in page  # the API description stays in the page
    go = embedded_api_info(page)["named_endpoints"]["/go"]
    assert go["parameters"] and go["returns"] and not PAGE_UNUSED_ENDPOINT_KEYS & set(go)
    config = httpx.get(url + "/config", trust_env=False).json()
    assert any("api_info" in c for c in config["components"])  # gradio_client's /config keeps them
    info = httpx.get(url + "/gradio_api/info", trust_env=False).json()
    assert "/go" in info["named_endpoints"]
    assert {"code_snippets", "description"} <= set(info["named_endpoints"]["/go"])  # "Use via API" reads these
    assert go == {k: v for k, v in info["named_endpoints"]["/go"].items() if k not in PAGE_UNUSED_ENDPOINT_KEYS}
    assert any("api_info" in c for c in blocks.config["components"])  # Gradio's own config untouched


def test_off_on_other_gradio_versions(monkeypatch, plain_filter):
    monkeypatch.setattr(page_config, "fixes_active", lambda: False)
    assert trim_page_config() is False
    assert routes.templates.env.filters["toorjson"] is plain_filter


def ids_in(node: dict) -> set[int]:
    return {node["id"], *(i for child in node.get("children", []) for i in ids_in(child))} - {None}


@pytest.fixture()
def app_like(plain_filter):
    """A form filled at load by a marked js event, a js load event that is not marked, an API-only event, and an
    API surface (a hidden container for the API only) with an event inside it and one writing into it."""
    from gradio.components.api_component import Api

    with gr.Blocks() as blocks:
        name = gr.Textbox(label="Name", elem_id="name")
        count = gr.Number(label="Count", elem_id="count")
        note = gr.Markdown("not yet", elem_id="note")
        fill = gr.Button("Fill", elem_id="fill")
        out = gr.JSON()
        for trigger in (blocks.load, fill.click):
            trigger(None, js=page_config.initial_values_js(["Ada", 3]), outputs=[name, count], queue=False)
        blocks.load(None, js="() => 'loaded'", outputs=[note], queue=False)
        gr.Button("Go").click(lambda s: {"name": s}, name, out, api_name="go")
        with gr.Column(visible=False, elem_id=page_config.API_SURFACE_ID) as surface:
            copy = gr.Textbox(label="copy", elem_id="copy")
            gr.Button("Run copy", elem_id="run-copy").click(lambda s: {"copy": s}, copy, out, api_name="copy")
        name.change(lambda s: s, name, copy, api_name="mirror")  # fired from the page, writes the surface
        with gr.Column(visible=False) as hidden:
            parameter, result = Api(None, {"type": "string"}, label="text"), Api(None, {"type": "object"})

        def echo(text: str) -> dict:
            return {"text": text}

        gr.context.get_blocks_context().set_event_trigger(  # as the Models tab registers its APIs
            [], echo, [parameter], [result], api_name="echo", queue=True, api_visibility="public")
    _, url, _ = blocks.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True)
    yield blocks, url.rstrip("/"), hidden, surface
    blocks.close()


def test_the_page_leaves_out_api_only_events_and_takes_load_time_values_as_starting_values(app_like):
    _, url, hidden, surface = app_like
    if not trim_page_config():
        pytest.skip("Gradio is not a tested version: the page is Gradio's own")
    page = embedded_config(httpx.get(url + "/", trust_env=False).text)
    config = httpx.get(url + "/config", trust_env=False).json()
    by_id = {c["id"]: c for c in page["components"]}
    events = {d["id"]: d for d in page["dependencies"]}
    # the API-only event, its parameter components and the column that held only them: not on the page, but each
    # public event off the page stays as a stub, for "Use via API" (it lists the page's public events)
    stubs = {d["api_name"]: d for d in page["dependencies"] if not d["targets"]}
    assert set(stubs) == {"echo", "copy", "mirror"}
    for name, stub in stubs.items():
        assert (stub["inputs"], stub["outputs"], stub["cancels"], stub["trigger_after"]) == ([], [], [], None), name
        full = next(d for d in config["dependencies"] if d.get("api_name") == name)
        assert {k: v for k, v in stub.items() if k not in page_config._STUB} == {
            k: v for k, v in full.items() if k not in page_config._STUB}
    assert not [c for c in page["components"] if c["type"] == "api"] and hidden._id not in by_id
    assert any(not d["targets"] for d in config["dependencies"])  # /config keeps it, and the API serves it
    api = httpx.get(url + "/gradio_api/info", trust_env=False).json()["named_endpoints"]
    assert {"/echo", "/copy", "/mirror", "/go"} <= set(api)
    # the API surface, everything in it, and every event touching it: not on the page (in /config)
    elem_ids = {c["props"].get("elem_id") for c in page["components"]}
    assert not {page_config.API_SURFACE_ID, "copy", "run-copy"} & elem_ids and surface._id not in by_id
    assert {"copy", "run-copy"} <= {c["props"].get("elem_id") for c in config["components"]}
    assert not {"copy", "mirror"} & {d.get("api_name") for d in page["dependencies"] if d["targets"]}
    assert {"copy", "mirror", "go"} <= {d.get("api_name") for d in config["dependencies"]}
    # the marked load event became the starting values; the same js on a click, and unmarked load js, stay
    values = {c["props"].get("elem_id"): c["props"].get("value") for c in page["components"]}
    assert (values["name"], values["count"]) == ("Ada", 3)
    marked = [d for d in page["dependencies"] if (d.get("js") or "").startswith(page_config.INITIAL_VALUES_MARK)]
    assert [t[1] for d in marked for t in d["targets"]] == ["click"]
    assert any(d.get("js") == "() => 'loaded'" for d in page["dependencies"])
    assert values["note"] == "not yet"
    server_values = {c["props"].get("elem_id"): c["props"].get("value") for c in config["components"]}
    assert server_values["name"] in ("", None)  # the server's value (the API default) is unchanged
    # every id the page names is on the page, in the config and in its page view alike
    named = ids_in(page["layout"]) | {i for d in page["dependencies"] for k in ("inputs", "outputs") for i in d[k]}
    named |= {t[0] for d in page["dependencies"] for t in d["targets"]}
    assert named - {page["layout"]["id"]} <= set(by_id)  # the root (a load trigger) is no component
    view = page["page"][""]
    assert set(view["components"]) == set(by_id) and set(view["dependencies"]) == set(events)
    assert ids_in(view["layout"]) == ids_in(page["layout"])


def test_numbers_that_start_empty_are_marked_for_the_page_script_that_empties_them(plain_filter):
    """Gradio's Number mounts a missing value as 0; the page no longer sets every prop again after mounting
    (``components.frontend_fixes``), so the page marks each Number it starts empty (``widgets.EMPTY_BOXES_JS``)."""
    from components.widgets import EMPTY_START_CLASS

    with gr.Blocks() as blocks:
        gr.Number(label="Seed", elem_id="seed")
        gr.Number(label="Steps", value=28, elem_id="steps")
        gr.Number(label="Filled at load", elem_id="filled")
        gr.Number(label="Own class", elem_id="own", elem_classes=["mine"])
        filled = blocks.children[2]
        blocks.load(None, js=page_config.initial_values_js([4]), outputs=[filled], queue=False)
    _, url, _ = blocks.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True)
    try:
        if not trim_page_config():
            pytest.skip("Gradio is not a tested version: the page is Gradio's own")
        page = embedded_config(httpx.get(url.rstrip("/") + "/", trust_env=False).text)
        config = httpx.get(url.rstrip("/") + "/config", trust_env=False).json()
    finally:
        blocks.close()
    classes = {c["props"]["elem_id"]: c["props"].get("elem_classes") or [] for c in page["components"]
               if c["type"] == "number"}
    assert classes == {"seed": [EMPTY_START_CLASS], "steps": [], "filled": [], "own": ["mine", EMPTY_START_CLASS]}
    assert all(EMPTY_START_CLASS not in (c["props"].get("elem_classes") or []) for c in config["components"])
