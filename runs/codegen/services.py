"""The public services the snippets call, and what each wire protocol does with a local file."""

from __future__ import annotations

from collections.abc import Callable

from providers.catalog import provider_spec

FAL_QUEUE_URL = "https://queue.fal.run"

SEGMIND_API_URL = "https://api.segmind.com"

BFL_API_URL = "https://api.bfl.ai"

#: How a protocol sends a local file: a multipart part (Segmind), or inline in the JSON body as base64 (BFL).
FILES_SENT_AS = {"segmind-v1": "multipart", "bfl-v1": "json"}

PUBLIC_URLS: dict[str, Callable[[str], str]] = {
    "fal-queue": lambda endpoint_id: f"{FAL_QUEUE_URL}/{endpoint_id}",
    "segmind-v1": lambda endpoint_id: f"{SEGMIND_API_URL}/v1/{endpoint_id}",
    "bfl-v1": lambda endpoint_id: f"{BFL_API_URL}/v1/{endpoint_id}",
}


def protocol_of(provider: str) -> str:
    """The provider's wire protocol, or "" for a provider this app does not know."""
    try:
        return provider_spec(provider).protocol
    except KeyError:
        return ""
