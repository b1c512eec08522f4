"""A tab's "Copy link": a link to the form's current values (opening one is ``open_links``).

The event is private (not in the API) and queued: a warning only reaches the page from a queued event.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from components.context import AppContext
from components.endpoint_tab import EndpointTab
from components.form import FormError
from components.share_links import share_query
from runs.runner import public_input

COPY_JS = "(url) => { if (url && navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {}); return url; }"


def add_share_button(tab: EndpointTab, ctx: AppContext) -> None:
    """A "Copy link" button and the link box under the tab's gallery (call inside the tab's layout)."""
    spec, form = tab.spec, tab.form
    with gr.Row():
        button = gr.Button("🔗 Copy link to these settings", size="sm", elem_id=f"{spec.api_name}-share")
    link = gr.Textbox(label="Share link (copied to the clipboard)", visible=False, buttons=["copy"],
                      elem_id=f"{spec.api_name}-share-link")

    def share(request: gr.Request, **values: Any) -> Any:
        try:
            payload = form.to_model(values)
        except FormError as exc:
            raise gr.Error("Fix the form first: " + "; ".join(exc.messages), title="Invalid input") from None
        wire = payload.to_wire()
        shown = public_input(spec, wire, {})
        if len(shown) < len(wire):
            gr.Warning("Uploaded images are not part of links: give them as URLs to share them.")
        root = ctx.media_url_for(request)("").removesuffix("/media/")
        return gr.Textbox(value=f"{root}/?{share_query(spec.api_name, shown)}", visible=True)

    share.__name__ = f"{spec.api_name}_share"
    form.declare_api_parameters(share)
    event = button.click(share, inputs_kwargs={**form.run_inputs()}, outputs=[link],
                         api_visibility="private", show_progress="hidden")
    event.success(None, inputs=[link], outputs=[link], js=COPY_JS, api_visibility="private", queue=False)
