"""MCP tools (``PLAYGROUND_MCP=1``): one per endpoint, the same run as the tab's Generate, returning JSON + images.

The tab's own named endpoint streams five outputs, which Gradio 6.31's MCP bridge cannot return (it wraps a
multi-output result in one text block when the client asks for no progress). Each tool is therefore its own
non-queued event, on hidden components: the result JSON as text and up to ``MAX_IMAGES`` images. Parameters,
types, bounds and descriptions are the tab's (``components.api_schema``); budgets and per-visitor limits apply
because the tool runs through ``run_endpoint`` like any other run.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import gradio as gr

from components.api_schema import args_docstring
from endpoints.base import EndpointSpec

if TYPE_CHECKING:
    from components.context import AppContext
    from components.form import EndpointForm

MAX_IMAGES = 4  # the most any endpoint returns (num_images ≤ 4)


def add_mcp_tool(spec: EndpointSpec, form: EndpointForm, ctx: AppContext) -> None:
    """Add the hidden event behind ``spec``'s MCP tool (named like the endpoint's API name)."""
    from components.endpoint_tab import run_endpoint

    trigger = gr.Button(visible=False)
    result_text = gr.Textbox(visible=False, label="result JSON")
    images = [gr.Image(visible=False, type="filepath", label=f"image {i + 1}") for i in range(MAX_IMAGES)]

    async def tool(request: gr.Request = None, **values: Any) -> tuple[Any, ...]:  # type: ignore[assignment]
        final: tuple[Any, ...] | None = None
        async for update in run_endpoint(spec, form, ctx, None, values, request):
            final = update
        assert final is not None
        result = {k: v for k, v in final[3].items() if k != "record"}
        gallery = final[2] if isinstance(final[2], list) else []
        pictures = [item[0] for item in gallery][:MAX_IMAGES]
        return (json.dumps(result, ensure_ascii=False), *pictures, *([None] * (MAX_IMAGES - len(pictures))))

    tool.__name__ = spec.api_name
    parameters = {**form.api_inputs(), **form.ui_inputs()}
    tool.__doc__ = args_docstring(spec, list(parameters))
    form.declare_api_parameters(tool)
    trigger.click(
        tool,
        inputs_kwargs=parameters,
        outputs=[result_text, *images],
        api_name=f"{spec.api_name}_tool",
        queue=False,
        show_progress="hidden",
    )
