"""Black Forest Labs' API: submit, poll the URL it answers, download the image before its signed URL expires
(Python with requests, and cURL with jq). The key goes only to BFL's own hosts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from providers.base import PreparedRequest
from runs.codegen.literals import (
    HEREDOC,
    comment_literal,
    comment_text,
    heredoc_json,
    python_comment_literal,
    python_literal,
    sh_quote,
)
from runs.codegen.parts import extra_headers, files_note, local_file_name, output_extension, snippet_title, url_base
from runs.codegen.services import BFL_API_URL


def bfl_api_base(request: PreparedRequest) -> str:
    """The API base the request went to (``https://api.bfl.ai`` for BFL itself)."""
    return url_base(request, "/v1/")


def _bfl_where(base: str, prefix: str, literal: Callable[[Any], str]) -> str:
    return "" if base == BFL_API_URL else f"{prefix} This run went to {literal(base)}, not Black Forest Labs.\n"


def bfl_python(request: PreparedRequest) -> str:
    base = bfl_api_base(request)
    header_lines = "".join(f"    {python_literal(k)}: {python_literal(v)},\n" for k, v in extra_headers(request).items())
    return (
        f"# {comment_text(snippet_title(request.endpoint_id))} through Black Forest Labs' API, with requests.\n"
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
        f"{_bfl_where(base, '#', python_comment_literal)}"
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
        f"{files_note(replace(request, files=(part,)), '#', python_comment_literal)}"
        f"BODY[{python_literal(part.field)}] = base64.b64encode(Path({python_literal(local_file_name(part))})"
        '.read_bytes()).decode("ascii")\n'
        for part in request.files
    )


def _bfl_curl_files(request: PreparedRequest) -> str:
    """Shell lines that put each file the run sent into the body file "$body" as plain base64 (with jq)."""
    return "".join(
        f"{files_note(replace(request, files=(part,)), '#', comment_literal)}"
        f"base64 < {sh_quote(local_file_name(part), 'a file name')} | tr -d '\\n' > \"$tmp\"\n"
        f"jq --rawfile image \"$tmp\" {sh_quote('.' + json.dumps(part.field) + ' = $image', 'a field name')} "
        '"$body" > "$tmp.json" && mv "$tmp.json" "$body"\n'
        for part in request.files
    )


def bfl_curl(request: PreparedRequest) -> str:
    base = bfl_api_base(request)
    headers = "".join(f"  -H {sh_quote(f'{k}: {v}', f'the header {k!r}')} \\\n" for k, v in extra_headers(request).items())
    out = f"out.{output_extension(request)}"
    return (
        "#!/bin/sh\n"
        f"# {comment_text(snippet_title(request.endpoint_id))} through Black Forest Labs' API.\n"
        "# Needs curl and jq. Reads your key from the BFL_API_KEY environment variable.\n"
        f"# Saves the image as {out}: BFL's image URL expires after 10 minutes.\n"
        "set -eu\n"
        ': "${BFL_API_KEY:?set BFL_API_KEY to your BFL key}"\n'
        f"{_bfl_where(base, '#', comment_literal)}"
        f"API={sh_quote(base, 'the API URL')}\n"
        'tmp=$(mktemp)\n'
        'body=$(mktemp)\n'
        "trap 'rm -f \"$tmp\" \"$body\"' EXIT\n"
        f"cat > \"$body\" <<'{HEREDOC}'\n"
        f"{heredoc_json(request.body)}\n"
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
