"""Copy as code: a run's request as Python, JavaScript, cURL or ``gradio_client`` code that runs as it stands.

The code is built from the request exactly as it was sent (``RunRecord.request``), so it targets the URL the run
actually went to: the public services need no host setting, while a run that went elsewhere (the sandbox) gets
the minimal setup the official client supports, with a comment saying so. Keys never appear: the code reads
``FAL_KEY`` / ``SEGMIND_API_KEY`` from the environment, and a record whose request shows anything but
``<redacted>`` in a credential header is refused (``SecretInRecordError``).

Values are rendered as literals of each language: Python literals (``python_literal``), JSON for JavaScript
(``js_literal``), and for shell either a quoted here-document (no expansion at all) or ``shlex.quote``. That holds
for names and for comments too: a value named in a comment is written as a literal (Python ``repr`` in Python, a
JSON string in JavaScript and shell comments), and no comment holds a line terminator or any other character that
is not printable (``comment_text`` escapes them), so nothing a record holds can end a comment and start code.

A record can come from outside (an image dropped on "Open image", an edited history): ``code_for`` first checks it
against its endpoint (``check_record``), so every caller gets the check. Field names must be the endpoint's, values
must pass its input model, the request must go to ``<http(s) base>/<endpoint id>``, its file parts and uploads
must name the endpoint's fields, and its headers must be well formed; anything else is refused (``RecordRefused``,
naming the field) before any code is made. Nothing from a record goes on a snippet's first line, where Python
would read an encoding declaration (PEP 263); a NUL, which no shell script can carry, is refused by name.
"""

from __future__ import annotations

import json
import keyword
import math
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from providers.base import REDACTED, FilePart, PreparedRequest
from providers.catalog import provider_spec
from providers.data_uris import field_name
from providers.local_files import image_fields
from runs.record import SECRET_HEADERS, RunRecord, check_no_secrets

FAL_QUEUE_URL = "https://queue.fal.run"
SEGMIND_API_URL = "https://api.segmind.com"
BFL_API_URL = "https://api.bfl.ai"
TRANSPORT_HEADERS = frozenset({"content-type", "content-length", "host", "user-agent", "accept", "accept-encoding",
                               "connection"})
HEREDOC = "JSON"


def code_for(record: RunRecord, *, app_url: str | None, public: bool = False) -> dict[str, str]:
    """Every snippet that applies to the run: ``python``, ``javascript``, ``curl`` (per provider) and, given the
    app's URL, ``gradio_client``. Raises ``SecretInRecordError`` or ``RecordRefused`` (both ``ValueError``) for a
    record no code may be made from.

    ``public``: a run that went elsewhere (the sandbox, on a random local port) gets code for the provider's real
    service instead, with a comment saying how to point it at a local sandbox.
    """
    check_no_secrets(record.request)
    check_record(record)
    request = request_of(record)
    protocol = _protocol(request.provider)
    howto: dict[str, str] = {}
    if public and protocol in PUBLIC_URLS and request.url.split("?", 1)[0] != PUBLIC_URLS[protocol](
            request.endpoint_id):
        request = replace(request, url=PUBLIC_URLS[protocol](request.endpoint_id))
        howto = SANDBOX_HOWTO.get(protocol, {})
    snippets: dict[str, str] = {}
    for key, write in WRITERS.get(protocol, {}).items():
        snippets[key] = _after_first_line(write(request), howto.get(key, ""))
    if app_url and _spec_or_none(record.endpoint_id) is not None:
        snippets["gradio_client"] = gradio_client_code(record, app_url)
    return snippets


def request_of(record: RunRecord) -> PreparedRequest:
    """The request as sent; for a run that ended before one was prepared, the input sent to the public URL."""
    if record.request is not None:
        return record.request
    public = PUBLIC_URLS.get(_protocol(record.provider))
    if public is None:
        raise ValueError(f"no code for provider {record.provider!r}")
    url = public(record.endpoint_id)
    return PreparedRequest(provider=record.provider, endpoint_id=record.endpoint_id, method="POST", url=url,
                           headers={}, body_kind="json", body=dict(record.input))


# --------------------------------------------------------------------------------------------------------------
# Checking a record before any code is made from it
# --------------------------------------------------------------------------------------------------------------


class RecordRefused(ValueError):
    """A record that does not fit its endpoint (a forged or edited one): no code is made from it."""


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def shown(text: Any, limit: int = 60) -> str:
    """A name or value from a record as a message may show it: a quoted literal, cut short, on one line (what is
    not text shows as its type: a forged record may hold anything there)."""
    text = text if isinstance(text, str) else f"<{type(text).__name__}>"
    return python_literal(text if len(text) <= limit else text[:limit] + "…")


def check_record(record: RunRecord) -> EndpointSpec:
    """The record's endpoint, once everything code is made from fits it; else ``RecordRefused`` naming the field.

    Field names of the input, the request body, the file parts and the uploads must be the endpoint's; the input
    and the body must pass its input model (a field sent as a file part is the only one that may be missing); the
    request must name the record's provider and endpoint, go to an http(s) URL ending with the endpoint id (no
    query, no user name), and carry only well-formed headers.
    """
    spec = _spec_or_none(record.endpoint_id)
    if spec is None:
        raise RecordRefused(f"endpoint_id: {shown(record.endpoint_id)} is not one of this app's endpoints")
    if record.api_name != spec.api_name:
        raise RecordRefused(f"api_name: {shown(record.api_name)} is not the API name of {spec.id}")
    if record.provider != spec.provider or not _protocol(record.provider):
        raise RecordRefused(f"provider: {shown(record.provider)} does not serve {spec.id}")
    request = record.request
    files = _checked_files(spec, request) if request is not None else set()
    _check_values(spec, record.input, "input", may_miss=files)
    if request is None:
        return spec
    if request.provider != record.provider:
        raise RecordRefused(f"request.provider: {shown(request.provider)} is not the run's provider")
    if request.endpoint_id != spec.id:
        raise RecordRefused(f"request.endpoint_id: {shown(request.endpoint_id)} is not {spec.id}")
    _check_url(request.url, "request.url")
    target = urlsplit(request.url)
    if target.query or target.fragment or "@" in target.netloc or not target.path.endswith("/" + spec.id):
        # what the providers send to: <base>/<endpoint id>, nothing more (another path bills another model)
        raise RecordRefused(f"request.url: {shown(request.url)} is not a request URL of {spec.id}")
    for name, value in request.headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise RecordRefused(f"request.headers: {shown(name)} is not a header name")
        if not isinstance(value, str) or not value.isprintable():
            raise RecordRefused(f"request.headers: the value of {shown(name)} is not printable text")
    if request.body_kind not in ("json", "multipart") or (
            files and FILES_SENT_AS.get(_protocol(request.provider)) != request.body_kind):
        raise RecordRefused(f"request.body_kind: {shown(request.body_kind)} does not fit the request's files")
    if files & set(request.body):
        raise RecordRefused(f"request.files: {shown(min(files & set(request.body)))} is also in the body")
    _check_values(spec, request.body, "request.body", may_miss=files)
    sent = dict(_text_leaves(request.body))
    for where, url in request.uploads.items():
        if not isinstance(where, str) or sent.get(where) != url:
            raise RecordRefused(f"request.uploads: {shown(where)} is not a field of the body holding that URL")
        _check_url(url, f"request.uploads[{shown(where)}]")
    return spec


def _check_values(spec: EndpointSpec, values: Mapping[str, Any], where: str, *, may_miss: set[str]) -> None:
    fields = spec.input_model.model_fields
    for name in values:
        if name not in fields:
            raise RecordRefused(f"{where}: {shown(name)} is not a field of {spec.id}")
    try:
        spec.input_model.model_validate(dict(values))
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "missing" and len(loc) == 1 and loc[0] in may_miss:
                continue
            path = field_name(loc) if loc else "(input)"
            raise RecordRefused(f"{where}: {shown(path)}: {error['msg'][:200]}") from None


def _checked_files(spec: EndpointSpec, request: PreparedRequest) -> set[str]:
    """The fields sent as file parts, once each part describes a file of one of the endpoint's image fields."""
    images = set(image_fields(spec))
    seen: set[str] = set()
    for part in request.files:
        if not isinstance(part.field, str) or part.field not in images or part.field in seen:
            raise RecordRefused(f"request.files: {shown(part.field)} is not an image field of {spec.id}")
        seen.add(part.field)
        if not (isinstance(part.file_name, str) and isinstance(part.content_type, str)
                and type(part.size) is int and part.size >= 0
                and isinstance(part.sha256, str) and _SHA256.match(part.sha256)):
            raise RecordRefused(f"request.files: the part {shown(part.field)} is not a file description")
    return seen


def _check_url(url: Any, where: str) -> None:
    ok = isinstance(url, str) and url.isprintable() and not any(c.isspace() for c in url)
    if ok:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.netloc)
    if not ok:
        raise RecordRefused(f"{where}: {shown(url)} is not an http(s) URL")


def _text_leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, str]]:
    """(``field_name`` of the path, text) for every string in a JSON body: where an upload's URL may sit."""
    if isinstance(value, str) and path:
        yield field_name(path), value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _text_leaves(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_leaves(item, (*path, index))


# --------------------------------------------------------------------------------------------------------------
# Literals
# --------------------------------------------------------------------------------------------------------------


def python_literal(value: Any, level: int = 0) -> str:
    """A Python expression equal to the JSON value ``value`` (``ast.literal_eval`` reads it back)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, str):
        text = repr(value)  # escapes what is not printable (control and bidi characters) as well as quotes
        if text[0] == "'" and '"' not in value and "'" not in value:
            text = '"' + text[1:-1] + '"'
        return text
    if isinstance(value, list | tuple):
        items = [python_literal(v, level + 1) for v in value]
        return _container("[", "]", items, level)
    if isinstance(value, Mapping):
        items = [f"{python_literal(str(k))}: {python_literal(v, level + 1)}" for k, v in value.items()]
        return _container("{", "}", items, level)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _container(open_: str, close: str, items: list[str], level: int) -> str:
    if not items:
        return open_ + close
    flat = open_ + ", ".join(items) + close
    if len(flat) + 4 * level <= 88 and "\n" not in flat:
        return flat
    pad = "    " * (level + 1)
    return open_ + "\n" + "".join(f"{pad}{item},\n" for item in items) + "    " * level + close


def json_text(value: Any, indent: int | None = 2) -> str:
    """JSON that keeps readable text as is but escapes what is not printable (control and bidi characters, line
    and paragraph separators, lone surrogates) as ``\\uXXXX``, so the code shows what it sends."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return "".join(c if c.isprintable() or c == "\n" else _json_escape(c) for c in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def js_literal(value: Any, indent: int = 0) -> str:
    """A JavaScript expression equal to the JSON value, laid out as ``json.dumps(indent=2)`` does.

    JSON is a JavaScript literal once U+2028/9 are escaped, but for one key: in an object literal ``"__proto__":``
    sets the prototype instead of making a property (and a number there is dropped), so that key is written as
    the computed ``["__proto__"]:``, which makes an ordinary property as ``JSON.parse`` would.
    """
    if isinstance(value, Mapping | list | tuple) and value:
        pad = " " * (indent + 2)
        if isinstance(value, Mapping):
            items = [f"{pad}{_js_key(str(k))}: {js_literal(v, indent + 2)}" for k, v in value.items()]
            open_, close = "{", "}"
        else:
            items = [f"{pad}{js_literal(v, indent + 2)}" for v in value]
            open_, close = "[", "]"
        return open_ + "\n" + ",\n".join(items) + "\n" + " " * indent + close
    return json_text(value, indent=None)


def _js_key(key: str) -> str:
    text = json_text(key, indent=None)
    return f"[{text}]" if key == "__proto__" else text


def sh_quote(text: str, what: str) -> str:
    """``shlex.quote``, refusing a NUL, which no shell argument or script can carry (``what`` names the value)."""
    if "\0" in text:
        raise ValueError(f"{what} holds a NUL character, which a shell argument cannot carry")
    return shlex.quote(text)


def _heredoc_json(value: Any) -> str:
    """JSON for a quoted here-document: the shell expands nothing inside it."""
    text = json_text(value)
    if HEREDOC in text.splitlines():  # cannot happen: JSON strings hold no raw newline, so no line is bare text
        raise ValueError("the JSON body would end the here-document early")
    return text


def comment_text(text: str) -> str:
    """Text that stays on its comment line in any language: every character that is not printable (line
    terminators \\n, \\r, U+2028/9 and the rest, NUL, other controls, bidi controls) becomes a ``\\uXXXX`` escape."""
    return "".join(c if c.isprintable() else _json_escape(c) for c in text)


def _comment_literal(value: Any) -> str:
    """A value named in a JavaScript or shell comment: a JSON string, escaped like ``json_text``, on one line."""
    return comment_text(json.dumps(value, ensure_ascii=False))


def _python_comment_literal(value: Any) -> str:
    """A value named in a Python comment: its ``repr``, on one line."""
    return comment_text(python_literal(value))


def _spec_or_none(endpoint_id: str) -> EndpointSpec | None:
    try:
        return get_endpoint(endpoint_id)
    except KeyError:
        return None


def _title(endpoint_id: str) -> str:
    """The snippet's first line: nothing from a record, which could hold a PEP 263 encoding declaration there
    (``coding: utf-7`` would make Python decode the rest of the file so that a literal's escapes become code)."""
    spec = _spec_or_none(endpoint_id)
    return comment_text(f"{spec.title} ({spec.id})") if spec else "An endpoint this app does not list"


def extra_headers(request: PreparedRequest) -> dict[str, str]:
    """Headers worth repeating: not credentials (rebuilt from the environment) and not transport details."""
    return {
        comment_text(name): comment_text(value) for name, value in request.headers.items()
        if name.lower() not in SECRET_HEADERS | TRANSPORT_HEADERS and REDACTED not in value
    }


# --------------------------------------------------------------------------------------------------------------
# fal
# --------------------------------------------------------------------------------------------------------------


def url_base(request: PreparedRequest, prefix: str = "/") -> str:
    """The base URL the request went to: its URL without ``<prefix><endpoint id>`` (and any query)."""
    url = request.url.split("?", 1)[0].rstrip("/")
    suffix = prefix + request.endpoint_id.strip("/")
    if not url.endswith(suffix):
        raise ValueError(f"the request URL {url!r} does not end with {suffix!r}")
    return url[: -len(suffix)]


def fal_queue_base(request: PreparedRequest) -> str:
    """The queue base URL the request went to (``https://queue.fal.run`` for fal itself)."""
    return url_base(request)


def _uploads_note(request: PreparedRequest, prefix: str, literal: Callable[[Any], str]) -> str:
    lines = [
        f"{prefix} {literal(field)} was uploaded to fal storage for this run: {literal(url)} (stored files may expire)\n"
        for field, url in request.uploads.items()
    ]
    return "".join(lines)


def fal_python(request: PreparedRequest) -> str:
    base = fal_queue_base(request)
    endpoint = request.endpoint_id
    setup = ""
    if base != FAL_QUEUE_URL:
        setup = (
            f"\n# This run went to {_python_comment_literal(base)}, not fal. fal_client takes only a host name from\n"
            "# FAL_QUEUE_RUN_HOST (always https://), so point its queue URL there directly:\n"
            "import fal_client.client\n\n"
            f"fal_client.client.QUEUE_URL_FORMAT = {python_literal(base + '/')}\n"
        )
    headers = extra_headers(request)
    header_arg = f"    headers={python_literal(headers, 1)},\n" if headers else ""
    return (
        f"# {comment_text(_title(endpoint))} on fal, with the official client.\n"
        "# pip install fal-client\n"
        "# Reads your key from the FAL_KEY environment variable.\n"
        "import json\n"
        "import sys\n\n"
        "import fal_client\n"
        f"{setup}\n"
        f"{_uploads_note(request, '#', _python_comment_literal)}"
        "printed = 0  # each status update carries all the logs so far\n\n\n"
        "def on_queue_update(update):\n"
        "    global printed\n"
        "    if isinstance(update, fal_client.InProgress) and update.logs:\n"
        "        for log in update.logs[printed:]:\n"
        '            print(log["message"], file=sys.stderr)\n'
        "        printed = len(update.logs)\n\n\n"
        "result = fal_client.subscribe(\n"
        f"    {python_literal(endpoint)},\n"
        f"    arguments={python_literal(request.body, 1)},\n"
        f"{header_arg}"
        "    with_logs=True,\n"
        "    on_queue_update=on_queue_update,\n"
        ")\n"
        "print(json.dumps(result, indent=2, ensure_ascii=False))\n"
    )


def fal_javascript(request: PreparedRequest) -> str:
    base = fal_queue_base(request)
    endpoint = request.endpoint_id
    if base == FAL_QUEUE_URL:
        config = "fal.config({ credentials: process.env.FAL_KEY });\n"
    else:
        config = (
            f"// This run went to {_comment_literal(base)}, not fal: send the client's queue calls there.\n"
            f"const QUEUE_URL = {js_literal(base)};\n"
            "fal.config({\n"
            "  credentials: process.env.FAL_KEY,\n"
            "  requestMiddleware: async (request) => ({\n"
            "    ...request,\n"
            "    url: request.url.replace(/^https:\\/\\/queue\\.fal\\.run/, QUEUE_URL),\n"
            "  }),\n"
            "});\n"
        )
    headers = extra_headers(request)
    header_arg = f"  headers: {js_literal(headers, 2)},\n" if headers else ""
    return (
        f"// {comment_text(_title(endpoint))} on fal, with the official client.\n"
        "// npm install @fal-ai/client   (Node 18+; save as run.mjs: it is an ES module)\n"
        "// Reads your key from the FAL_KEY environment variable.\n"
        'import { fal } from "@fal-ai/client";\n\n'
        f"{config}\n"
        f"{_uploads_note(request, '//', _comment_literal)}"
        "let printed = 0; // each status update carries all the logs so far\n"
        f"const result = await fal.subscribe({js_literal(endpoint)}, {{\n"
        f"  input: {js_literal(request.body, 2)},\n"
        f"{header_arg}"
        "  logs: true,\n"
        "  onQueueUpdate: (update) => {\n"
        '    if (update.status === "IN_PROGRESS" && update.logs) {\n'
        "      update.logs.slice(printed).forEach((log) => console.error(log.message));\n"
        "      printed = update.logs.length;\n"
        "    }\n"
        "  },\n"
        "});\n"
        'console.error("request id:", result.requestId);\n'
        "console.log(JSON.stringify(result.data, null, 2));\n"
    )


def fal_curl(request: PreparedRequest) -> str:
    base = fal_queue_base(request)
    endpoint = request.endpoint_id
    where = "" if base == FAL_QUEUE_URL else f"# This run went to {_comment_literal(base)}, not fal.\n"
    headers = "".join(f"  -H {sh_quote(f'{k}: {v}', f'the header {k!r}')} \\\n" for k, v in extra_headers(request).items())
    return (
        "#!/bin/sh\n"
        f"# {comment_text(_title(endpoint))} through fal's queue API.\n"
        "# Needs curl and jq. Reads your key from the FAL_KEY environment variable.\n"
        "set -eu\n"
        ': "${FAL_KEY:?set FAL_KEY to your fal key}"\n'
        f"{where}"
        f"QUEUE={sh_quote(base, 'the queue URL')}\n"
        f"{_uploads_note(request, '#', _comment_literal)}"
        'tmp=$(mktemp)\n'
        "trap 'rm -f \"$tmp\"' EXIT\n\n"
        "# 1. Submit. The answer holds the request's status and response URLs.\n"
        f'curl -sS --fail-with-body -X POST "$QUEUE"/{sh_quote(endpoint, "the endpoint id")} \\\n'
        '  -H "Authorization: Key $FAL_KEY" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        f"{headers}"
        f"  --data-binary @- -o \"$tmp\" <<'{HEREDOC}' || {{ cat \"$tmp\" >&2; exit 1; }}\n"
        f"{_heredoc_json(request.body)}\n"
        f"{HEREDOC}\n"
        'status_url=$(jq -r .status_url "$tmp")\n'
        'response_url=$(jq -r .response_url "$tmp")\n'
        'echo "queued as request $(jq -r .request_id "$tmp")" >&2\n\n'
        "# 2. Poll until COMPLETED (a failed job also ends COMPLETED; step 3 then answers the error).\n"
        "while :; do\n"
        '  status=$(curl -sS -H "Authorization: Key $FAL_KEY" "$status_url" | jq -r .status)\n'
        '  case "$status" in\n'
        "    COMPLETED) break ;;\n"
        '    IN_QUEUE|IN_PROGRESS) echo "$status" >&2; sleep 1 ;;\n'
        '    *) echo "unexpected status: $status" >&2; exit 1 ;;\n'
        "  esac\n"
        "done\n\n"
        "# 3. The result: image URLs, seed, prompt, timings.\n"
        'curl -sS --fail-with-body -H "Authorization: Key $FAL_KEY" "$response_url"\n'
    )


# --------------------------------------------------------------------------------------------------------------
# Segmind
# --------------------------------------------------------------------------------------------------------------


def local_file_name(part: FilePart) -> str:
    """The name the code expects the part's file under, next to it: safe for shell, curl's -F and Python."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", part.file_name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip("._-")
    return name or f"{part.field}.bin"


_FORM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\[\]-]*$")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")


def _form_name(name: str) -> str:
    """A multipart field name curl's ``-F name=...`` cannot misread (no ``=``, ``;``, quotes or spaces)."""
    if not _FORM_NAME.match(name):
        raise ValueError(f"unsupported multipart field name {name!r}")
    return name


def _media_type(content_type: str) -> str:
    return content_type if _MEDIA_TYPE.match(content_type) else "application/octet-stream"


def _file_form(part: FilePart) -> str:
    return f"{_form_name(part.field)}=@{local_file_name(part)};type={_media_type(part.content_type)}"


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


def _output_extension(request: PreparedRequest) -> str:
    fmt = str(request.body.get("output_format", "jpg")).lower()
    return {"png": "png", "webp": "webp"}.get(fmt, "jpg")


def _files_note(request: PreparedRequest, prefix: str, literal: Callable[[Any], str]) -> str:
    return "".join(
        f"{prefix} This run sent {literal(part.field)} as a file ({_media_type(part.content_type)}, "
        f"{_count(part.size)} bytes, sha256 {comment_text(str(part.sha256)[:12])}…): put it next to this "
        f"script as {local_file_name(part)}.\n"
        for part in request.files
    )


def _count(size: Any) -> str:
    return f"{size:,}" if type(size) is int else comment_text(str(size))


def _segmind_where(request: PreparedRequest, prefix: str, literal: Callable[[Any], str]) -> str:
    if request.url.startswith(SEGMIND_API_URL + "/"):
        return ""
    return f"{prefix} This run went to {literal(request.url)}, not Segmind.\n"


def segmind_python(request: PreparedRequest) -> str:
    multipart = request.body_kind == "multipart"
    if multipart:
        files = "{" + ", ".join(
            f"{python_literal(p.field)}: ({python_literal(local_file_name(p))}, "
            f"Path({python_literal(local_file_name(p))}).read_bytes(), {python_literal(_media_type(p.content_type))})"
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
        f"# {comment_text(_title(request.endpoint_id))} on Segmind, with requests.\n"
        "# pip install requests\n"
        "# Reads your key from the SEGMIND_API_KEY environment variable. Saves the image as out.<format>.\n"
        "import os\n"
        "import sys\n"
        + ("from pathlib import Path\n" if multipart else "")
        + "\nimport requests\n\n"
        f"{_segmind_where(request, '#', _python_comment_literal)}"
        f"{_files_note(request, '#', _python_comment_literal)}"
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
    out = f"out.{_output_extension(request)}"
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
            f"{_heredoc_json(request.body)}\n"
            f"{HEREDOC}\n"
        )
    return (
        "#!/bin/sh\n"
        f"# {comment_text(_title(request.endpoint_id))} through Segmind's v1 API.\n"
        "# Needs curl. Reads your key from the SEGMIND_API_KEY environment variable.\n"
        f"# Prints the response headers (seed, credits left) and saves the image as {out}.\n"
        "set -eu\n"
        ': "${SEGMIND_API_KEY:?set SEGMIND_API_KEY to your Segmind key}"\n'
        f"{_segmind_where(request, '#', _comment_literal)}"
        f"{_files_note(request, '#', _comment_literal)}"
        f"{setup}"
        f"curl -sS --fail-with-body -X POST {sh_quote(request.url, 'the request URL')} \\\n"
        '  -H "x-api-key: $SEGMIND_API_KEY" \\\n'
        f"{headers}"
        f"{send}"
    )


# --------------------------------------------------------------------------------------------------------------
# Black Forest Labs
# --------------------------------------------------------------------------------------------------------------


def bfl_api_base(request: PreparedRequest) -> str:
    """The API base the request went to (``https://api.bfl.ai`` for BFL itself)."""
    return url_base(request, "/v1/")


def _bfl_where(base: str, prefix: str, literal: Callable[[Any], str]) -> str:
    return "" if base == BFL_API_URL else f"{prefix} This run went to {literal(base)}, not Black Forest Labs.\n"


def bfl_python(request: PreparedRequest) -> str:
    base = bfl_api_base(request)
    header_lines = "".join(f"    {python_literal(k)}: {python_literal(v)},\n" for k, v in extra_headers(request).items())
    return (
        f"# {comment_text(_title(request.endpoint_id))} through Black Forest Labs' API, with requests.\n"
        "# pip install requests\n"
        "# Reads your key from the BFL_API_KEY environment variable. Saves the image as out.<format>: BFL's image\n"
        "# URL expires after 10 minutes.\n"
        f"{'import base64' + chr(10) if request.files else ''}"
        "import os\n"
        "import sys\n"
        "import time\n"
        f"{'from pathlib import Path' + chr(10) if request.files else ''}"
        "from urllib.parse import urlsplit\n"
        "\nimport requests\n\n"
        f"{_bfl_where(base, '#', _python_comment_literal)}"
        f"API = {python_literal(base)}\n"
        'KEY = {"x-key": os.environ["BFL_API_KEY"]}\n'
        "HEADERS = {\n"
        '    "accept": "application/json",\n'
        f"{header_lines}"
        "}\n\n\n"
        "def key_for(url):\n"
        '    """The key only for the API\'s own host or a BFL host over https; a polling URL elsewhere never gets it."""\n'
        "    there, own = urlsplit(url), urlsplit(API)\n"
        '    host = (there.hostname or "").lower()\n'
        "    ours = (there.scheme, there.netloc) == (own.scheme, own.netloc)\n"
        '    return KEY if ours or (there.scheme == "https" and (host == "bfl.ai" or host.endswith(".bfl.ai"))) else {}\n'
        "\n\n"
        f"BODY = {python_literal(request.body)}\n"
        f"{_bfl_python_files(request)}\n"
        "# 1. Submit. The answer holds the task id and the URL to poll (use it as given: it may be regional).\n"
        "submitted = requests.post(\n"
        f"    API + {python_literal('/v1/' + request.endpoint_id)},\n"
        "    json=BODY,\n"
        "    headers={**HEADERS, **KEY},\n"
        "    timeout=60,\n"
        ")\n"
        "if not submitted.ok:\n"
        "    reasons = {402: 'out of credits', 403: 'the key was refused', 429: 'too many active tasks'}\n"
        '    sys.exit(f"Black Forest Labs answered {submitted.status_code} "\n'
        "             f\"({reasons.get(submitted.status_code, 'error')}): {submitted.text}\")\n"
        "task = submitted.json()\n"
        'print(f"task {task[\'id\']}", file=sys.stderr)\n\n'
        "# 2. Poll until Ready.\n"
        "wait = 0.5\n"
        "while True:\n"
        '    polled = requests.get(task["polling_url"], headers={**HEADERS, **key_for(task["polling_url"])}, timeout=60)\n'
        "    polled.raise_for_status()\n"
        "    status = polled.json()\n"
        '    state = status.get("status")\n'
        '    if state == "Ready":\n'
        "        break\n"
        '    if state in ("Request Moderated", "Content Moderated"):\n'
        '        sys.exit(f"moderated ({state}): {status.get(\'details\')}")\n'
        '    if state != "Pending":\n'
        '        sys.exit(f"{state}: {status.get(\'details\')}")\n'
        '    print(f"Pending {round((status.get(\'progress\') or 0) * 100)}%", file=sys.stderr)\n'
        "    time.sleep(wait)\n"
        "    wait = min(2.0, wait * 1.5)\n\n"
        "# 3. Download the image now: its signed URL expires after 10 minutes.\n"
        'result = status["result"]\n'
        'image = requests.get(result["sample"], timeout=120)\n'
        "image.raise_for_status()\n"
        'content_type = image.headers.get("content-type", "").split(";")[0]\n'
        'name = "out." + {"image/png": "png", "image/webp": "webp"}.get(content_type, "jpg")\n'
        'with open(name, "wb") as out:\n'
        "    out.write(image.content)\n"
        'print(f"saved {name}: seed {result.get(\'seed\')}")\n'
    )


def _bfl_python_files(request: PreparedRequest) -> str:
    """Lines that put each file the run sent into the body, as BFL takes it: plain base64."""
    return "".join(
        f"{_files_note(replace(request, files=(part,)), '#', _python_comment_literal)}"
        f"BODY[{python_literal(part.field)}] = base64.b64encode(Path({python_literal(local_file_name(part))})"
        '.read_bytes()).decode("ascii")\n'
        for part in request.files
    )


def _bfl_curl_files(request: PreparedRequest) -> str:
    """Shell lines that put each file the run sent into the body file "$body" as plain base64 (with jq)."""
    return "".join(
        f"{_files_note(replace(request, files=(part,)), '#', _comment_literal)}"
        f"base64 < {sh_quote(local_file_name(part), 'a file name')} | tr -d '\\n' > \"$tmp\"\n"
        f"jq --rawfile image \"$tmp\" {sh_quote('.' + json.dumps(part.field) + ' = $image', 'a field name')} "
        '"$body" > "$tmp.json" && mv "$tmp.json" "$body"\n'
        for part in request.files
    )


def bfl_curl(request: PreparedRequest) -> str:
    base = bfl_api_base(request)
    headers = "".join(f"  -H {sh_quote(f'{k}: {v}', f'the header {k!r}')} \\\n" for k, v in extra_headers(request).items())
    out = f"out.{_output_extension(request)}"
    return (
        "#!/bin/sh\n"
        f"# {comment_text(_title(request.endpoint_id))} through Black Forest Labs' API.\n"
        "# Needs curl and jq. Reads your key from the BFL_API_KEY environment variable.\n"
        f"# Saves the image as {out}: BFL's image URL expires after 10 minutes.\n"
        "set -eu\n"
        ': "${BFL_API_KEY:?set BFL_API_KEY to your BFL key}"\n'
        f"{_bfl_where(base, '#', _comment_literal)}"
        f"API={sh_quote(base, 'the API URL')}\n"
        'tmp=$(mktemp)\n'
        'body=$(mktemp)\n'
        "trap 'rm -f \"$tmp\" \"$body\"' EXIT\n"
        f"cat > \"$body\" <<'{HEREDOC}'\n"
        f"{_heredoc_json(request.body)}\n"
        f"{HEREDOC}\n"
        f"{_bfl_curl_files(request)}\n"
        "# 1. Submit. The answer holds the task id and the URL to poll (use it as given: it may be regional).\n"
        f'curl -sS --fail-with-body -X POST "$API"/v1/{sh_quote(request.endpoint_id, "the model")} \\\n'
        '  -H "x-key: $BFL_API_KEY" \\\n'
        "  -H 'Content-Type: application/json' -H 'accept: application/json' \\\n"
        f"{headers}"
        f"  --data-binary @\"$body\" -o \"$tmp\" || {{ cat \"$tmp\" >&2; echo >&2; exit 1; }}\n"
        'polling_url=$(jq -r .polling_url "$tmp")\n'
        'echo "task $(jq -r .id "$tmp")" >&2\n\n'
        "# The key goes only to the API's own host or a BFL host over https.\n"
        'case "$polling_url" in\n'
        '  "$API"/*|https://bfl.ai/*|https://*.bfl.ai/*) set -- -H "x-key: $BFL_API_KEY" ;;\n'
        "  *) set -- ;;\n"
        "esac\n\n"
        "# 2. Poll until Ready.\n"
        "while :; do\n"
        '  curl -sS --fail-with-body "$@" -H \'accept: application/json\' "$polling_url" -o "$tmp"\n'
        '  status=$(jq -r .status "$tmp")\n'
        '  case "$status" in\n'
        "    Ready) break ;;\n"
        '    Pending) echo "Pending $(jq -r \'(.progress // 0) * 100 | floor\' "$tmp")%" >&2; sleep 1 ;;\n'
        '    *Moderated) echo "moderated ($status): $(jq -c .details "$tmp")" >&2; exit 1 ;;\n'
        '    *) echo "$status: $(jq -c .details "$tmp")" >&2; exit 1 ;;\n'
        "  esac\n"
        "done\n\n"
        "# 3. Download the image now: its signed URL expires after 10 minutes.\n"
        f'curl -sS --fail-with-body -o {out} "$(jq -r .result.sample "$tmp")"\n'
        f'echo "saved {out}: seed $(jq -r .result.seed "$tmp")" >&2\n'
    )


# --------------------------------------------------------------------------------------------------------------
# gradio_client against this app
# --------------------------------------------------------------------------------------------------------------


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
            notes.append(f"# This run used a local file for {_python_comment_literal(name)}: put it next to this "
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


# The code each wire protocol gets (the catalog says which protocol a provider speaks).
WRITERS: dict[str, dict[str, Callable[[PreparedRequest], str]]] = {
    "fal-queue": {"python": fal_python, "javascript": fal_javascript, "curl": fal_curl},
    "segmind-v1": {"python": segmind_python, "curl": segmind_curl},
    "bfl-v1": {"python": bfl_python, "curl": bfl_curl},
}
#: How a protocol sends a local file: a multipart part (Segmind), or inline in the JSON body as base64 (BFL).
FILES_SENT_AS = {"segmind-v1": "multipart", "bfl-v1": "json"}
PUBLIC_URLS: dict[str, Callable[[str], str]] = {
    "fal-queue": lambda endpoint_id: f"{FAL_QUEUE_URL}/{endpoint_id}",
    "segmind-v1": lambda endpoint_id: f"{SEGMIND_API_URL}/v1/{endpoint_id}",
    "bfl-v1": lambda endpoint_id: f"{BFL_API_URL}/v1/{endpoint_id}",
}


# How to send a public-service snippet to a local sandbox instead (``python -m sandbox`` prints these URLs).
_RUN_SANDBOX = ("{c} This calls {who} itself, billed to your key. To try it on a local sandbox instead (nothing is\n"
                "{c} billed there), start one with `python -m sandbox --port 8765` (it prints its URLs) and\n")
SANDBOX_HOWTO: dict[str, dict[str, str]] = {
    "fal-queue": {
        "python": (_RUN_SANDBOX.format(c="#", who="fal")
                   + "# add these two lines after `import fal_client`, with the FAL_QUEUE_URL it printed:\n"
                   "#     import fal_client.client\n"
                   '#     fal_client.client.QUEUE_URL_FORMAT = "http://127.0.0.1:8765/fal/queue/"\n'),
        "javascript": (_RUN_SANDBOX.format(c="//", who="fal")
                       + "// give fal.config a requestMiddleware that replaces https://queue.fal.run in request.url\n"
                       "// with the FAL_QUEUE_URL it printed (http://127.0.0.1:8765/fal/queue).\n"),
        "curl": (_RUN_SANDBOX.format(c="#", who="fal")
                 + "# set QUEUE below to the FAL_QUEUE_URL it printed (http://127.0.0.1:8765/fal/queue).\n"),
    },
    "segmind-v1": {
        key: (_RUN_SANDBOX.format(c="#", who="Segmind")
              + "# replace https://api.segmind.com in the URL below with the SEGMIND_API_URL it printed\n"
              "# (http://127.0.0.1:8765/segmind).\n")
        for key in ("python", "curl")
    },
    "bfl-v1": {
        "python": (_RUN_SANDBOX.format(c="#", who="Black Forest Labs")
                   + "# set API below to the BFL_API_URL it printed (http://127.0.0.1:8765/bfl).\n"),
        "curl": (_RUN_SANDBOX.format(c="#", who="Black Forest Labs")
                 + "# set API below to the BFL_API_URL it printed (http://127.0.0.1:8765/bfl).\n"),
    },
}


def _after_first_line(code: str, note: str) -> str:
    """``note`` after the snippet's first line (its title, or a shell script's ``#!`` line and title)."""
    if not note:
        return code
    lines = code.splitlines(keepends=True)
    at = 2 if lines and lines[0].startswith("#!") else 1
    return "".join(lines[:at]) + note + "".join(lines[at:])


def _protocol(provider: str) -> str:
    """The provider's wire protocol, or "" for a provider this app does not know."""
    try:
        return provider_spec(provider).protocol
    except KeyError:
        return ""
