"""A share link opening the page: ``?endpoint=…&field=…`` selects the tab (or opens the model in the Models tab),
fills its form with the values its endpoint accepts, and says so in the tab's status. The links themselves are
made by each tab's share button (``share_panel``) and read by ``share_links``."""

from __future__ import annotations

from typing import Any

import gradio as gr

from components.form_target import FormTarget
from components.models_tab import TAB_ID as MODELS_TAB
from components.models_tab import ModelsTab, is_model_endpoint
from components.run_view import origin_html
from components.share_links import ShareLinkError, open_link
from components.widgets import SHOW_FORM_JS, toast_text

COPY_JS = "(url) => { if (url && navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {}); return url; }"


FROM_LINK = "🔗 Filled in from a share link."
OPENER_ID = "open-shared-link"
#: On page load: a share link's page presses the (hidden) opener; any other visit does nothing.
OPEN_LINK_JS = ("() => { if (new URLSearchParams(location.search).has('endpoint')) "
                "document.getElementById('" + OPENER_ID + "')?.click(); }")


def wire_share_links(demo: gr.Blocks, tabs: gr.Tabs, forms: dict[str, FormTarget],
                     models: ModelsTab | None = None) -> None:
    """On page load, a link's ``?endpoint=…&field=…`` selects the tab and fills its form (a catalog or direct
    provider's model: the Models tab with that model picked)."""
    # Each form's fields and status (which says the values came from a link); a catalog model opens in Models.
    form_outputs = [c for target in forms.values() for c in target.outputs()]
    form_outputs += models.outputs if models is not None else []

    def open_shared(request: gr.Request) -> dict[Any, Any]:
        query = dict(request.query_params) if request is not None else {}
        if "endpoint" not in query:
            return {tabs: gr.skip()}  # a dict answer must name an output
        try:
            opened = open_link(query)
        except ShareLinkError as exc:
            gr.Warning(toast_text(str(exc)))  # a toast renders HTML, and the link is anyone's text
            return {tabs: gr.skip()}  # a dict answer must name an output
        tab = forms.get(opened.api_name)
        if tab is None and models is not None and is_model_endpoint(opened.api_name):
            if opened.warning():
                gr.Warning(opened.warning())
            return {tabs: gr.Tabs(selected=MODELS_TAB),
                    **models.open(opened.api_name, opened.values, origin=FROM_LINK)}
        if tab is None:
            gr.Warning("The link names an endpoint this page does not show.")
            return {tabs: gr.skip()}
        # Every value has been validated by the endpoint's model (``open_link``); ``updates`` checks them again.
        values, _ = tab.form.checked_values(opened.values)
        warning = opened.warning()
        if warning:
            gr.Warning(warning)
        return {tabs: gr.Tabs(selected=opened.api_name),
                **tab.show(values, origin_html(FROM_LINK, list(opened.refused)))}

    # Only a visit with ``?endpoint=`` asks the server: an event with these ~40 outputs makes Gradio's page walk its
    # whole tree on each status update, which plain visits would pay before a click on Generate works.
    opener = gr.Button("Open the share link", visible="hidden", elem_id=OPENER_ID)
    opener.click(open_shared, None, [tabs, *form_outputs], api_visibility="private", show_progress="hidden").then(
        None, js="() => (%s)()" % (SHOW_FORM_JS % "true"), api_visibility="private", queue=False)
    demo.load(None, js=OPEN_LINK_JS, api_visibility="private", queue=False, show_progress="hidden")
