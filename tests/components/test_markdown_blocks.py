import re

import pytest

from components.history_panel import COPY_CODE_JS
from components.markdown_blocks import cell, code_block, code_view, table, table_view


def code_of(block: str) -> str:
    """The code inside a block, as the history's Python copy (``COPY_CODE_JS``) takes it: the same pattern."""
    match = re.fullmatch(r"(`{3,})[^\n]*\n(.*)\n\1", block, flags=re.DOTALL)
    return match.group(2) if match else block


def test_the_copy_step_uses_the_pattern_read_here():
    assert r"/^(`{3,})[^\n]*\n([\s\S]*)\n\1$/" in COPY_CODE_JS


def test_code_block_is_fenced_past_any_backticks_inside():
    text = 'print("```")\nx = "````"'
    block = code_block(text, "python")
    fence = block.split("\n", 1)[0]
    assert fence == "`````python"  # one longer than the longest run inside
    assert block.endswith("\n`````") and code_of(block) == text


@pytest.mark.parametrize("language, named", [("python", "python"), ("bash", "bash"), ("cobol", "")])
def test_code_block_names_only_known_highlighters(language, named):
    assert code_block("x", language).split("\n", 1)[0] == "```" + named


def test_code_of_leaves_plain_text_alone():
    assert code_of("no fence here") == "no fence here"


def test_a_cell_shows_its_value_as_written():
    written = cell("a *bold* | <b>tag</b> & _x_\nsecond line")
    assert "<b>" not in written and "|" not in written.replace("\\|", "")
    assert written.count("<br>") == 1
    # Every escaped character is ASCII punctuation, so Markdown shows it as typed.
    assert re.sub(r"\\(.)", r"\1", written.replace("<br>", "\n")) == "a *bold* | <b>tag</b> & _x_\nsecond line"


def test_table_has_a_header_and_one_line_per_row():
    text = table(("parameter", "A", "B"), [["seed", 1, 2], ["prompt", "a|b", "c"]])
    lines = text.splitlines()
    assert lines[0] == "| parameter | A | B |" and lines[1] == "|---|---|---|"
    assert lines[2] == "| seed | 1 | 2 |" and lines[3] == "| prompt | a\\|b | c |"
    assert table(("a",), []) == ""


def test_a_titled_table_says_its_title_above_the_header():
    text = table(("parameter", "A", "B"), [["seed", 1, 2]], "Parameters that differ")
    assert text.startswith("**Parameters that differ**\n\n| parameter | A | B |")
    assert table(("a",), [], "Nothing") == ""


def test_views_leave_dollar_pairs_alone():
    # Gradio's Markdown would swap a $$ pair for a placeholder before Prism highlights the block.
    assert code_view("c").latex_delimiters == [] and table_view("t").latex_delimiters == []
    assert "fp-code" in (code_view("c").elem_classes or [])
