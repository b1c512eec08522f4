"""fal's queue: Python with ``fal_client``, JavaScript with ``@fal-ai/client``, and cURL with jq."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from providers.base import PreparedRequest
from runs.codegen.literals import (
    HEREDOC,
    comment_literal,
    comment_text,
    heredoc_json,
    js_literal,
    python_comment_literal,
    python_literal,
    sh_quote,
)
from runs.codegen.parts import extra_headers, snippet_title, url_base
from runs.codegen.services import FAL_QUEUE_URL


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
            f"\n# This run went to {python_comment_literal(base)}, not fal. fal_client takes only a host name from\n"
            "# FAL_QUEUE_RUN_HOST (always https://), so point its queue URL there directly:\n"
            "import fal_client.client\n\n"
            f"fal_client.client.QUEUE_URL_FORMAT = {python_literal(base + '/')}\n"
        )
    headers = extra_headers(request)
    header_arg = f"    headers={python_literal(headers, 1)},\n" if headers else ""
    return (
        f"# {comment_text(snippet_title(endpoint))} on fal, with the official client.\n"
        "# pip install fal-client\n"
        "# Reads your key from the FAL_KEY environment variable.\n"
        "import json\n"
        "import sys\n\n"
        "import fal_client\n"
        f"{setup}\n"
        f"{_uploads_note(request, '#', python_comment_literal)}"
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
            f"// This run went to {comment_literal(base)}, not fal: send the client's queue calls there.\n"
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
        f"// {comment_text(snippet_title(endpoint))} on fal, with the official client.\n"
        "// npm install @fal-ai/client   (Node 18+; save as run.mjs: it is an ES module)\n"
        "// Reads your key from the FAL_KEY environment variable.\n"
        'import { fal } from "@fal-ai/client";\n\n'
        f"{config}\n"
        f"{_uploads_note(request, '//', comment_literal)}"
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
    where = "" if base == FAL_QUEUE_URL else f"# This run went to {comment_literal(base)}, not fal.\n"
    headers = "".join(f"  -H {sh_quote(f'{k}: {v}', f'the header {k!r}')} \\\n" for k, v in extra_headers(request).items())
    return (
        "#!/bin/sh\n"
        f"# {comment_text(snippet_title(endpoint))} through fal's queue API.\n"
        "# Needs curl and jq. Reads your key from the FAL_KEY environment variable.\n"
        "set -eu\n"
        ': "${FAL_KEY:?set FAL_KEY to your fal key}"\n'
        f"{where}"
        f"QUEUE={sh_quote(base, 'the queue URL')}\n"
        f"{_uploads_note(request, '#', comment_literal)}"
        'tmp=$(mktemp)\n'
        "trap 'rm -f \"$tmp\"' EXIT\n\n"
        "# 1. Submit. The answer holds the request's status and response URLs.\n"
        f'curl -sS --fail-with-body -X POST "$QUEUE"/{sh_quote(endpoint, "the endpoint id")} \\\n'
        '  -H "Authorization: Key $FAL_KEY" \\\n'
        "  -H 'Content-Type: application/json' \\\n"
        f"{headers}"
        f"  --data-binary @- -o \"$tmp\" <<'{HEREDOC}' || {{ cat \"$tmp\" >&2; exit 1; }}\n"
        f"{heredoc_json(request.body)}\n"
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
