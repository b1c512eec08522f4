"""A "Code" button beside a tab's result: the run just made, as Python, JavaScript, cURL or gradio_client code.

The code comes from ``runs.codegen`` for the provider's real service (a sandbox run's code never names the
sandbox's random local port; a comment says how to point it at a local sandbox). Keys are read from the
environment by the code, never written into it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import gradio as gr

from components.context import AppContext
from components.endpoint_tab import EndpointTab
from components.markdown_blocks import code_view, shown_code
from components.prose import Prose
from providers.catalog import provider_spec
from runs.codegen import code_for
from runs.record import RunRecord, SecretInRecordError

CodeLanguage = Literal["python", "javascript", "bash"]  # the highlighters the snippets use (Prism's names)
#: (label, snippet key, highlighter)
LANGUAGES: tuple[tuple[str, str, CodeLanguage], ...] = (
    ("Python", "python", "python"), ("JavaScript", "javascript", "javascript"), ("cURL", "curl", "bash"),
    ("gradio_client", "gradio_client", "python"))
NO_RUN = "No run yet: press Generate, then ▸ Code gives the code for that run."


def run_snippets(ctx: AppContext, record_json: dict[str, Any] | None, request: gr.Request | None) -> dict[str, str]:
    """Every snippet for a run's record, aimed at the provider's public service (``gr.Error`` when there are none)."""
    if not isinstance(record_json, dict):
        raise gr.Error(NO_RUN, title="No code", print_exception=False)
    try:
        record = RunRecord.from_json(record_json)
    except (KeyError, TypeError, ValueError):
        raise gr.Error("That run's record cannot be read.", title="No code", print_exception=False) from None
    if record.request is not None and not record.request.url.startswith(ctx.request_hosts()):
        record = dataclasses.replace(record, request=None)  # never code aimed at a host this app does not use
    root = ctx.media_url_for(request)("").removesuffix("/media/")
    try:
        return code_for(record, app_url=root + "/", public=True)
    except (SecretInRecordError, ValueError) as exc:
        raise gr.Error(f"No code for that run: {exc}", title="No code", print_exception=False) from None


def add_code_view(tab: EndpointTab, ctx: AppContext, button: gr.Button) -> None:
    """The code section under the result, opened by ``button`` with the code of ``tab``'s last run."""
    api = tab.spec.api_name
    with gr.Accordion("</> Code for this run", open=True, visible=False, elem_id=f"{api}-code-section") as section:
        provider = provider_spec(tab.spec.provider)
        Prose(f"Runs as it stands against {provider.title} with your key, read from the environment "
              f"(`{provider.key_env}`), never written into the code. gradio_client runs it through this app.")
        language = gr.Radio([label for label, _, _ in LANGUAGES], value="Python", show_label=False,
                            elem_id=f"{api}-code-language")
        code = code_view(f"{api}-code")

    def show(record_json: dict[str, Any] | None, label: str, request: gr.Request) -> tuple[Any, Any]:
        snippets = run_snippets(ctx, record_json, request)
        _, key, kind = next((entry for entry in LANGUAGES if entry[0] == label), LANGUAGES[0])
        text = snippets.get(key, f"# No {label} code for this provider: see the other languages.")
        return gr.Accordion(visible=True, open=True), shown_code(text, kind)

    private: dict[str, Any] = {"api_visibility": "private", "queue": False}
    button.click(show, [tab.last_record, language], [section, code], **private)
    language.change(show, [tab.last_record, language], [section, code], show_progress="hidden", **private)

    def refresh(record_json: dict[str, Any] | None, label: str, request: gr.Request) -> Any:
        try:  # the code shown always belongs to the last run (the section stays as it was: open or hidden)
            return show(record_json, label, request)[1]
        except gr.Error:
            return gr.skip()

    tab.after_record.add(refresh, [tab.last_record, language], [code])
