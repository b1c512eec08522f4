"""``gradio_client`` code that runs a record again through this app's own named API endpoint."""

from __future__ import annotations

import json
import keyword
from collections.abc import Mapping
from typing import Any

from endpoints import get_endpoint
from providers.local_files import image_fields
from runs.codegen.literals import comment_text, python_comment_literal, python_literal
from runs.codegen.parts import local_file_name
from runs.record import RunRecord


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://", "data:"))


def _is_size(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"width", "height"}


def gradio_client_code(record: RunRecord, app_url: str) -> str:
    """``Client(app_url).predict(...)`` of the run's input on this app's named API endpoint."""
    spec = get_endpoint(record.endpoint_id)
    images = set(image_fields(spec))
    request = record.request
    uploads = request.uploads if request else {}
    files = {p.field: p for p in request.files} if request else {}
    arguments: list[str] = []
    odd: dict[str, Any] = {}  # input keys that are not Python identifiers (no endpoint has one) go in **{...}
    notes: list[str] = []
    needs_handle_file = False
    values = dict(record.input)
    for name in files:
        values.setdefault(name, None)  # sent as a file part: the record keeps no path, only the description
    for name, value in values.items():
        if not name.isidentifier() or keyword.iskeyword(name):
            odd[name] = value
            continue
        if name in images:
            url = value if _is_url(value) else uploads.get(name)
            if url:
                arguments.append(f"{name}=None")  # no upload: the URL box below gives the image
                arguments.append(f"{name}__link={python_literal(url, 1)}")
                continue
            file_name = local_file_name(files[name]) if name in files else f"{name}.png"
            notes.append(f"# This run used a local file for {python_comment_literal(name)}: put it next to this "
                         f"script as {file_name}.\n")
            arguments.append(f"{name}=handle_file({python_literal(file_name)})")
            needs_handle_file = True
        elif isinstance(value, list | dict) and not _is_size(value):
            arguments.append(f"{name}={python_literal(json.dumps(value, ensure_ascii=False))}")  # JSON editors
        else:
            arguments.append(f"{name}={python_literal(value, 1)}")
    if odd:
        arguments.append(f"**{python_literal(odd, 1)}")
    arguments.append(f"api_name={python_literal('/' + spec.api_name)}")
    imports = "from gradio_client import Client, handle_file\n" if needs_handle_file else (
        "from gradio_client import Client\n")
    return (
        f"# {comment_text(spec.title)} again, through the FLUX Playground app's API.\n"
        "# pip install gradio_client\n"
        "# The app runs it with its own key (or its sandbox); no key is needed or sent here.\n"
        "import json\n\n"
        f"{imports}\n"
        f"{''.join(notes)}"
        f"client = Client({python_literal(app_url)}, verbose=False)\n"
        "outputs = client.predict(\n"
        + "".join(f"    {argument},\n" for argument in arguments)
        + ")\n"
        "print(json.dumps(outputs, indent=2, ensure_ascii=False, default=str))\n"
    )
