"""Stock Gradio components that leave validation to the endpoint model, so every error names its field.

Gradio's Slider and Number check bounds and round to ``precision`` in ``preprocess``, and Dropdown and Radio reject
values outside their choices there, with messages that name no field ("Value 60 is greater than maximum value
50."). Over the API those checks would pre-empt the model's ``steps: must be between 15 and 50``, and
``precision=0`` would silently round 28.5 to 28. The factories below return plain components whose ``preprocess``
passes the submitted value through; ``components.form_values`` converts it and the model validates it.

Instance attributes rather than subclasses: Gradio's component metaclass writes a ``.pyi`` stub next to any module
that subclasses a component, at import time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

import gradio as gr
from gradio.data_classes import JsonData

C = TypeVar("C", bound=gr.components.Component)


def _as_submitted(payload: Any) -> Any:
    return payload


def unchecked(component: C) -> C:
    """Let submitted values through ``preprocess`` untouched (Gradio calls ``block.preprocess(...)``)."""
    component.preprocess = _as_submitted  # type: ignore[method-assign]
    return component


def field_slider(**kwargs: Any) -> gr.Slider:
    return unchecked(gr.Slider(**kwargs))


def field_number(**kwargs: Any) -> gr.Number:
    return unchecked(gr.Number(**kwargs))


def field_dropdown(**kwargs: Any) -> gr.Dropdown:
    return unchecked(gr.Dropdown(**kwargs))


def field_radio(**kwargs: Any) -> gr.Radio:
    return unchecked(gr.Radio(**kwargs))


def image_size_value(value: Any, presets: Sequence[str], **kwargs: Any) -> gr.JSON:
    """An image size as one API value: a preset name (a plain string, not JSON text) or ``{"width", "height"}``."""
    component = gr.JSON(value=json.dumps(value) if isinstance(value, str) else value, **kwargs)
    component.postprocess = lambda v: None if v is None else JsonData(root=v)  # type: ignore[method-assign]
    api_info = {
        "anyOf": [
            {"type": "string", "enum": list(presets)},
            {
                "type": "object",
                "properties": {"width": {"type": "integer"}, "height": {"type": "integer"}},
                "required": ["width", "height"],
            },
        ],
        "description": 'a preset name, or {"width": ..., "height": ...}',
    }
    component.api_info = lambda: api_info  # type: ignore[method-assign]
    return component
