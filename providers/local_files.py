"""Which image fields of a request hold local files (uploads from the page) rather than URLs.

Only the endpoint's image fields (``x-ui: image`` in its schema) are considered, and only files under the
roots the app allows (its upload directory), so no other text can make the server read or send a local file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from endpoints.base import EndpointSpec
from providers.base import FilePart
from providers.errors import ValidationFailed

REMOTE_PREFIXES = ("http://", "https://", "data:")
#: The longest path Linux takes (``PATH_MAX``, with its NUL): a longer value cannot name an uploaded file.
PATH_MAX = 4096


@cache
def image_fields(spec: EndpointSpec) -> tuple[str, ...]:
    properties = spec.input_schema.get("properties", {})
    return tuple(name for name, prop in properties.items() if "image" in prop.get("x-ui", []))


def _under(path: Path, roots: Sequence[Path]) -> bool:
    return any(path.is_relative_to(root.resolve()) for root in roots)


def upload_file(value: str, roots: Sequence[Path]) -> Path | None:
    """The regular file ``value`` names inside one of ``roots`` (the upload folder), resolved (no link out of
    them); None for anything else (a URL, another path, a device, a name too long), never an error."""
    if len(value) > PATH_MAX or not os.path.isabs(value):
        # Longer than any path: never resolved. Resolving takes time that grows with the square of the length, and
        # an image's plain base64 (a JPEG's starts "/9j/") looks like an absolute path: 2 MB took 4.4 s of CPU.
        return None
    try:
        path = Path(value).resolve()
        return path if _under(path, roots) and path.is_file() else None
    except (OSError, ValueError):
        return None


def resolve_local_images(spec: EndpointSpec, body: dict[str, Any], roots: tuple[Path, ...]) -> dict[str, Path]:
    """``{field: path}`` for image fields whose value is a local file; raises ValidationFailed for bad paths."""
    found: dict[str, Path] = {}
    for field in image_fields(spec):
        value = body.get(field)
        if not isinstance(value, str) or not value or value.startswith(REMOTE_PREFIXES):
            continue
        path = upload_file(value, roots)
        if path is None:
            message = f"{field}: give an http(s) URL, a data: URI, or upload an image"
            raise ValidationFailed(message, fields=[(field, "not a URL or an uploaded file")])
        found[field] = path
    return found


def _mime(path: Path) -> str:
    return {".png": "image/png", ".webp": "image/webp"}.get(path.suffix.lower(), "image/jpeg")


def describe_file(field: str, path: Path) -> FilePart:
    """What a record keeps of a local file a request sends: its name, type, size and hash, never its bytes."""
    data = path.read_bytes()
    return FilePart(field, path.name, _mime(path), len(data), hashlib.sha256(data).hexdigest())
