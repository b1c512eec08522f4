import asyncio
from pathlib import Path

import gradio as gr

import components.prose as prose_module
from components.prose import Prose, render


def test_markdown_becomes_html():
    assert render("**Done** · `seed`") == "<p><strong>Done</strong> · <code>seed</code></p>\n"
    assert "<table>" in render("| a | b |\n|---|---|\n| 1 | 2 |") and "<s>x</s>" in render("~~x~~")
    assert render("a&nbsp;·&nbsp;b") == "<p>a\xa0·\xa0b</p>\n"


def test_raw_html_and_script_links_stay_text():
    html = render('<img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))')
    assert "<img" not in html and "<script" not in html and "<a" not in html  # the link is refused: text as typed
    assert "&lt;img src=x" in html and "[x](javascript:alert(3))" in html
    # No images or links at all: a prompt or an image's metadata cannot load a picture or offer a link away.
    shown = render("![t](https://tracker.example/x.gif) [Claim](https://evil.example) <https://evil.example>")
    assert "<img" not in shown and "<a" not in shown


def test_a_prose_block_is_gradios_html_block_with_its_text_rendered():
    block = Prose("**hi**", elem_id="note", elem_classes=["fp-badge"])
    assert block.get_block_name() == "html" and isinstance(block, gr.HTML)
    assert block.value == "<p><strong>hi</strong></p>\n"  # the initial value, as the page's config carries it
    assert block.postprocess("*set by an event*") == "<p><em>set by an event</em></p>\n"
    assert block.postprocess(None) is None
    assert block.elem_classes == ["fp-prose", "fp-badge"] and block.js_on_load is None


def test_no_stub_is_written_beside_the_module():
    # Gradio's component metaclass writes a .pyi next to a component class's file; Prose's skips it.
    assert not Path(prose_module.__file__).with_suffix(".pyi").exists()


def test_an_event_answer_in_markdown_reaches_the_page_as_html():
    with gr.Blocks() as demo:
        box = gr.Textbox()
        note = Prose("")
        box.submit(lambda text: f"You typed **{text}**", box, note)
    fn = demo.fns[0]
    answer = asyncio.run(demo.postprocess_data(fn, fn.fn("<b>x</b>"), None))  # as Gradio sends the handler's answer
    assert answer == ["<p>You typed <strong>&lt;b&gt;x&lt;/b&gt;</strong></p>\n"]
