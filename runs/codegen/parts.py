"""Pieces every protocol's snippets share: the title line, the headers worth repeating, the base URL a request
went to, and the files a run sent."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from endpoints import get_endpoint
from endpoints.base import EndpointSpec
from providers.base import REDACTED, FilePart, PreparedRequest
from runs.codegen.literals import comment_text
from runs.record import SECRET_HEADERS

TRANSPORT_HEADERS = frozenset({"content-type", "content-length", "host", "user-agent", "accept", "accept-encoding",
                               "connection"})


def spec_or_none(endpoint_id: str) -> EndpointSpec | None:
    try:
        return get_endpoint(endpoint_id)
    except KeyError:
        return None


def snippet_title(endpoint_id: str) -> str:
    """The snippet's first line: nothing from a record, which could hold a PEP 263 encoding declaration there
    (``coding: utf-7`` would make Python decode the rest of the file so that a literal's escapes become code)."""
    spec = spec_or_none(endpoint_id)
    return comment_text(f"{spec.title} ({spec.id})") if spec else "An endpoint this app does not list"


def extra_headers(request: PreparedRequest) -> dict[str, str]:
    """Headers worth repeating: not credentials (rebuilt from the environment) and not transport details."""
    return {
        comment_text(name): comment_text(value) for name, value in request.headers.items()
        if name.lower() not in SECRET_HEADERS | TRANSPORT_HEADERS and REDACTED not in value
    }


def url_base(request: PreparedRequest, prefix: str = "/") -> str:
    """The base URL the request went to: its URL without ``<prefix><endpoint id>`` (and any query)."""
    url = request.url.split("?", 1)[0].rstrip("/")
    suffix = prefix + request.endpoint_id.strip("/")
    if not url.endswith(suffix):
        raise ValueError(f"the request URL {url!r} does not end with {suffix!r}")
    return url[: -len(suffix)]


def local_file_name(part: FilePart) -> str:
    """The name the code expects the part's file under, next to it: safe for shell, curl's -F and Python."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", part.file_name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip("._-")
    return name or f"{part.field}.bin"

_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")


def media_type(content_type: str) -> str:
    return content_type if _MEDIA_TYPE.match(content_type) else "application/octet-stream"


def files_note(request: PreparedRequest, prefix: str, literal: Callable[[Any], str]) -> str:
    return "".join(
        f"{prefix} This run sent {literal(part.field)} as a file ({media_type(part.content_type)}, "
        f"{_count(part.size)} bytes, sha256 {comment_text(str(part.sha256)[:12])}…): put it next to this "
        f"script as {local_file_name(part)}.\n"
        for part in request.files
    )


def _count(size: Any) -> str:
    return f"{size:,}" if type(size) is int else comment_text(str(size))


def output_extension(request: PreparedRequest) -> str:
    fmt = str(request.body.get("output_format", "jpg")).lower()
    return {"png": "png", "webp": "webp"}.get(fmt, "jpg")
