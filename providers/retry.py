"""HTTP retries with exponential backoff and jitter (stamina), honouring ``Retry-After``.

Two policies exist on purpose:

- ``send_idempotent``: status, result, upload, cancel. Retries 429/502/503/504 and transport errors; the result
  of a job the provider reported completed also every other 5xx (``RESULT_RETRYABLE_STATUS``): that job is
  billed, so its result is worth waiting for.
- ``send_once``: the submit POST. Retries only when the request provably never reached the server (the
  connection could not be opened), so a job is never submitted — or billed — twice.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import stamina

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
RESULT_RETRYABLE_STATUS = RETRYABLE_STATUS | frozenset(range(500, 600))
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    wait_initial: float = 0.25
    wait_max: float = 8.0
    wait_jitter: float = 0.5
    timeout: float = 60.0  # all attempts together
    max_retry_after: float = 30.0


class RetryableStatus(Exception):
    """Raised inside the retry loop for a response worth another try; carries the response."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta or HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _is_retryable(response: httpx.Response, statuses: frozenset[int] = RETRYABLE_STATUS) -> bool:
    if response.status_code not in statuses:
        return False
    return response.headers.get("x-fal-retryable", "").lower() != "false"


def _backoff_hook(policy: RetryPolicy) -> Callable[[Exception], bool | float]:
    def hook(exc: Exception) -> bool | float:
        if isinstance(exc, RetryableStatus):
            after = retry_after_seconds(exc.response)
            return min(after, policy.max_retry_after) if after is not None else True
        return isinstance(exc, httpx.TransportError)

    return hook


def _attempts(policy: RetryPolicy, on: Any) -> Any:
    return stamina.retry_context(
        on=on,
        attempts=policy.attempts,
        timeout=policy.timeout,
        wait_initial=policy.wait_initial,
        wait_max=policy.wait_max,
        wait_jitter=policy.wait_jitter,
    )


async def send_idempotent(
    send: Callable[[], Awaitable[httpx.Response]],
    policy: RetryPolicy,
    *,
    statuses: frozenset[int] = RETRYABLE_STATUS,
) -> httpx.Response:
    """Call ``send`` until it returns a response that is not retryable (a status outside ``statuses``, or one
    the provider marks ``X-Fal-Retryable: false``); returns the last response.

    When every attempt was retryable, the last such response is returned (callers map it to an error).
    Transport errors after the last attempt propagate.
    """
    last: httpx.Response | None = None
    try:
        async for attempt in _attempts(policy, _backoff_hook(policy)):
            with attempt:
                response = await send()
                if _is_retryable(response, statuses):
                    last = response
                    raise RetryableStatus(response)
                return response
    except RetryableStatus:
        pass
    assert last is not None
    return last


async def send_once(send: Callable[[], Awaitable[httpx.Response]], policy: RetryPolicy) -> httpx.Response:
    """Retry only failures to connect; anything after the request may have left is final."""
    async for attempt in _attempts(policy, NEVER_SENT):
        with attempt:
            return await send()
    raise AssertionError("unreachable")  # pragma: no cover
