"""A small typed error tree; each message says what a person can do. Built from responses in one place.

Messages never contain a key: ``from_response`` reads only the response body and status, and request headers
are never formatted into text.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from endpoints.validation import field_path
from providers.catalog import provider_spec, provider_title


class ProviderError(Exception):
    """Base of every provider failure. ``message`` is for people; ``status`` and ``detail`` for code."""

    def __init__(self, message: str, *, status: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail


class AuthenticationError(ProviderError):
    """Missing, malformed or rejected key."""


class InsufficientCreditsError(ProviderError):
    """The account has no credits left."""


class ValidationFailed(ProviderError):
    """The provider rejected the input; ``fields`` holds ``(path, message)`` pairs."""

    def __init__(self, message: str, *, fields: list[tuple[str, str]], status: int | None = 422, detail: Any = None):
        super().__init__(message, status=status, detail=detail)
        self.fields = fields


class RateLimited(ProviderError):
    """429 after the retries gave up."""


class EndpointUnavailable(ProviderError):
    """The endpoint is retired, unknown, or the URL is wrong."""


class ProviderFailure(ProviderError):
    """The provider failed to run the job (server error, runner crash, job ended with an error)."""


class ProviderTimeout(ProviderError):
    """The overall deadline passed; the remote job was cancelled."""


class ResultUnavailable(ProviderError):
    """The provider reported the job completed, so it is billed, but its result could not be fetched."""


class Cancelled(ProviderError):
    """The job was cancelled (by the visitor, or by the provider)."""


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return response.text[:500]


def _detail_text(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    if isinstance(body, str):
        return body.strip()
    return ""


def validation_fields(detail: Any) -> list[tuple[str, str]]:
    """fal/FastAPI ``detail`` list -> ``[("loras[0].path", "Field required"), ...]`` (``body`` prefix dropped)."""
    if not isinstance(detail, list):
        return [("input", str(detail))] if detail else []
    fields: list[tuple[str, str]] = []
    for item in detail:
        if not isinstance(item, dict):
            continue
        loc = [p for p in item.get("loc", []) if p != "body"]
        fields.append((field_path(tuple(loc)), str(item.get("msg", "is invalid"))))
    return fields


def missing_key(provider: str) -> AuthenticationError:
    """No key for a live provider: says which secret to set."""
    spec = provider_spec(provider)
    return AuthenticationError(
        f"No {spec.title} key: set the {spec.key_env} secret, or paste your own key under Settings."
    )


def from_transport_error(exc: httpx.HTTPError, *, provider: str, during: str) -> ProviderError:
    """A transport failure (no HTTP response) as a tree error; ``during`` says what was going on ("the status")."""
    title = provider_title(provider)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(f"{title} did not answer in time while fetching {during} ({type(exc).__name__}).")
    return ProviderFailure(
        f"Could not reach {title} while fetching {during} ({type(exc).__name__}). Check the connection and try again."
    )


def submit_failed(exc: httpx.HTTPError, *, provider: str) -> ProviderError:
    """A submit that got no answer. One that never left (no connection) queued nothing; after it left, the provider
    may have queued and billed it, and without its answer there is no request id to follow or cancel: the visitor is
    told to look before trying again, not that the provider could not be reached."""
    title, name = provider_title(provider), type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):  # no connection: not sent
        return ProviderFailure(f"Could not reach {title} ({name}): nothing was sent. Check the connection and try again.")
    check = f"{title} may still have taken the request (and billed it): check your {title} dashboard before trying again."
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimeout(f"{title} did not answer the submit in time ({name}). {check}")
    return ProviderFailure(f"The connection to {title} broke before it answered the submit ({name}). {check}")


def from_response(response: httpx.Response, *, provider: str, endpoint_id: str) -> ProviderError:
    """Map an error response to the tree. ``provider`` is the catalog name (``fal``, ``segmind``)."""
    spec = provider_spec(provider)
    title = spec.title
    status = response.status_code
    body = _body(response)
    text = _detail_text(body)
    suffix = f": {text}" if text else ""
    if status in (401, 403):
        return AuthenticationError(
            f"{title} rejected the API key ({status}){suffix}. Check the key in Settings or the {spec.key_env} secret.",
            status=status,
            detail=body,
        )
    if status in (402, 406) or "credit" in text.lower() or "balance" in text.lower():
        return InsufficientCreditsError(
            f"{title} says the account has not enough credits ({status}){suffix}. Top up, or use another key.",
            status=status,
            detail=body,
        )
    if status == 422 or (status == 400 and isinstance(body, dict) and isinstance(body.get("detail"), list)):
        detail = body.get("detail") if isinstance(body, dict) else body
        fields = validation_fields(detail)
        listed = "; ".join(f"{path}: {msg}" for path, msg in fields) or text or "invalid input"
        return ValidationFailed(f"{title} rejected the input — {listed}", fields=fields, status=status, detail=body)
    if status in (400, 413, 415):
        return ValidationFailed(
            f"{title} rejected the request ({status}){suffix or ': bad request'}. Check the inputs, especially URLs.",
            fields=[],
            status=status,
            detail=body,
        )
    if status == 429:
        return RateLimited(
            f"{title} is rate limiting this account (429){suffix}. Wait a moment and try again.",
            status=status,
            detail=body,
        )
    if status in (404, 405, 410):
        return EndpointUnavailable(
            f"{title} has no endpoint {endpoint_id!r} here ({status}){suffix}. It may be retired; "
            "check the provider's model page.",
            status=status,
            detail=body,
        )
    if status == 504:
        return ProviderTimeout(f"{title} timed out ({status}){suffix}. Try again.", status=status, detail=body)
    if status >= 500:
        return ProviderFailure(f"{title} failed ({status}){suffix}. Try again later.", status=status, detail=body)
    return ProviderFailure(f"{title} refused the request ({status}){suffix}.", status=status, detail=body)
