"""Row editors for list fields (LoRAs, ControlNets, ...) and object fields (the fill image), over their JSON text.

The JSON text (a ``gr.Code`` under "Edit as JSON") stays the field's value and API parameter; the rows are a view
of it, drawn by ``@gr.render`` from a hidden copy, ``{name}__rows``:

- editing a row's widget patches the JSON text in the browser (``js``, no server round-trip, no redraw, so the
  focus stays where it is); an upload is the one server step (the image becomes a ``data:`` URI in the JSON);
- "Add …" and "Remove" patch the JSON and copy it to ``{name}__rows``, which redraws the rows;
- leaving the JSON editor copies its text to ``{name}__rows`` too, so hand edits show up as rows (invalid JSON
  shows as a message where the rows were, and the JSON is submitted as typed, to be refused by name);
- Restore / "Load example" write both (``write`` returns ``{name}`` and ``{name}__rows``).

Empty rows are not dropped: a blank required text or image is ``loras[0].path: is required`` (``check_items``).
Image fields of a row (``*image_url``) take an upload or a URL, like the form's top-level images, and only http(s)
or data: URLs: nested values are never read from the server's disk. The fal provider uploads data: URIs above a few
KB to fal storage before sending (``providers/data_uris.py``), so the request, the history and copied code carry a
short URL; Segmind takes them inline.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr
from gradio.processing_utils import save_base64_to_cache
from gradio.utils import get_upload_folder
from PIL import Image

from components.form_kinds.base import is_url, upload_path
from components.form_kinds.image import SOURCE_JS, nothing_text, source_text
from components.prose import Prose
from components.widgets import NotAnImage, field_image, field_number, field_slider, is_image_file, toast_text
from endpoints.schema_fields import DEFAULT_CHOICE_LABEL, FieldSpec, json_text
from providers.data_uris import set_at

ROWS = "__rows"
Path_ = list[int | str]

#: Shared by every patch: parse/dump JSON text the way ``json_text`` shows it, and walk a path.
_HELPERS = """
const parse = (t) => (t || "").trim() ? JSON.parse(t) : null;
const dump = (d) => (d === null || d === undefined) ? "" : ((Array.isArray(d) && !d.length) ? "[]" : JSON.stringify(d, null, 2));
const at = (d, path) => path.reduce((n, k) => (n === null || n === undefined) ? n : n[k], d);
const empty = (v) => v === null || v === undefined || (typeof v === "string" && !v.trim());
"""
_QUIET: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}


def _js(params: str, body: str, fallback: str) -> str:
    return f"({params}) => {{ {_HELPERS}\n try {{ {body} }} catch (e) {{ return {fallback}; }} }}"


def _unset(item: FieldSpec) -> str:
    """JS that clears ``parent[key]``: a required text becomes "", anything else is left out."""
    if item.required and item.kind in ("text", "textarea", "image"):
        return 'parent[key] = "";'
    return "delete parent[key];"


def set_value_js(path: Path_, item: FieldSpec) -> str:
    """``(code, value) -> code``: the JSON text with ``value`` at ``path`` (empty values cleared per ``_unset``)."""
    body = f"""
    const d = parse(code); const parent = at(d, {json.dumps(path[:-1])}); const key = {json.dumps(path[-1])};
    if (empty(value)) {{ {_unset(item)} }} else {{ parent[key] = (typeof value === "string") ? value.trim() : value; }}
    return dump(d);"""
    return _js("code, value", body, "code")


def set_url_js(path: Path_, item: FieldSpec) -> str:
    """``(code, url, image) -> [code, image]``: a URL replaces an upload; emptying the box clears a URL, but not an
    uploaded image (the box is emptied when one is uploaded)."""
    body = f"""
    const d = parse(code); const parent = at(d, {json.dumps(path[:-1])}); const key = {json.dumps(path[-1])};
    if (!empty(url)) {{ parent[key] = url.trim(); return [dump(d), null]; }}
    if (String(parent[key] || "").startsWith("data:")) return [code, image];
    {_unset(item)}
    return [dump(d), image];"""
    return _js("code, url, image", body, "[code, image]")


def clear_js(path: Path_, item: FieldSpec) -> str:
    body = f"""
    const d = parse(code); const parent = at(d, {json.dumps(path[:-1])}); const key = {json.dumps(path[-1])};
    {_unset(item)}
    return dump(d);"""
    return _js("code", body, "code")


def add_js(path: Path_, template: Any, is_array: bool) -> str:
    """``(code) -> [code, code]``: append ``template`` to the list at ``path`` (an object field: set it)."""
    if not is_array:
        return _js("code", f"const t = dump({json.dumps(template)}); return [t, t];", "[code, code]")
    body = f"""
    let d = parse(code); const path = {json.dumps(path)};
    if (!path.length) {{ d = d === null ? [] : d; d.push({json.dumps(template)}); }}
    else {{ const parent = at(d, path.slice(0, -1)); const key = path[path.length - 1];
            if (!Array.isArray(parent[key])) parent[key] = []; parent[key].push({json.dumps(template)}); }}
    const t = dump(d); return [t, t];"""
    return _js("code", body, "[code, code]")


def remove_js(path: Path_, index: int | None) -> str:
    """``(code) -> [code, code]``: remove item ``index`` of the list at ``path`` (``None``: the whole object)."""
    if index is None:
        return _js("code", 'return ["", ""];', "[code, code]")
    body = f"""
    const d = parse(code); at(d, {json.dumps(path)}).splice({index}, 1);
    const t = dump(d); return [t, t];"""
    return _js("code", body, "[code, code]")


# --- server side: uploads ---------------------------------------------------------------------------------------


def data_uri(path: str) -> str:
    """An image file as a ``data:`` URI (its own format's MIME type)."""
    with Image.open(path) as image:
        fmt = (image.format or "png").lower()
    with open(path, "rb") as handle:
        encoded = base64.b64encode(handle.read()).decode("ascii")
    return f"data:image/{fmt};base64,{encoded}"


def upload_handler(where: str, path: Path_) -> Callable[[str, Any], tuple[Any, Any]]:
    """An upload in a row: the JSON text with the image as a data: URI, and an empty URL box."""

    def upload(code: str, image: Any) -> tuple[Any, Any]:
        if isinstance(image, NotAnImage) or (upload_path(image) and not is_image_file(upload_path(image) or "")):
            name = image.name if isinstance(image, NotAnImage) else "the file"
            gr.Warning(toast_text(f'{where}: "{name}" is not an image'))
            return gr.skip(), gr.skip()
        file = upload_path(image)
        if file is None:
            return gr.skip(), gr.skip()
        try:
            data = json.loads(code)
            set_at(data, path, data_uri(file))
        except (ValueError, LookupError, TypeError):
            gr.Warning(f"{where}: the JSON changed meanwhile; upload the image again")
            return gr.skip(), gr.skip()
        return json_text(data), ""

    return upload


def _preview(value: Any) -> str | None:
    """A cached file showing a data: URI image (for a redrawn row), or None."""
    if not (isinstance(value, str) and value.startswith("data:image/")):
        return None
    try:
        return save_base64_to_cache(value, get_upload_folder())
    except (ValueError, OSError):
        return None


# --- checks on submit -------------------------------------------------------------------------------------------


def _where(path: Sequence[int | str]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def check_items(field: FieldSpec, value: Any, path: Path_ | None = None) -> list[tuple[str, str]]:
    """Problems the model would let through: blank required text in a row (an empty row), and image fields that
    are not http(s)/data: URLs. ``(where, rule)`` pairs, ``where`` relative to the field (``"[0].path"``)."""
    path = path or []
    items = value if field.is_array else [value]
    if not isinstance(items, list):
        return []
    problems: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        at = [*path, index] if field.is_array else path
        for sub in field.items:
            if sub.name not in item:
                continue
            entry = item[sub.name]
            where = _where([*at, sub.name])
            if isinstance(entry, str) and not entry.strip() and sub.required and sub.kind in ("text", "textarea", "image"):
                problems.append((where, "is required"))
            elif sub.kind == "image" and isinstance(entry, str) and entry.strip() and not is_url(entry.strip()):
                problems.append((where, "must be an http(s):// or data: URL (or upload an image)"))
            elif sub.kind == "json" and sub.items:
                problems += check_items(sub, entry, [*at, sub.name])
    return problems


# --- drawing the rows -------------------------------------------------------------------------------------------


class RowEditor:
    """Draws the rows of one list (or object) field from its JSON text; used inside ``@gr.render``."""

    def __init__(self, field: FieldSpec, elem_id: str, code: gr.Code, rows: gr.Textbox) -> None:
        self.field, self.elem_id, self.code, self.rows = field, elem_id, code, rows

    def draw(self, text: str) -> None:
        field = self.field
        try:
            data = json.loads(text) if text and text.strip() else None
        except json.JSONDecodeError as exc:
            Prose(
                f"⚠️ The JSON below is not valid (line {exc.lineno}, column {exc.colno}: {exc.msg}). Fix it there; "
                "the rows come back when it is.",
                elem_id=f"{self.elem_id}-invalid",
            )
            return
        if field.is_array:
            if data is None:
                data = []
            if not isinstance(data, list):
                Prose(f"⚠️ {field.label} must be a list: fix it in the JSON below.", elem_id=f"{self.elem_id}-invalid")
                return
            self._list(field, data, [], self.elem_id)
        elif data is None:
            self._add_button(field, [], self.elem_id, count=0)
        elif not isinstance(data, dict):
            Prose(f"⚠️ {field.label} must be an object: fix it in the JSON below.", elem_id=f"{self.elem_id}-invalid")
        else:
            self._item(field, data, [], f"{self.elem_id}-row-0", title=field.item_label, index=None)

    def _list(self, field: FieldSpec, items: list[Any], path: Path_, elem_id: str) -> None:
        for index, item in enumerate(items):
            title = f"{field.item_label} {index + 1}"
            self._item(field, item, [*path, index], f"{elem_id}-row-{index}", title=title, index=index)
        self._add_button(field, path, elem_id, count=len(items))

    def _add_button(self, field: FieldSpec, path: Path_, elem_id: str, count: int) -> None:
        full = field.max_items is not None and count >= field.max_items
        label = f"+ Add {field.item_label[:1].lower() + field.item_label[1:] if path else field.item_label}"
        if full:
            label = f"{label} (at most {field.max_items})"
        add = gr.Button(label, size="sm", variant="secondary", interactive=not full, elem_id=f"{elem_id}-add")
        add.click(fn=None, js=add_js(path, field.template, field.is_array), inputs=[self.code],
                  outputs=[self.code, self.rows], **_QUIET)  # fmt: skip

    def _item(self, field: FieldSpec, item: Any, path: Path_, elem_id: str, title: str, index: int | None) -> None:
        with gr.Group(elem_id=elem_id, elem_classes=["list-row"]):
            with gr.Row(equal_height=True):
                Prose(f"**{title}**", elem_id=f"{elem_id}-title")
                remove = gr.Button("Remove", size="sm", variant="stop", scale=0, min_width=90, elem_id=f"{elem_id}-remove")
            list_path = path[:-1] if index is not None else path
            remove.click(fn=None, js=remove_js(list_path, index), inputs=[self.code],
                         outputs=[self.code, self.rows], **_QUIET)  # fmt: skip
            if not isinstance(item, dict):
                Prose(f"⚠️ {title} must be an object: fix it in the JSON below.")
                return
            simple = [s for s in field.items if s.kind not in ("image", "json")]
            with gr.Row(equal_height=False):
                for sub in simple:
                    self._widget(sub, item, [*path, sub.name], f"{elem_id}-{sub.name}")
            for sub in field.items:
                if sub.kind == "image":
                    self._image(sub, item, [*path, sub.name], f"{elem_id}-{sub.name}")
            for sub in field.items:
                if sub.kind == "json":
                    self._nested(sub, item, [*path, sub.name], f"{elem_id}-{sub.name}")

    def _alternative(self, sub: FieldSpec, value: Any) -> bool:
        if sub.alternative == "object" and isinstance(value, dict):
            Prose(f"{sub.label}: per-layer values ({len(value)}) — edit them in the JSON below.")
            return True
        if sub.alternative == "array" and isinstance(value, list):
            Prose(f"{sub.label}: {len(value)} values — edit them in the JSON below.")
            return True
        return False

    def _widget(self, sub: FieldSpec, item: dict[str, Any], path: Path_, elem_id: str) -> None:
        value = item.get(sub.name, sub.default)
        if self._alternative(sub, value):
            return
        common: dict[str, Any] = {"label": sub.label, "elem_id": elem_id, "interactive": True, "min_width": 180}
        component: gr.components.Component
        if sub.kind in ("text", "textarea"):
            component = gr.Textbox(value="" if value is None else str(value), lines=1, **common)
        elif sub.kind == "slider":
            component = field_slider(value=value, minimum=sub.minimum, maximum=sub.maximum, step=sub.step,
                                     precision=0 if sub.integer else None, **common)  # fmt: skip
        elif sub.kind == "number":
            component = field_number(value=value, minimum=sub.minimum, maximum=sub.maximum,
                                     precision=0 if sub.integer else None, **common)  # fmt: skip
        elif sub.kind in ("radio", "dropdown"):
            choices: list[tuple[str, Any]] = [(str(c), c) for c in sub.choices]
            if sub.nullable or not sub.required and sub.default is None:
                choices.insert(0, (DEFAULT_CHOICE_LABEL, ""))
            shown = value if value is not None else ("" if choices and choices[0][1] == "" else None)
            factory = gr.Radio if sub.kind == "radio" else gr.Dropdown
            component = factory(choices=choices, value=shown, **common)
        elif sub.kind == "checkbox":
            component = gr.Checkbox(value=bool(value), **common)
        else:
            Prose(f"{sub.label}: edit it in the JSON below.")
            return
        component.change(fn=None, js=set_value_js(path, sub), inputs=[self.code, component], outputs=[self.code],
                         **_QUIET)  # fmt: skip

    def _image(self, sub: FieldSpec, item: dict[str, Any], path: Path_, elem_id: str) -> None:
        value = item.get(sub.name, sub.default)
        if self._alternative(sub, value):
            return
        is_data = isinstance(value, str) and value.startswith("data:")
        with gr.Row(equal_height=False):
            name = sub.shown_label
            preview = _preview(value)
            image = field_image(value=preview, sources=["upload", "clipboard"], label=name, height=140,
                                interactive=True, scale=1, min_width=160, elem_id=elem_id)  # fmt: skip
            link = gr.Textbox(
                value="" if is_data or value is None else str(value), label=f"…or the {name.lower()}'s URL",
                placeholder="https://…", info="Uploaded images are sent inline (data: URI)." if is_data else None,
                interactive=True, scale=2, elem_id=f"{elem_id}-link",
            )
        source = Prose(
            source_text(sub, preview, link.value), elem_id=f"{elem_id}-source", elem_classes=["field-help"]
        )
        for event in (image.change, link.change):
            event(fn=None, js=SOURCE_JS % repr(nothing_text(sub)), inputs=[image, link], outputs=[source], **_QUIET)
        where = f"{self.field.name}{_where(path)}"
        link.change(fn=None, js=set_url_js(path, sub), inputs=[self.code, link, image], outputs=[self.code, image],
                    **_QUIET)  # fmt: skip
        image.upload(upload_handler(where, path), inputs=[self.code, image], outputs=[self.code, link],
                     show_progress="hidden", api_visibility="private")  # fmt: skip
        image.clear(fn=None, js=clear_js(path, sub), inputs=[self.code], outputs=[self.code], **_QUIET)

    def _nested(self, sub: FieldSpec, item: dict[str, Any], path: Path_, elem_id: str) -> None:
        value = item.get(sub.name)
        Prose(f"{sub.label}" + (f" — {sub.info}" if sub.info else ""), elem_classes=["field-help"])
        if sub.items and (value is None or isinstance(value, list)) and sub.is_array:
            self._list(sub, value or [], path, elem_id)
            return
        Prose(f"{sub.label}: edit it in the JSON below.")


def build_row_editor(field: FieldSpec, value: Any, elem_id: str) -> tuple[gr.Code, gr.Textbox]:
    """The rows, then "Edit as JSON"; returns (the JSON editor — the API component —, the hidden rows source)."""
    text = json_text(value)
    rows = gr.Textbox(value=text, visible=False, elem_id=f"{elem_id}-rows")
    holder: dict[str, gr.Code] = {}

    @gr.render(inputs=[rows], queue=False, show_progress="hidden")
    def draw_rows(shown: str) -> None:
        RowEditor(field, elem_id, holder["code"], rows).draw(shown or "")

    with gr.Accordion("Edit as JSON", open=False, elem_id=f"{elem_id}-json"):
        code = gr.Code(value=text, language="json", label=field.label, lines=3, max_lines=20, elem_id=elem_id)
    holder["code"] = code
    # Hand edits in the JSON editor redraw the rows when the editor loses focus.
    code.blur(fn=None, js="(code) => code", inputs=[code], outputs=[rows], **_QUIET)
    return code, rows
