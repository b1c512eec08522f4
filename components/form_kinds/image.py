"""An image: an upload (the field's API parameter, ``handle_file(path_or_url)`` over the API) or a URL typed in a
box (``{name}__link``, a second API parameter, default ``""``). The upload wins; the URL box only takes http(s)://
or data: URLs, so a string that is not a URL is always a file the app itself received.

Local files are only ever uploads: a path is read (and written back into the upload component) only when it lies in
Gradio's upload folder (``is_upload``), where Gradio itself checks that every file an event receives was uploaded.
Any other text goes to the URL box, which refuses it by name on submit: a value from outside (a share link, an
image's metadata, a history entry) can never make Gradio copy a server file into its cache and serve it.

In the page, choosing one clears the other (an upload that is an image empties the URL box; typing a URL removes
the upload) and a line under them says which one will be sent. A file that is not an image is refused by name, on
upload (a warning naming the field as the form shows it, and the upload is removed, the URL box left as it was) and
on submit (``control_image: "notes.txt" is not an image``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gradio as gr

from components.form_kinds.base import (
    OMIT,
    FieldKind,
    FieldProblem,
    FieldWidget,
    blank,
    is_url,
    upload_path,
)
from components.prose import Prose
from components.widgets import IMAGE_TYPES_TEXT, NotAnImage, field_image, toast_text
from endpoints.schema_fields import FieldSpec
from providers.local_files import upload_file

LINK = "__link"
URL_RULE = "must be an http(s):// or data: URL (or upload an image)"

#: Which of the two is sent, from (upload, url): shown under them, updated in the browser.
SOURCE_JS = """(image, link) => image ? "Will send: the uploaded image"
    : ((link || "").trim() ? "Will send: the URL" : %s)"""
#: A URL in the box removes the upload (``.change``, not ``.input``: Gradio 6.31's Textbox fires no ``input`` for a
#: value set at once, as by autofill or a test's ``fill``).
#: After the upload's check: the URL box emptied when the upload is still there (an image), left as it is when the
#: check removed it or a URL typed meanwhile did.
CLEAR_LINK_AFTER_CHECK_JS = "(image, link) => image ? '' : link"
_CLEAR_UPLOAD_JS = "(link, image) => (link || '').trim() ? null : image"


def not_an_image(upload: NotAnImage) -> str:
    return f'"{upload.name}" is not an image (upload a {IMAGE_TYPES_TEXT} file)'


def source_text(field: FieldSpec, upload: Any, link: Any) -> str:
    if upload_path(upload):
        return "Will send: the uploaded image"
    if not blank(link):
        return "Will send: the URL"
    return nothing_text(field)


def nothing_text(field: FieldSpec) -> str:
    return "Nothing chosen yet: upload an image or give its URL." if field.required else "Nothing chosen: not sent."


def is_upload(value: Any) -> bool:
    """True for the path of a file in Gradio's upload folder (a visitor's upload, or a copy the app put there as
    one); False for anything else, a URL included."""
    if not isinstance(value, str) or not value or is_url(value):
        return False
    return upload_file(value, (Path(gr.utils.get_upload_folder()),)) is not None  # nothing past PATH_MAX resolved


def read_image(field: FieldSpec, upload: Any, link: Any) -> Any:
    """The model input from an upload and a URL box (used by list rows too). Raises FieldProblem."""
    if isinstance(upload, NotAnImage):
        raise FieldProblem(not_an_image(upload))
    path = upload_path(upload)
    if path is not None:
        if not (is_url(path) or is_upload(path)):
            raise FieldProblem("must be an uploaded image, an http(s):// or a data: URL (not a file of the server)")
        return path
    if blank(link):
        return OMIT
    link = str(link).strip()
    if not is_url(link):
        raise FieldProblem(URL_RULE)
    return link


class ImageKind(FieldKind):
    name = "image"

    def helper_keys(self, field: FieldSpec) -> tuple[str, ...]:
        return (field.name + LINK,)

    def ui_keys(self, field: FieldSpec) -> tuple[str, ...]:
        return (field.name + LINK,)

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        values = self.write(field, value)
        with gr.Group():
            image = field_image(
                value=values[field.name], sources=["upload", "clipboard"], label=field.shown_label,
                height=260,
                elem_id=elem_id,
            )
            link = gr.Textbox(
                value=values[field.name + LINK], label="…or an image URL", info=field.info or None,
                placeholder="https://…", elem_id=f"{elem_id}-link",
            )
            source = Prose(
                source_text(field, values[field.name], values[field.name + LINK]), elem_id=f"{elem_id}-source",
                elem_classes=["field-help"],
            )
        quiet: dict[str, Any] = {"queue": False, "show_progress": "hidden", "api_visibility": "private"}
        js = SOURCE_JS % repr(nothing_text(field))
        for event in (image.change, link.change):
            event(fn=None, js=js, inputs=[image, link], outputs=[source], **quiet)
        link.change(fn=None, js=_CLEAR_UPLOAD_JS, inputs=[link, image], outputs=[image], **quiet)
        # Queued: a warning only reaches the page from a queued event. The URL box is emptied once the file is known
        # to be an image, in the browser and from what the page then holds: a refused file leaves the URL that was
        # there, and a URL typed while the check was on its way (which removed the upload) is kept.
        image.upload(
            check_upload(field.shown_label), inputs=[image], outputs=[image], show_progress="hidden",
            api_visibility="private",
        ).then(fn=None, js=CLEAR_LINK_AFTER_CHECK_JS, inputs=[image, link], outputs=[link], **quiet)
        shown = [(source, lambda v: source_text(field, v.get(field.name), v.get(field.name + LINK)))]
        return FieldWidget(field.name, self.name, image, {field.name + LINK: link}, ui_keys=self.ui_keys(field),
                           shown=shown)

    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        return read_image(field, values.get(field.name), values.get(field.name + LINK))

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        if is_upload(value):
            return {field.name: value, field.name + LINK: ""}
        # Anything else is shown as text in the URL box, never handed to the upload component as a file: Gradio
        # would copy a server path into its cache and serve it. Text that is not a URL is refused on submit.
        return {field.name: None, field.name + LINK: "" if value is None else str(value)}


def check_upload(where: str) -> Any:
    """An upload handler that removes a non-image file and says so, naming the field (the toast shows HTML: the
    file's name is escaped)."""

    def check(upload: Any) -> Any:
        if isinstance(upload, NotAnImage):
            gr.Warning(toast_text(f"{where}: {not_an_image(upload)}"))
            return None
        return gr.skip()

    return check


IMAGE = ImageKind()
