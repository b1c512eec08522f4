"""MCP tools (``PLAYGROUND_MCP=1``): one per endpoint, the same run as the tab's Generate, returning JSON + images.

The tab's own named endpoint streams five outputs, which Gradio 6.31's MCP bridge cannot return (it wraps a
multi-output result in one text block when the client asks for no progress). Each tool is therefore its own
non-queued event, on hidden components: the result JSON as text and up to ``MAX_IMAGES`` images. Parameters,
types, bounds and descriptions are the tab's (``components.api_schema``); budgets and per-visitor limits apply
because the tool runs through ``run_endpoint`` like any other run. Result URLs use the host the caller reached
(the MCP call's own request), and no server path is shown (``hide_server_paths_in_mcp_results``).
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
from gradio.blocks import Block

from components.api_schema import args_docstring
from components.context import AppContext
from components.endpoint_run import run_endpoint
from components.form import EndpointForm
from components.gradio_fixes import (
    hide_server_paths_in_mcp_results,
    mcp_calls_keep_their_caller,
    only_tools_callable_over_mcp,
)
from endpoints.base import EndpointSpec
from runs.sweep.syntax import default_axis_field

MAX_IMAGES = 4  # the most any endpoint returns (num_images ≤ 4)


def add_mcp_tool(spec: EndpointSpec, form: EndpointForm, ctx: AppContext) -> None:
    """Add the hidden event behind ``spec``'s MCP tool (named like the endpoint's API name)."""
    hide_server_paths_in_mcp_results()
    only_tools_callable_over_mcp()
    mcp_calls_keep_their_caller()
    trigger = gr.Button(visible=False)
    result_text = gr.Textbox(visible=False, label="result JSON")
    images = [gr.Image(visible=False, type="filepath", label=f"image {i + 1}") for i in range(MAX_IMAGES)]

    async def tool(request: gr.Request | None = None, **values: Any) -> tuple[Any, ...]:
        final = None
        async for update in run_endpoint(spec, form, ctx, None, values, request):
            final = update
        assert final is not None
        result = {k: v for k, v in final.result.items() if k != "record"}
        gallery = final.gallery if isinstance(final.gallery, list) else []
        pictures = [item[0] for item in gallery][:MAX_IMAGES]
        return (json.dumps(result, ensure_ascii=False), *pictures, *([None] * (MAX_IMAGES - len(pictures))))

    tool.__name__ = spec.api_name
    parameters: dict[str, Block] = {**form.run_inputs()}
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


def add_sweep_tool(spec: EndpointSpec, form: EndpointForm, ctx: AppContext, sweep: Any, inputs: dict[str, Any]) -> None:
    """The MCP tool ``<api_name>_sweep``: the tab's sweep, returning the cells as JSON text and the grid image."""
    trigger = gr.Button(visible=False)
    cells_text = gr.Textbox(visible=False, label="cells JSON")
    grid = gr.Image(visible=False, type="filepath", label="grid")

    default_x = default_axis_field(spec)

    async def tool(request: gr.Request | None = None, x_field: str = default_x, x_values: str = "",
                   y_field: str | None = None, y_values: str | None = None, confirm_cost: bool = False,
                   **values: Any) -> tuple[Any, ...]:
        final = None
        async for update in sweep(request=request, x_field=x_field, x_values=x_values, y_field=y_field,
                                  y_values=y_values, confirm_cost=confirm_cost, **values):
            final = update
        assert final is not None
        cells = [{k: v for k, v in cell.items() if k != "record"} for cell in final.cells]
        return json.dumps(cells, ensure_ascii=False), final.grid

    tool.__name__ = f"{spec.api_name}_sweep"
    form.declare_api_parameters(tool)
    fields = args_docstring(spec, list(form.run_inputs())).split("Args:\n", 1)[1]
    tool.__doc__ = (sweep.__doc__ or "").rstrip() + "\n" + fields.split("\n\nReturns:", 1)[0]
    api_inputs = {k: v for k, v in inputs.items() if k != "session_keys"}
    trigger.click(tool, inputs_kwargs=api_inputs, outputs=[cells_text, grid], api_name=f"{spec.api_name}_sweep_tool",
                  queue=False, show_progress="hidden")
