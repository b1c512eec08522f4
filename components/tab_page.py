"""One endpoint's whole tab: the run view (``endpoint_tab``) with its code, share and sweep sections, its MCP tool,
and its runs counted in the session's spend. ``app.py`` (a tab per seed endpoint) and the Models tab (the picked
model) build tabs here; the sections build on ``EndpointTab`` and never on each other.
"""

from __future__ import annotations

import gradio as gr

from components.code_panel import add_code_view
from components.context import AppContext
from components.endpoint_tab import EndpointTab, build_endpoint_tab
from components.mcp_tools import add_mcp_tool
from components.session_spend import SessionSpend, count_in_session
from components.share_panel import add_share_button
from components.sweep_panel import build_sweep_section
from endpoints.base import EndpointSpec


def build_tab(spec: EndpointSpec, ctx: AppContext, session_keys: gr.State, spend: SessionSpend,
              keys_changed: gr.State | None = None) -> EndpointTab:
    """Lay out ``spec``'s tab and wire its events. Call inside an open ``gr.Tab``, or inside a ``gr.render`` with
    ``keys_changed`` from ``rendered_form.keys_relay`` (not ``session_keys`` itself: see there)."""
    tab = build_endpoint_tab(spec, ctx, session_keys, keys_changed)
    with tab.code_row:
        add_code_view(tab, ctx, tab.code_button)
    with tab.share_row:
        add_share_button(tab, ctx)
    with tab.sweep_row:
        build_sweep_section(tab, ctx, session_keys)
    if ctx.mcp:
        add_mcp_tool(spec, tab.form, ctx)
    count_in_session(tab, spend)
    return tab
