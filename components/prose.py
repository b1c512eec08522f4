"""Text written in Markdown, shown as HTML rendered on the server, so the first page loads no Markdown renderer.

Gradio's page draws nothing until the frontend module of every component type shown in its config is loaded
(``docs/upstream.md`` §14), and its Markdown module is one of the heaviest (marked, Prism, KaTeX's loader and a
sanitizer): while one Markdown block is shown, the page pays for it. The page's texts (the header, the badges, a
tab's description and estimate, the session's spend, the history's count and details, the sections' notes) are
``Prose``: a ``gr.HTML`` whose value is Markdown, rendered here with markdown-it (CommonMark plus tables and
strikethrough). Everything that sets one keeps passing Markdown text.

Safety: raw HTML in the text is escaped, not passed (``html`` off), and images and links are off altogether, so a
prompt or a file name shown here stays text. Gradio's HTML block is not sanitized in the browser: this renderer is
the only gate (a page-side ``js`` step writing into a Prose bypasses it: give such steps plain text only).

The code views keep Gradio's Markdown (Prism's highlighting and the copy button) and stay hidden until their first
code (``markdown_blocks.code_view``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import gradio as gr
from markdown_it import MarkdownIt

from components.widgets import NoStubMeta

# No images or links: no text of the page needs them, and a prompt or an image's metadata shown here could
# otherwise load a picture from any host or offer a link away from the app.
_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]).disable(["image", "link", "autolink"])


@lru_cache(maxsize=512)
def render(text: str) -> str:
    """Markdown ``text`` as safe HTML (raw HTML escaped; no images or links)."""
    return _RENDERER.render(text)


class Prose(gr.HTML, metaclass=NoStubMeta):
    """A block of Markdown text, sent to the page as HTML (see the module's docstring). Its value, as set by
    events, is Markdown; what the page and the API receive is the HTML."""

    def __init__(self, value: str | None = "", **kwargs: Any) -> None:
        kwargs.setdefault("js_on_load", None)  # gr.HTML's default adds a click listener per block
        kwargs.setdefault("elem_classes", [])
        classes = kwargs["elem_classes"]
        kwargs["elem_classes"] = ["fp-prose", *([classes] if isinstance(classes, str) else classes)]
        super().__init__(value, **kwargs)

    def postprocess(self, value: str | None) -> str | None:
        return None if value is None else render(str(value))

    def api_info(self) -> dict[str, Any]:
        return {"type": "string", "description": "HTML rendered from Markdown"}
