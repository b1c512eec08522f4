"""Who made an MCP call that Gradio's bridge passes on over loopback HTTP.

Gradio 6.31's MCP bridge runs a queued event (a catalog model's tool, a sweep tool) by calling the app back through
its own HTTP client: the event's request comes from 127.0.0.1, with the MCP request's headers copied. Without a
trusted proxy (``PLAYGROUND_TRUSTED_PROXIES=0``, the default off Spaces) every such caller was the visitor
``ip:127.0.0.1``, sharing one run limit and one budget. ``gradio_fixes.mcp_calls_keep_their_caller`` adds the MCP
caller's own address to the copied headers, with a secret made for this process; ``caller_of`` reads it back only
from a loopback request carrying that secret, so a visitor cannot name an address of their choosing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

HEADER = "x-playground-mcp-caller"
_SECRET = secrets.token_hex(16)
LOOPBACK = frozenset({"127.0.0.1", "::1"})


def header_value(host: str) -> str:
    """What the bridge's loopback request carries for the MCP caller at ``host``."""
    return f"{_SECRET} {host}"


def caller_of(request: Any) -> str | None:
    """The MCP caller's address relayed by the bridge, or None (not such a call, or a header anyone could write)."""
    headers = getattr(request, "headers", None)
    value = headers.get(HEADER) if headers is not None and hasattr(headers, "get") else None
    peer = getattr(getattr(request, "client", None), "host", None)
    if not value or peer not in LOOPBACK:
        return None
    secret, _, host = str(value).partition(" ")
    if not host or not hmac.compare_digest(secret, _SECRET):
        return None
    return host
