"""Read-only code and tables as Markdown text, so the first page loads no code editor and no data grid.

Gradio's page draws nothing until every component type in its config is loaded, and types cost their loads (a
small page with 9 more types: +0.33 s until Generate works; this page without these two: −70 ms, measured side by
side; ``benchmarks/README.md``, ``docs/upstream.md`` §14). The code views (a
run's code, a sweep cell's, the history's four) and the compare table only show text, so they are ``gr.Markdown``:
a fenced block gets Prism's highlighting and a copy button from Gradio's Markdown, a table its own layout. That
leaves CodeMirror (300 KB) and the data grid (120 KB) out of the page; the editable JSON fields of other tabs
still use ``gr.Code`` and load it when their tab is drawn.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from typing import Any

import gradio as gr

#: Prism's names for the snippets' languages (``runs.codegen``'s snippet keys map onto these).
PRISM_LANGUAGES = frozenset({"python", "javascript", "bash"})
_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")


def code_view(elem_id: str) -> gr.Markdown:
    """An empty code view, hidden: give it ``shown_code`` (the first code makes it visible). Hidden, because the
    page loads the module of every component type it shows before drawing anything, and Gradio's Markdown is a
    heavy one; the page's other texts are ``prose.Prose``. No LaTeX: Gradio's Markdown would swap a ``$$`` pair in
    the code for a placeholder before highlighting, and Prism's tokens can keep it from being put back."""
    return gr.Markdown("", elem_id=elem_id, elem_classes=["fp-code"], latex_delimiters=[], visible=False)


def shown_code(text: str, language: str) -> Any:
    """A code view's update: ``text`` as a fenced block (``code_block``), and the view visible."""
    return gr.update(value=code_block(text, language), visible=True)


def table_view(elem_id: str) -> gr.Markdown:
    """An empty table view (give it ``table`` text); no LaTeX, so a ``$$`` in a value shows as written."""
    return gr.Markdown("", elem_id=elem_id, latex_delimiters=[])


def code_block(text: str, language: str) -> str:
    """``text`` as a fenced Markdown block, its fence longer than any run of backticks inside it. (Gradio's Markdown
    turns tabs into spaces on the way: the snippets have none, ``runs.codegen`` writes printable text.)"""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language if language in PRISM_LANGUAGES else ''}\n{text}\n{fence}"


def cell(value: Any) -> str:
    """A table cell showing ``value`` as written: Markdown and HTML punctuation escaped, line breaks kept."""
    return "<br>".join(_PUNCTUATION.sub(r"\\\1", line) for line in str(value).splitlines() or [""])


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> str:
    """A Markdown table under ``title`` (bold, when given); empty (no text) when there are no rows."""
    lines = [f"| {' | '.join(cell(value) for value in row)} |" for row in rows]
    if not lines:
        return ""
    head = f"| {' | '.join(cell(h) for h in headers)} |\n|{'---|' * len(headers)}"
    return (f"**{cell(title)}**\n\n" if title else "") + head + "\n" + "\n".join(lines)
