"""``bind``: a module-level handler with its view as the first argument, ready for a Gradio event.

Panels here are a layout function that returns a view (a dataclass of the panel's components and what its handlers
reach) and named handlers written as ``def restore(view, entries, selected)``. The binding is a bound method, not a
``functools.partial``: Gradio reads a handler's own parameters and type hints to fill in ``gr.Request`` and
``gr.SelectData``, and a partial hides them (``gradio.utils.get_type_hints`` looks only at functions and methods).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
V = TypeVar("V")


def bind(handler: Callable[Concatenate[V, P], R], view: V) -> Callable[P, R]:
    """``handler`` with ``view`` given; its name, parameters and hints are still the handler's."""
    bound: Any = types.MethodType(handler, view)
    return bound
