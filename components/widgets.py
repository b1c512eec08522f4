"""Stock Gradio components adjusted so the endpoint model, not the component, judges a value.

- **No server-side checks.** Gradio's Slider and Number check bounds and round to ``precision`` in ``preprocess``,
  and Dropdown and Radio reject values outside their choices there, with messages that name no field ("Value 60
  is greater than maximum value 50."). Over the API those checks would pre-empt the model's ``steps: must be
  between 15 and 50``, and ``precision=0`` would silently round 28.5 to 28. ``unchecked`` passes the submitted
  value through; ``components.form_kinds`` reads it and the model validates it.
- **No browser-side clamping.** Gradio 6.31's Slider clamps the value typed in its number box when the box loses
  focus (80 in a 1–50 slider silently becomes 50). ``field_slider`` marks its slider with ``UNCLAMPED_CLASS`` and
  ``UNCLAMP_JS`` (run once on page load) stops that blur handler, so 80 is submitted and refused by name. The
  range track still only drags within the bounds.
- **Exact API defaults.** A Slider shows its minimum and a Checkbox ``False`` when given ``None``; ``field_slider``
  and ``field_checkbox`` keep ``None``, so a required slider has no API default and a tri-state checkbox defaults
  to "not sent".
- **Described parameters.** ``describe`` puts a field's description where ``view_api()`` and "Use via API" read
  it (the component's ``api_info_as_input()["additional_description"]``).
- **Field-named upload errors.** ``field_image``'s ``preprocess`` turns a file that is not an image into
  ``NotAnImage`` instead of Pillow's unnamed error, so the form reports ``control_image: ... is not an image``.

Instance attributes rather than subclasses: Gradio's component metaclass writes a ``.pyi`` stub next to any module
that subclasses a component, at import time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
from gradio.data_classes import JsonData
from PIL import Image, UnidentifiedImageError

C = TypeVar("C", bound=gr.components.Component)

UNCLAMPED_CLASS = "unclamped-slider"
#: Installed once per page: a capturing blur listener that keeps Gradio's Slider from clamping its number box.
UNCLAMP_JS = """() => {
    if (window.__fluxUnclampedSliders) return;
    window.__fluxUnclampedSliders = true;
    document.addEventListener("blur", (event) => {
        const box = event.target;
        if (box instanceof HTMLInputElement && box.type === "number" && box.closest(".CLASS")) {
            event.stopPropagation();  // Gradio's handler would clamp the typed value to the slider's range
        }
    }, true);
}""".replace("CLASS", UNCLAMPED_CLASS)

#: What an upload must be: a raster image Pillow can open (SVG and other files are refused by name).
IMAGE_TYPES_TEXT = "PNG, JPEG or WebP"


@dataclass(frozen=True)
class NotAnImage:
    """An upload that is not an image: what ``field_image`` passes on instead of failing without a field name."""

    name: str


def _as_submitted(payload: Any) -> Any:
    return payload


def _keep_none(postprocess: Any) -> Any:
    def wrapped(value: Any) -> Any:
        return None if value is None else postprocess(value)

    return wrapped


def unchecked(component: C) -> C:
    """Let submitted values through ``preprocess`` untouched (Gradio calls ``block.preprocess(...)``)."""
    component.preprocess = _as_submitted  # type: ignore[method-assign]
    return component


def describe(component: C, description: str) -> C:
    """Show ``description`` for this component's API parameter (``view_api()``, "Use via API")."""
    original = component.api_info_as_input

    def api_info_as_input() -> dict[str, Any]:
        return {**original(), "additional_description": description}

    component.api_info_as_input = api_info_as_input  # type: ignore[method-assign]
    return component


def field_slider(value: Any = None, **kwargs: Any) -> gr.Slider:
    """A Slider that submits what was typed, unclamped and unchecked, and keeps ``None`` (no value) as is."""
    classes = kwargs.pop("elem_classes", None) or []
    slider = unchecked(gr.Slider(value=value, elem_classes=[*classes, UNCLAMPED_CLASS], **kwargs))
    slider.postprocess = _keep_none(slider.postprocess)  # type: ignore[method-assign]
    if value is None:
        slider.value = None
    return slider


def field_number(**kwargs: Any) -> gr.Number:
    return unchecked(gr.Number(**kwargs))


def field_dropdown(**kwargs: Any) -> gr.Dropdown:
    return unchecked(gr.Dropdown(**kwargs))


def field_radio(**kwargs: Any) -> gr.Radio:
    return unchecked(gr.Radio(**kwargs))


def field_checkbox(value: bool | None = None, **kwargs: Any) -> gr.Checkbox:
    """A Checkbox that keeps ``None`` ("not set") instead of showing it as ``False``."""
    checkbox = gr.Checkbox(value=value, **kwargs)
    checkbox.postprocess = _keep_none(checkbox.postprocess)  # type: ignore[method-assign]
    if value is None:
        checkbox.value = None
    return checkbox


def is_image_file(path: str | Path) -> bool:
    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False
    return True


def field_image(**kwargs: Any) -> gr.Image:
    """An upload (``type="filepath"``) whose non-image files become ``NotAnImage`` rather than an unnamed error."""
    image = gr.Image(type="filepath", image_mode=None, **kwargs)
    preprocess = image.preprocess

    def checked(payload: Any) -> Any:
        if payload is None:
            return None
        name = getattr(payload, "orig_name", None) or Path(getattr(payload, "path", "") or "upload").name
        path = getattr(payload, "path", None)
        if path and not str(path).startswith(("http://", "https://")) and not is_image_file(path):
            return NotAnImage(name)
        try:
            return preprocess(payload)
        except (UnidentifiedImageError, OSError, ValueError, gr.Error):
            return NotAnImage(name)

    image.preprocess = checked  # type: ignore[method-assign]
    return image


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
