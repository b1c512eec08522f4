"""Share links: an endpoint and its form values in a URL's query string, and back. No server-side state.

``/?endpoint=flux_dev_image_to_image&prompt=…&strength=0.6&seed=77``: short scalar values travel as plain
parameters; long or nested ones (LoRA lists, custom sizes, long prompts) together in ``z``, as zlib-compressed
JSON in base64url. ``share_query`` leaves out values equal to the endpoint's defaults (opening a link fills every
field it does not name with its default, so nothing is lost). Keys are never part of a form's values, so never
part of a link.
"""

from __future__ import annotations

import base64
import html
import json
import urllib.parse
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from components.form_kinds.base import MAX_JSON_DEPTH, depth_of
from components.form_values import check_outside
from components.history_state import changed_parameters
from endpoints import get_endpoint

PLAIN_LIMIT = 120  # longer values go into ``z``
MAX_LINK_INPUT = 64 * 1024  # a query string longer than this is not read


class ShareLinkError(ValueError):
    pass


def _plain(value: Any) -> str | None:
    """The text of a value that can travel as a plain parameter and come back as the same value."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    return text if len(text) <= PLAIN_LIMIT else None


def encode(api_name: str, wire_input: Mapping[str, Any]) -> str:
    """The query string (without ``?``) for an endpoint and its input."""
    plain: dict[str, str] = {"endpoint": api_name}
    packed: dict[str, Any] = {}
    for name, value in wire_input.items():
        text = _plain(value)
        if text is None:
            packed[name] = value
        else:
            plain[name] = text
    if packed:
        data = zlib.compress(json.dumps(packed, separators=(",", ":"), ensure_ascii=False).encode(), 9)
        plain["z"] = base64.urlsafe_b64encode(data).decode().rstrip("=")
    return urllib.parse.urlencode(plain, quote_via=urllib.parse.quote)


def share_query(api_name: str, wire_input: Mapping[str, Any]) -> str:
    """``encode`` of only the values that differ from the endpoint's defaults (required fields always go)."""
    return encode(api_name, changed_parameters(get_endpoint(api_name), dict(wire_input)))


def _typed(annotation: Any, value: Any) -> Any:
    """The value as the field's type reads it (pydantic's lax mode: "77" is 77 for an int field, "2" stays "2" for
    a text enum), or the value as it came when the type refuses it: the form names the field when it is run."""
    if depth_of(value) > MAX_JSON_DEPTH:
        return value  # refused by name by ``check_outside``, before anything recurses into it
    adapter = TypeAdapter(annotation)
    try:
        return adapter.dump_python(adapter.validate_python(value), mode="json")
    except (ValidationError, ValueError, TypeError):
        return value


def decode(query: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(API name, input values) from a link's query parameters. Raises ShareLinkError for a broken link."""
    api_name = query.get("endpoint") or ""
    try:
        spec = get_endpoint(api_name)
    except KeyError:
        raise ShareLinkError(f"The link names no endpoint of this app ({api_name[:60]!r}).") from None
    fields = spec.input_model.model_fields
    values: dict[str, Any] = {}
    for name, text in query.items():
        if name not in fields or len(text) > MAX_LINK_INPUT:
            continue
        values[name] = _typed(fields[name].annotation, text)
    if "z" in query:
        raw = query["z"]
        if len(raw) > MAX_LINK_INPUT:
            raise ShareLinkError("The link's packed values are too long.")
        try:
            data = zlib.decompressobj().decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)), 1 << 20)
            packed = json.loads(data)
        except (ValueError, zlib.error) as exc:
            raise ShareLinkError(f"The link's packed values cannot be read ({type(exc).__name__}).") from None
        except RecursionError:
            raise ShareLinkError(f"The link's packed values nest more than {MAX_JSON_DEPTH} levels deep.") from None
        if not isinstance(packed, dict):
            raise ShareLinkError("The link's packed values are not a set of fields.")
        values.update({k: _typed(fields[k].annotation, v) for k, v in packed.items() if k in fields})
    return spec.api_name, values


@dataclass
class OpenedLink:
    """What opening a link puts into a form: the values its endpoint's model accepts, and the refused ones."""

    api_name: str
    values: dict[str, Any]
    refused: list[str]  # "field: rule", one per refused value

    def warning(self) -> str | None:
        """The toast naming the refused values (escaped: a toast renders HTML), or None."""
        if not self.refused:
            return None
        return html.escape("Left out of the link (the rest is filled in): " + "; ".join(self.refused), quote=False)


def open_link(query: Mapping[str, str]) -> OpenedLink:
    """``decode`` and then ``check_outside``: a bad value (``seed=abc``, an image that is not a URL) is refused by
    name and the rest of the link is kept. Raises ShareLinkError for a link that cannot be read at all."""
    api_name, values = decode(query)
    checked = check_outside(get_endpoint(api_name), values)
    return OpenedLink(api_name, checked.values, checked.messages)
