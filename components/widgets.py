"""Stock Gradio components adjusted so the endpoint model, not the component, judges a value.

- **No server-side checks.** Gradio's Slider and Number check bounds and round to ``precision`` in ``preprocess``,
  and Dropdown and Radio reject values outside their choices there, with messages that name no field ("Value 60
  is greater than maximum value 50."). Over the API those checks would pre-empt the model's ``steps: must be
  between 15 and 50``, and ``precision=0`` would silently round 28.5 to 28. The field components here pass the
  submitted value through; ``components.form_kinds`` reads it and the model validates it.
- **No browser-side clamping.** Gradio 6.31's Slider clamps the value typed in its number box when the box loses
  focus (80 in a 1–50 slider silently becomes 50). ``field_slider`` marks its slider with ``UNCLAMPED_CLASS`` and
  ``UNCLAMP_JS`` (run once on page load) stops that blur handler, so 80 is submitted and refused by name. The
  range track still only drags within the bounds. (A typed Number box never clamps.)
- **Exact API defaults.** A Slider shows its minimum and a Checkbox ``False`` when given ``None``; ``field_slider``
  and ``field_checkbox`` keep ``None``, so a required slider has no API default and a tri-state checkbox defaults
  to "not sent".
- **Described parameters.** ``describe`` puts a field's description where ``view_api()`` and "Use via API" read
  it (the component's ``api_info_as_input()["additional_description"]``).
- **Field-named upload errors.** ``field_image``'s ``preprocess`` turns a file that is not an image into
  ``NotAnImage`` instead of Pillow's unnamed error, so the form reports ``control_image: "notes.txt" is not an
  image``.

These are subclasses, not instance attributes: when an event returns an update (``gr.update``, ``gr.skip()``) for a
component, Gradio re-creates it for that session from its class and constructor arguments, which would drop
instance overrides. They are made with ``_field_class``, which skips Gradio's component metaclass hook (it only
writes a ``.pyi`` stub next to the defining module, at import time) and marks them templates of the stock
component, so the page renders the stock widget.
"""

from __future__ import annotations

import abc
import html
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
from gradio.component_meta import ComponentMeta
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

EMPTY_START_CLASS = "fp-empty-start"
#: Installed once per page: a Number rendered by ``gr.render`` with no value shows 0 (Gradio's Number sets a missing
#: value to 0 when it mounts), and 0 is what the next run would send. Such a box, marked with EMPTY_START_CLASS,
#: is emptied once as it appears, as a box on the first page load is; a value typed afterwards is left alone.
#: Gradio's page draws a new render into the boxes of the last one where the layout matches, and a component whose
#: value is empty does not replace what the box showed: a box can come back for a new component still showing the
#: old one's value (the seed typed for the model picked before went out with the next model's run; its sweep values
#: and provider logs came along too). Each marked box of a render (a Number or a text box that starts empty) also
#: carries its component's id (``fp-block-<id>``, new for each component a render makes): it is emptied when that
#: id is first met, whatever it shows; a number box drawn anew for a component met before only when it shows
#: Gradio's 0 (a value set since, a restored seed say, stays), a text box drawn anew never.
EMPTY_BOXES_JS = """() => {
    if (window.__fluxEmptyBoxes) return;
    window.__fluxEmptyBoxes = true;
    const seen = new Set();  // the components met, by id: a box drawn again for one of them keeps its value
    const boxes = ".CLASS input[type=number], .CLASS textarea, .CLASS input[type=text]";
    const clear = (box) => { box.value = ""; box.dispatchEvent(new Event("input", {bubbles: true})); };
    const empty = () => document.querySelectorAll(boxes).forEach((box) => {
        const block = box.closest(".CLASS");
        const id = [...block.classList].find((name) => name.startsWith("fp-block-"));
        const number = box.type === "number";
        if (!id) {  // a number box of the first page: emptied once, if Gradio showed 0
            if (box.dataset.fpSeen || !number) return;
            box.dataset.fpSeen = "1";
            if (box.value === "0") clear(box);
            return;
        }
        if (box.dataset.fpSeen === id) return;
        box.dataset.fpSeen = id;
        const met = seen.has(id);  // this component met before: its box drawn anew (Gradio mounts a missing value as 0)
        seen.add(id);
        if (met ? number && box.value === "0" : box.value !== "") clear(box);
    });
    // A box kept for a new component gets that component's classes without being added again: class changes count.
    new MutationObserver(empty).observe(document.body, {childList: true, subtree: true, attributes: true,
                                                        attributeFilter: ["class"]});
    empty();
}""".replace("CLASS", EMPTY_START_CLASS)


def mark_empty_boxes(components: Iterable[Any]) -> None:
    """Mark the boxes of a render that start empty (see EMPTY_BOXES_JS): Numbers with no value, and text boxes
    shown from the start with none (one shown later is filled by whatever shows it, and keeps that)."""
    for component in components:
        number = isinstance(component, gr.Number) and component.value is None
        text = (isinstance(component, gr.Textbox) and component.value in (None, "")
                and component.visible is not False and component.type == "text")
        classes = component.elem_classes or []
        if (number or text) and EMPTY_START_CLASS not in classes:
            component.elem_classes = [*classes, EMPTY_START_CLASS, f"fp-block-{component._id}"]


def blocks_under(parent: Any) -> Iterator[Any]:
    """Every block under ``parent`` (a layout block), depth first."""
    for child in getattr(parent, "children", None) or ():
        yield child
        yield from blocks_under(child)


# After Restore, Reuse seed, Use as input or a share link filled a form: bring that form into view (the visible tab's
# top) and, when every field was set (a restore, a link), open its Advanced group so the values set there show. A
# seed tab opened for the first time is still being drawn (components.lazy_tab): look again for up to 20 s (a busy
# server draws it slowly).
# The group may not be mounted yet, and a click on a group that is then drawn again is lost: a new label is clicked
# again. The same label is only clicked again after 4 s, since a click toggles and a busy page can take a while to
# show the first one (clicking every 600 ms closed it again on a loaded machine).
#: The class of a restored sweep's status line (``run_view.origin_html``): the page then shows its Sweep section.
SWEEP_ORIGIN_CLASS = "fp-origin-sweep"
SHOW_FORM_JS = """() => { let tries = 0, shown = false, clicked = null, at = 0; const show = () => {
  const top = [...document.querySelectorAll("button[id$='-load-example']")].find(b => b.offsetParent !== null);
  if (!top) { if (++tries < 200) setTimeout(show, 100); return; }
  const api = top.id.slice(0, -'-load-example'.length);
  if (!shown) {  // a restored sweep: its Sweep section, where Run sweep is (the status line says so)
    const sweep = document.querySelector(`#${api}-status .""" + SWEEP_ORIGIN_CLASS + """`) && document.getElementById(api + '-sweep');
    (sweep || top).scrollIntoView({block: 'start'}); shown = true;
  }
  const advanced = document.getElementById(api + '-advanced');
  const label = advanced && advanced.querySelector(':scope > button.label-wrap');
  if (%s && !(label && label.classList.contains('open')) && ++tries < 200) {
    if (label && (label !== clicked || Date.now() - at > 4000)) { label.click(); clicked = label; at = Date.now(); }
    setTimeout(show, 150);
  }
}; setTimeout(show, 150); }"""

#: What an upload must be: a raster image Pillow can open (SVG and other files are refused by name).
IMAGE_TYPES_TEXT = "PNG, JPEG or WebP"


@dataclass(frozen=True)
class NotAnImage:
    """An upload that is not an image: what ``field_image`` passes on instead of failing without a field name."""

    name: str


class NoStubMeta(ComponentMeta):
    """Gradio's component metaclass without its side effect of writing a ``.pyi`` stub beside the class's file (a
    subclass adding no events needs nothing else of it): ``_field_class`` and ``prose.Prose``."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        return abc.ABCMeta.__new__(mcs, name, bases, attrs)


def _field_class(base: type[C], name: str, **methods: Any) -> type[C]:
    """A subclass of a stock component with ``methods`` replaced, rendered as the stock component."""
    namespace = {"__module__": __name__, "__qualname__": name, "is_template": True, **methods}
    return NoStubMeta(name, (base,), namespace)  # a subclass of base, built by Gradio's metaclass


def _as_submitted(self: Any, payload: Any) -> Any:
    return payload


def _keep_none(base: type[gr.components.Component]) -> Any:
    def postprocess(self: Any, value: Any) -> Any:
        return None if value is None else base.postprocess(self, value)

    return postprocess


FieldSlider = _field_class(gr.Slider, "FieldSlider", preprocess=_as_submitted, postprocess=_keep_none(gr.Slider))
FieldNumber = _field_class(gr.Number, "FieldNumber", preprocess=_as_submitted)
FieldDropdown = _field_class(gr.Dropdown, "FieldDropdown", preprocess=_as_submitted)
FieldRadio = _field_class(gr.Radio, "FieldRadio", preprocess=_as_submitted)
FieldCheckbox = _field_class(gr.Checkbox, "FieldCheckbox", postprocess=_keep_none(gr.Checkbox))


def toast_text(text: str) -> str:
    """Text for ``gr.Info``/``gr.Warning``, which render their message as HTML: escaped, so a value from a link, an
    image's metadata or a history entry shows as the text it is and never becomes markup."""
    return html.escape(text, quote=False)


def describe(component: C, description: str) -> C:
    """Show ``description`` for this component's API parameter (``view_api()``, "Use via API")."""
    original = component.api_info_as_input

    def api_info_as_input() -> dict[str, Any]:
        return {**original(), "additional_description": description}

    component.api_info_as_input = api_info_as_input  # type: ignore[method-assign]  # Gradio's hook
    return component


def field_slider(value: Any = None, **kwargs: Any) -> gr.Slider:
    """A Slider that submits what was typed, unclamped and unchecked, and keeps ``None`` (no value) as is."""
    classes = kwargs.pop("elem_classes", None) or []
    slider = FieldSlider(value=value, elem_classes=[*classes, UNCLAMPED_CLASS], **kwargs)
    if value is None:
        slider.value = None
    return slider


def field_number(**kwargs: Any) -> gr.Number:
    return FieldNumber(**kwargs)


def field_dropdown(**kwargs: Any) -> gr.Dropdown:
    return FieldDropdown(**kwargs)


def field_radio(**kwargs: Any) -> gr.Radio:
    return FieldRadio(**kwargs)


def field_checkbox(value: bool | None = None, **kwargs: Any) -> gr.Checkbox:
    """A Checkbox that keeps ``None`` ("not set") instead of showing it as ``False``."""
    checkbox = FieldCheckbox(value=bool(value), **kwargs)
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


def _checked_image(self: Any, payload: Any) -> Any:
    if payload is None:
        return None
    path = getattr(payload, "path", None)
    name = getattr(payload, "orig_name", None) or Path(path or "upload").name
    if path and not str(path).startswith(("http://", "https://")) and not is_image_file(path):
        return NotAnImage(name)
    try:
        return gr.Image.preprocess(self, payload)
    except (UnidentifiedImageError, OSError, ValueError, gr.Error):
        return NotAnImage(name)


FieldImage = _field_class(gr.Image, "FieldImage", preprocess=_checked_image)


def field_image(**kwargs: Any) -> gr.Image:
    """An upload (``type="filepath"``) whose non-image files become ``NotAnImage`` rather than an unnamed error."""
    return FieldImage(type="filepath", image_mode=None, **kwargs)


def _json_value(self: Any, value: Any) -> Any:
    return None if value is None else JsonData(root=value)


ImageSizeValue = _field_class(gr.JSON, "ImageSizeValue", postprocess=_json_value)


def image_size_value(value: Any, presets: Sequence[str], **kwargs: Any) -> gr.JSON:
    """An image size as one API value: a preset name (a plain string, not JSON text) or ``{"width", "height"}``."""
    component = ImageSizeValue(value=value, **kwargs)
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
    component.api_info = lambda: api_info  # type: ignore[method-assign]  # Gradio's hook
    return component
