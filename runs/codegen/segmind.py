"""Segmind's v1 API: Python with requests, and cURL (JSON, or a multipart form with the run's files)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping
from typing import Any

from providers.base import FilePart, PreparedRequest
from runs.codegen.literals import (
    HEREDOC,
    comment_literal,
    comment_text,
    heredoc_json,
    python_comment_literal,
    python_literal,
    sh_quote,
)
from runs.codegen.parts import (
    extra_headers,
    files_note,
    local_file_name,
    media_type,
    output_extension,
    snippet_title,
)
from runs.codegen.services import SEGMIND_API_URL

_FORM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\[\]-]*$")


def _form_name(name: str) -> str:
    """A multipart field name curl's ``-F name=...`` cannot misread (no ``=``, ``;``, quotes or spaces)."""
    if not _FORM_NAME.match(name):
        raise ValueError(f"unsupported multipart field name {name!r}")
    return name


def _file_form(part: FilePart) -> str:
    return f"{_form_name(part.field)}=@{local_file_name(part)};type={media_type(part.content_type)}"


def _form_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _form_strings(body: Mapping[str, Any]) -> tuple[str, str]:
    """Shell lines that set variables, and curl's ``--form-string name=value`` arguments, for the form fields.

    A value of printable text is one quoted argument. One with a line break or another character that is not
    printable (a tab, U+2028, a bidi control) is not written raw into the script, where it would hide or fake
    lines: a variable gets it from ``printf``, which spells those characters as octal bytes."""
    setup: list[str] = []
    arguments: list[str] = []
    for name, value in body.items():
        text = _form_text(value)
        sh_quote(text, f"the form field {name!r}")  # refuses a NUL
        if text.isprintable():
            arguments.append(f"  --form-string {shlex.quote(f'{_form_name(name)}={text}')} \\\n")
            continue
        variable = f"form_{len(setup) + 1}"
        setup.append(f"{variable}=$(printf {shlex.quote(_printf_format(text) + '_')}); {variable}=${{{variable}%_}}\n")
        arguments.append(f'  --form-string "{_form_name(name)}=${variable}" \\\n')
    if setup:
        setup.insert(0, "# Form values with line breaks or unprintable characters, spelled out (printf keeps them exact):\n")
    return "".join(setup), "".join(arguments)


def _printf_format(text: str) -> str:
    """A ``printf`` format that prints ``text``: printable characters as themselves, the others as octal bytes."""
    out: list[str] = []
    for char in text:
        if char in "%\\":
            out.append("%%" if char == "%" else "\\\\")
        elif char.isprintable():
            out.append(char)
        else:
            out.extend(f"\\{byte:03o}" for byte in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


def _segmind_where(request: PreparedRequest, prefix: str, literal: Callable[[Any], str]) -> str:
    if request.url.startswith(SEGMIND_API_URL + "/"):
        return ""
    return f"{prefix} This run went to {literal(request.url)}, not Segmind.\n"


def segmind_python(request: PreparedRequest) -> str:
    multipart = request.body_kind == "multipart"
    if multipart:
        files = "{" + ", ".join(
            f"{python_literal(p.field)}: ({python_literal(local_file_name(p))}, "
            f"Path({python_literal(local_file_name(p))}).read_bytes(), {python_literal(media_type(p.content_type))})"
            for p in request.files
        ) + "}"
        body = {k: _form_text(v) for k, v in request.body.items()}
        send = (
            f"    data={python_literal(body, 1)},\n"
            f"    files={files},\n"
        )
    else:
        send = f"    json={python_literal(request.body, 1)},\n"
    header_lines = '        "x-api-key": os.environ["SEGMIND_API_KEY"],\n' + "".join(
        f"        {python_literal(k)}: {python_literal(v)},\n" for k, v in extra_headers(request).items()
    )
    return (
        f"# {comment_text(snippet_title(request.endpoint_id))} on Segmind, with requests.\n"
        "# pip install requests\n"
        "# Reads your key from the SEGMIND_API_KEY environment variable. Saves the image as out.<format>.\n"
        "import os\n"
        "import sys\n"
        + ("from pathlib import Path\n" if multipart else "")
        + "\nimport requests\n\n"
        f"{_segmind_where(request, '#', python_comment_literal)}"
        f"{files_note(request, '#', python_comment_literal)}"
        "response = requests.post(\n"
        f"    {python_literal(request.url)},\n"
        f"{send}"
        "    headers={\n"
        f"{header_lines}"
        "    },\n"
        "    timeout=300,  # Segmind answers once the image is ready (about 25 s)\n"
        ")\n"
        "if not response.ok:\n"
        '    sys.exit(f"Segmind answered {response.status_code}: {response.text}")\n'
        'content_type = response.headers.get("content-type", "").split(";")[0]\n'
        'name = "out." + {"image/png": "png", "image/webp": "webp"}.get(content_type, "jpg")\n'
        'with open(name, "wb") as out:\n'
        "    out.write(response.content)\n"
        'print(f"saved {name}: seed {response.headers.get(\'x-seed-value\')}, "\n'
        '      f"credits left {response.headers.get(\'x-remaining-credits\')}")\n'
    )


def segmind_curl(request: PreparedRequest) -> str:
    out = f"out.{output_extension(request)}"
    headers = "".join(f"  -H {sh_quote(f'{k}: {v}', f'the header {k!r}')} \\\n" for k, v in extra_headers(request).items())
    failed = f"|| {{ cat {out} >&2; rm -f {out}; exit 1; }}"
    setup = ""
    if request.body_kind == "multipart":
        setup, fields = _form_strings(request.body)
        fields += "".join(f"  -F {sh_quote(_file_form(p), 'a file part')} \\\n" for p in request.files)
        send = f"{fields}  -D - -o {out} {failed}\n"
    else:
        send = (
            "  -H 'Content-Type: application/json' \\\n"
            f"  --data-binary @- -D - -o {out} <<'{HEREDOC}' {failed}\n"
            f"{heredoc_json(request.body)}\n"
            f"{HEREDOC}\n"
        )
    return (
        "#!/bin/sh\n"
        f"# {comment_text(snippet_title(request.endpoint_id))} through Segmind's v1 API.\n"
        "# Needs curl. Reads your key from the SEGMIND_API_KEY environment variable.\n"
        f"# Prints the response headers (seed, credits left) and saves the image as {out}.\n"
        "set -eu\n"
        ': "${SEGMIND_API_KEY:?set SEGMIND_API_KEY to your Segmind key}"\n'
        f"{_segmind_where(request, '#', comment_literal)}"
        f"{files_note(request, '#', comment_literal)}"
        f"{setup}"
        f"curl -sS --fail-with-body -X POST {sh_quote(request.url, 'the request URL')} \\\n"
        '  -H "x-api-key: $SEGMIND_API_KEY" \\\n'
        f"{headers}"
        f"{send}"
    )
