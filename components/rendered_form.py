"""Starting values for a form drawn inside ``gr.render`` (the Models tab's model, a seed tab opened later).

A form drawn with the page gets its example from the page (``components.form``, ``components.page_config``); a
form drawn later gets every starting value here, on its components, before Gradio sends them to the page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import gradio as gr
from gradio.processing_utils import move_files_to_cache
from pydantic import BaseModel

from components.form import EndpointForm
from components.widgets import mark_empty_boxes

log = logging.getLogger(__name__)


def set_initial(component: Any, value: Any) -> None:
    """Give a component being rendered its starting value (as its constructor would have taken it)."""
    try:
        shown = component.postprocess(value) if value is not None else None
        if isinstance(shown, BaseModel):  # a file (an image): served from Gradio's cache, as the constructor does
            shown = move_files_to_cache(shown.model_dump(), component, postprocess=True, keep_in_cache=True)
        component.value = shown
    except (TypeError, ValueError, AttributeError):
        log.info("value for %s not shown: %r", getattr(component, "elem_id", component), value)


def fill_rendered(form: EndpointForm, values: Mapping[str, Any]) -> None:
    """Start a rendered form at ``values`` (keyed like ``value_components()``; others keep theirs), with the lines
    the browser derives from them (an image's "Will send"), and every field editable."""
    components = form.value_components()
    for key, value in values.items():
        if key in components:
            set_initial(components[key], value)
    current = {key: values.get(key, component.value) for key, component in components.items()}
    for component, text in form.shown_for(current):
        component.value = text
    mark_empty_boxes(components.values())
    for component in components.values():
        # Gradio's page decides a rendered component with a value and no ``interactive`` is display-only (it
        # does not see it among the inputs of the events rendered with it): a restored prompt could not be
        # edited. Every field here is an input.
        if getattr(component, "interactive", False) is None:
            component.interactive = True


def open_once(opened: bool) -> Any:
    """A section drawn on its first opening: its ``opened`` State set once (later openings send a skip)."""
    return gr.skip() if opened else True


def keep_record(record: dict[str, Any] | None) -> Any:
    """A rendered tab's run or sweep record, handed on to the session's state the history follows."""
    return record if record else gr.skip()


def changed(keys: Any) -> int:
    return time.monotonic_ns()


def keys_relay(session_keys: gr.State) -> gr.State:
    """A State that changes whenever ``session_keys`` does, for a rendered tab's estimate to follow the keys.

    Gradio 6.31's page keeps one list of events per trigger, and the events a ``gr.render`` brings replace the
    page's list for each trigger they use (``docs/upstream.md`` §8): a rendered tab listening to
    ``session_keys.change`` itself would silently unhook every other tab's estimate from it. Call once per render
    area, outside the render.
    """
    relay = gr.State(None)
    session_keys.change(changed, [session_keys], [relay], api_visibility="private", show_progress="hidden")
    return relay
