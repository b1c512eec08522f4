"""A seed tab drawn the first time it is opened.

Gradio's page does start-up work that grows with blocks × events (``docs/upstream.md`` §6), and the four seed tabs
not shown first are most of the page. Each is drawn (``tab_page.build_tab`` inside ``gr.render``) when the
visitor first selects it, or when something is sent to it, once per page.

What stays as it was:

- **The API.** The named endpoints (``/<api_name>``, ``/<api_name>_sweep``) and the MCP tool come from a copy of
  the tab built with the app (``api_tab``) in a hidden container the page never receives
  (``page_config.API_SURFACE_ID``): ``/config``, ``/gradio_api/info``, gradio_client and MCP see the same
  endpoints, parameters and outputs as when every tab was drawn with the page.
- **Restores, share links, "Use as input", opened images** (``show``): the values go to the tab's ``inbox``; a
  drawn tab writes them into its form, and a tab not drawn yet is drawn with them.
- **The history**: the drawn tab's runs and sweeps reach it through the session's ``records`` state.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from components.bind import bind
from components.context import AppContext
from components.endpoint_tab import EndpointTab
from components.form import EndpointForm
from components.form_target import DrawnForm
from components.history_state import RestoredAxes
from components.rendered_form import fill_rendered, keep_record, keys_relay, open_once
from components.session_spend import SessionSpend
from components.tab_page import build_tab
from endpoints.base import EndpointSpec


@dataclass(frozen=True)
class TabStates:
    """A lazy tab's States. Create them before ``gr.Tabs``, not inside the tab: Gradio 6.31's page fires
    ``.change`` of a State inside a tab for answers that leave it unchanged, and twice for one that changes it
    (``docs/upstream.md`` §10), which drew a tab twice."""

    opened: gr.State  # True once the tab is drawn (or being drawn) in this page
    inbox: gr.State  # the last values sent to it: {"values", "status", "axes", "nonce"}
    keys_changed: gr.State  # follows the session's keys (``rendered_form.keys_relay``)


def tab_states(session_keys: gr.State) -> TabStates:
    return TabStates(gr.State(False), gr.State(None), keys_relay(session_keys))


@dataclass(frozen=True)
class LazyTab:
    """A seed tab's page side (its ``states``) and its API copy (``api_tab``)."""

    api_tab: EndpointTab
    states: TabStates

    @property
    def spec(self) -> EndpointSpec:
        return self.api_tab.spec

    @property
    def form(self) -> EndpointForm:
        return self.api_tab.form

    def outputs(self) -> list[Any]:
        return [self.states.opened, self.states.inbox]

    def show(self, values: Mapping[str, Any], status: str, axes: RestoredAxes | None = None) -> dict[Any, Any]:
        delivery = {"values": dict(values), "status": status, "axes": axes.to_json() if axes is not None else None,
                    "nonce": time.monotonic_ns()}
        return {self.states.opened: True, self.states.inbox: delivery}


def build_lazy_tab(item: gr.Tab, api_tab: EndpointTab, states: TabStates, ctx: AppContext, session_keys: gr.State,
                   spend: SessionSpend, records: gr.State) -> LazyTab:
    """The tab's drawing area. Call inside the open ``item``; ``records`` receives each run's and sweep's record."""
    lazy = LazyTab(api_tab, states)
    # Queued: a State's change (which draws the tab) fires only from the queue.
    item.select(open_once, [states.opened], [states.opened], api_visibility="private", show_progress="hidden")

    # "once": ``opened`` changes once, and a second ``change`` (``TabStates``) must not draw the tab again.
    @gr.render(inputs=[states.opened, states.inbox], triggers=[states.opened.change], trigger_mode="once")
    def area(opened: bool, delivery: dict[str, Any] | None) -> None:
        if opened:
            draw(lazy, delivery, ctx, session_keys, spend, records)

    return lazy


def draw(lazy: LazyTab, delivery: Mapping[str, Any] | None, ctx: AppContext, session_keys: gr.State,
         spend: SessionSpend, records: gr.State) -> None:
    """The whole tab, as the page would have drawn it (its example in the form), with ``delivery`` applied."""
    tab = build_tab(lazy.spec, ctx, session_keys, spend, lazy.states.keys_changed)
    values = tab.form.write(lazy.spec.example)
    if delivery:
        values.update(delivery.get("values") or {})
        tab.status.value = delivery.get("status") or tab.status.value
    fill_rendered(tab.form, values)
    if delivery and delivery.get("axes") is not None and tab.sweep_boxes is not None:
        tab.sweep_boxes.fill(RestoredAxes.from_json(delivery["axes"]))
    keep: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
    tab.after_record.add(keep_record, [tab.last_record], [records])
    tab.after_record.wire()
    tab.after_sweep(keep_record, [tab.sweep_record], [records], **keep)
    inbox = lazy.states.inbox
    inbox.change(bind(deliver, tab), [inbox], DrawnForm(tab).outputs(), **keep)


def deliver(tab: EndpointTab, delivery: dict[str, Any] | None) -> dict[Any, Any]:
    """Values sent to a drawn tab: into its form, and where they came from into its status line."""
    if not delivery:
        return {tab.status: gr.skip()}
    # Drawn now: written like the first tab.
    axes = RestoredAxes.from_json(delivery["axes"]) if delivery.get("axes") is not None else None
    return DrawnForm(tab).show(delivery["values"], delivery["status"], axes)
