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
naming the field) before any code is made (``checks.py``). Nothing from a record goes on a snippet's first line,
where Python would read an encoding declaration (PEP 263); a NUL, which no shell script can carry, is refused by
name.

Where things are: the literals of each language in ``literals.py``; the record check in ``checks.py``; the code per
wire protocol in ``fal.py``, ``segmind.py`` and ``bfl.py`` (``WRITERS`` below says which protocol gets which), with
the pieces they share in ``parts.py`` and the public services' URLs in ``services.py``; ``gradio_client`` code
against this app in ``app_client.py``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from providers.base import PreparedRequest
from runs.codegen.app_client import gradio_client_code
from runs.codegen.bfl import bfl_curl, bfl_python
from runs.codegen.checks import RecordRefused, check_record
from runs.codegen.fal import fal_curl, fal_javascript, fal_python
from runs.codegen.literals import comment_text, js_literal, python_literal
from runs.codegen.parts import local_file_name, spec_or_none
from runs.codegen.segmind import segmind_curl, segmind_python
from runs.codegen.services import PUBLIC_URLS, protocol_of
from runs.record import RunRecord, check_no_secrets

__all__ = [
    "RecordRefused",
    "check_record",
    "code_for",
    "comment_text",
    "fal_curl",
    "fal_javascript",
    "fal_python",
    "gradio_client_code",
    "js_literal",
    "local_file_name",
    "python_literal",
    "request_of",
    "segmind_curl",
    "segmind_python",
]


def code_for(record: RunRecord, *, app_url: str | None, public: bool = False) -> dict[str, str]:
    """Every snippet that applies to the run: ``python``, ``javascript``, ``curl`` (per provider) and, given the
    app's URL, ``gradio_client``. Raises ``SecretInRecordError`` or ``RecordRefused`` (both ``ValueError``) for a
    record no code may be made from.

    ``public``: a run that went elsewhere (the sandbox, on a random local port) gets code for the provider's real
    service instead, with a comment saying how to point it at a local sandbox.
    """
    check_no_secrets(record.request)
    check_record(record)
    record, seed_note = with_reported_seed(record)
    request = request_of(record)
    protocol = protocol_of(request.provider)
    howto: dict[str, str] = {}
    if public and protocol in PUBLIC_URLS and request.url.split("?", 1)[0] != PUBLIC_URLS[protocol](
            request.endpoint_id):
        request = replace(request, url=PUBLIC_URLS[protocol](request.endpoint_id))
        howto = SANDBOX_HOWTO.get(protocol, {})
    snippets: dict[str, str] = {}
    for key, write in WRITERS.get(protocol, {}).items():
        comment = "//" if key == "javascript" else "#"
        note = seed_note.replace("#", comment) if seed_note else ""
        snippets[key] = _after_first_line(write(request), howto.get(key, "") + note)
    if app_url and spec_or_none(record.endpoint_id) is not None:
        snippets["gradio_client"] = _after_first_line(gradio_client_code(record, app_url), seed_note)
    return snippets


def with_reported_seed(record: RunRecord) -> tuple[RunRecord, str]:
    """The record with the seed its provider reports written into its input and JSON request, when the run sent
    none (the form's seed left empty: the provider drew one), and a comment saying so; else the record as it is.
    Code without it would draw another seed, and another image."""
    spec = spec_or_none(record.endpoint_id)
    name = spec.field_for("seed") if spec is not None else None
    seed = record.result.get("seed") if record.result else None
    if name is None or not isinstance(seed, int) or isinstance(seed, bool) or record.input.get(name) is not None:
        return record, ""
    request = record.request
    if request is not None:
        if request.body_kind != "json" or not isinstance(request.body, dict) or name in request.body:
            return record, ""
        request = replace(request, body={**request.body, name: seed})
    note = (f"# The run sent no {comment_text(name)}: the provider drew {seed}. It is set below, so this makes the "
            "same image.\n")
    return replace(record, input={**record.input, name: seed}, request=request), note


def request_of(record: RunRecord) -> PreparedRequest:
    """The request as sent; for a run that ended before one was prepared, the input sent to the public URL."""
    if record.request is not None:
        return record.request
    public = PUBLIC_URLS.get(protocol_of(record.provider))
    if public is None:
        raise ValueError(f"no code for provider {record.provider!r}")
    url = public(record.endpoint_id)
    return PreparedRequest(provider=record.provider, endpoint_id=record.endpoint_id, method="POST", url=url,
                           headers={}, body_kind="json", body=dict(record.input))

# The code each wire protocol gets (the catalog says which protocol a provider speaks).
WRITERS: dict[str, dict[str, Callable[[PreparedRequest], str]]] = {
    "fal-queue": {"python": fal_python, "javascript": fal_javascript, "curl": fal_curl},
    "segmind-v1": {"python": segmind_python, "curl": segmind_curl},
    "bfl-v1": {"python": bfl_python, "curl": bfl_curl},
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
