"""``components.bind.bind``: a module-level handler bound to its view still shows Gradio its own parameters."""

from __future__ import annotations

import functools
import inspect

import gradio as gr
from gradio.helpers import special_args
from gradio.utils import get_type_hints

from components.bind import bind


class View:
    label = "history"


def select(view: View, entries: list, evt: gr.SelectData) -> str:
    return f"{view.label}:{len(entries)}:{evt.index}"


async def stop(view: View, request: gr.Request) -> str:
    return view.label


def test_a_bound_handler_keeps_its_parameters_and_the_hints_gradio_fills_in() -> None:
    handler = bind(select, View())
    assert list(inspect.signature(handler).parameters) == ["entries", "evt"]
    assert get_type_hints(handler)["evt"] is gr.SelectData  # Gradio fills in the event data
    assert handler.__name__ == "select"
    assert inspect.iscoroutinefunction(bind(stop, View()))
    assert get_type_hints(bind(stop, View()))["request"] is gr.Request
    # What a partial would have hidden: Gradio would pass no SelectData, and the handler would fail.
    assert "evt" not in get_type_hints(functools.partial(select, View()))


def test_gradio_fills_in_the_event_data_of_a_bound_handler_and_not_of_a_partial() -> None:
    event = gr.SelectData(None, {"index": 1, "value": None})
    inputs, _, _, _ = special_args(bind(select, View()), [[1, 2]], event_data=event)
    assert bind(select, View())(*inputs) == "history:2:1"
    hidden, _, _, _ = special_args(functools.partial(select, View()), [[1, 2]], event_data=event)
    assert hidden == [[1, 2], None]  # no event data: the handler would get None for ``evt``
