"""fal queue provider: submit, status over Server-Sent Events (polling as fallback), result, cancel.

Wire facts: ``../shared/docs/protocols.md``. Status, result and cancel use the URLs the submit response returns
(they live under ``owner/alias`` even for endpoints with a sub-path).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import mimetypes
import time
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

from endpoints.base import EndpointSpec, WireModel
from providers.base import (
    REDACTED,
    Completed,
    Credentials,
    JobEvent,
    LogLine,
    PreparedRequest,
    Queued,
    Result,
    ResultImage,
    Running,
)
from providers.catalog import BuildContext
from providers.config import Timeouts
from providers.data_uris import decode_data_uri, field_name, image_content_type, is_image_field, large_data_uris, set_at
from providers.errors import (
    Cancelled,
    ProviderFailure,
    ProviderTimeout,
    ResultUnavailable,
    from_response,
    from_transport_error,
    missing_key,
    submit_failed,
)
from providers.fal_storage import FalStorage
from providers.local_files import resolve_local_images
from providers.retry import RESULT_RETRYABLE_STATUS, RetryPolicy, send_idempotent, send_once

log = logging.getLogger(__name__)

#: Answers to a completed job's result fetch that say the job itself failed (not billed): a validation refusal,
#: a cancellation. Any other failure to fetch the result leaves a job fal completed, and billed.
JOB_FAILED_STATUS = frozenset({422, 499})


def _decode_and_hash(uri: str, field: str) -> tuple[bytes, str, str]:
    """A data: URI's bytes, their content type as read from them (only images are uploaded), and their digest."""
    data, _ = decode_data_uri(uri, field)
    return data, image_content_type(data, field), hashlib.sha256(data).hexdigest()


def parse_status(data: Mapping[str, Any], since: int = 0) -> tuple[str, int | None, list[LogLine]]:
    """One fal status body -> (status, queue position, log lines from index ``since`` on). Tolerates ``logs: null``.

    fal resends every log line so far on each status; only the new ones are turned into ``LogLine``s, so the work
    per status stays constant as a job ages.
    """
    status = str(data.get("status", ""))
    position = data.get("queue_position")
    raw = data.get("logs") or []
    logs = [
        LogLine(str(item.get("message", "")), str(item.get("level", "INFO")), item.get("timestamp"))
        for item in (raw[since:] if isinstance(raw, list) else [])
        if isinstance(item, Mapping)
    ]
    return status, int(position) if isinstance(position, int) else None, logs


def log_count(data: Mapping[str, Any]) -> int:
    raw = data.get("logs")
    return len(raw) if isinstance(raw, list) else 0


def normalise_output(endpoint_id: str, request_id: str | None, output: Mapping[str, Any], metrics: Mapping[str, Any]) -> Result:
    images = [
        ResultImage(
            url=str(image["url"]),
            width=image.get("width"),
            height=image.get("height"),
            content_type=str(image.get("content_type") or "image/jpeg"),
        )
        for image in output.get("images") or []
        if isinstance(image, Mapping) and image.get("url")
    ]
    nsfw = output.get("has_nsfw_concepts")
    timings = {str(k): float(v) for k, v in (output.get("timings") or {}).items() if isinstance(v, (int, float))}
    if isinstance(metrics.get("inference_time"), (int, float)):
        timings.setdefault("inference_time", float(metrics["inference_time"]))
    return Result(
        endpoint_id=endpoint_id,
        request_id=request_id,
        images=images,
        seed=output.get("seed") if isinstance(output.get("seed"), int) else None,
        has_nsfw_concepts=[bool(x) for x in nsfw] if isinstance(nsfw, list) else None,
        prompt=output.get("prompt") if isinstance(output.get("prompt"), str) else None,
        timings=timings,
    )


class FalJob:
    """One queued request. ``events()`` may be iterated once."""

    def __init__(self, provider: FalQueueProvider, prepared: PreparedRequest, submitted: Mapping[str, Any]) -> None:
        self._provider = provider
        self._endpoint_id = prepared.endpoint_id
        self._auth = {"Authorization": prepared.secret_headers["Authorization"]}
        self.request_id: str | None = submitted.get("request_id")
        owner_alias = "/".join(prepared.endpoint_id.split("/")[:2])
        base = f"{provider.queue_url}/{owner_alias}/requests/{self.request_id}"
        self.status_url: str = submitted.get("status_url") or f"{base}/status"
        self.response_url: str = submitted.get("response_url") or base
        self.cancel_url: str = submitted.get("cancel_url") or f"{base}/cancel"
        position = submitted.get("queue_position")
        self._initial_position = position if isinstance(position, int) else None
        self._cancel_requested = False
        #: fal reported the job COMPLETED without an error: it is billed, whether or not its result can be fetched.
        self.completed_upstream = False
        self.stream_reconnects = 0
        self.used_polling = False
        self.silence_polls = 0

    def _error(self, response: httpx.Response) -> Exception:
        return from_response(response, provider="fal", endpoint_id=self._endpoint_id)

    async def events(self) -> AsyncGenerator[JobEvent, None]:
        provider = self._provider
        deadline = time.monotonic() + provider.timeouts.deadline
        delivered = 0
        last_position: int | None = None
        started = False
        if self._initial_position is not None:
            last_position = self._initial_position
            yield Queued(self._initial_position)
        statuses = self._statuses()
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that arrives as
                    # the status does, and a Stop would then wait for the next status to be noticed.
                    async with asyncio.timeout(remaining):
                        data = await anext(statuses)
                except StopAsyncIteration:
                    raise ProviderFailure("fal closed the status stream without a final status; try again.") from None
                status, position, new = parse_status(data, since=delivered)
                if status == "IN_QUEUE":
                    if position is not None and position != last_position:
                        last_position = position
                        yield Queued(position)
                    continue
                delivered = max(delivered, log_count(data))
                if status == "IN_PROGRESS":
                    if new or not started:
                        started = True
                        yield Running(tuple(new))
                    continue
                if status == "COMPLETED":
                    if new:
                        yield Running(tuple(new))
                    result = await self._finish(data)
                    yield Completed(result)
                    return
                log.warning("fal returned an unknown status %r for %s", status, self.request_id)
        except TimeoutError:
            await self.cancel()
            raise ProviderTimeout(
                f"No result from fal within {provider.timeouts.deadline:.0f} s; the request was cancelled. "
                "Try again, or with fewer images or steps."
            ) from None
        finally:
            await statuses.aclose()

    async def _get(self, url: str, during: str, **kwargs: Any) -> httpx.Response:
        provider = self._provider
        try:
            return await send_idempotent(lambda: provider.client.get(url, headers=self._auth, **kwargs), provider.retry)
        except httpx.HTTPError as exc:
            raise from_transport_error(exc, provider="fal", during=during) from None

    async def _finish(self, status: Mapping[str, Any]) -> Result:
        if self._cancel_requested or status.get("error_type") == "client_cancelled":
            raise Cancelled("The request was cancelled.")
        error = status.get("error")
        if error:
            # A failed job (fal bills only successful outputs): its result carries the real error (e.g. 422 detail).
            response = await self._get(self.response_url, "the result")
            if response.status_code != 200:
                raise self._error(response)
            raise ProviderFailure(f"fal reported an error for this request: {error}", detail=status)
        self.completed_upstream = True
        output, request_id = await self._completed_output()
        return normalise_output(self._endpoint_id, request_id, output, status.get("metrics") or {})

    async def _completed_output(self) -> tuple[Mapping[str, Any], str | None]:
        """The output of a job fal completed (and bills), and its request id. Every 5xx and transport error is
        retried, with backoff, within the retry policy's attempts and time; what still fails raises
        ``ResultUnavailable`` (a 422 or 499 says the job failed after all: not billed, the usual error)."""
        tries = 0
        started = time.monotonic()

        def waited() -> str:
            return f"{tries} tr{'y' if tries == 1 else 'ies'} over {time.monotonic() - started:.1f} s"

        def counted() -> Any:
            nonlocal tries
            tries += 1
            return self._provider.client.get(self.response_url, headers=self._auth)

        try:
            response = await send_idempotent(counted, self._provider.retry, statuses=RESULT_RETRYABLE_STATUS)
        except httpx.HTTPError as exc:
            cause = from_transport_error(exc, provider="fal", during="the result").message
            raise ResultUnavailable(f"{cause} ({waited()})") from None
        if response.status_code in JOB_FAILED_STATUS:  # the job failed after all: not billed
            self.completed_upstream = False
            raise self._error(response)
        if response.status_code != 200:
            cause = from_response(response, provider="fal", endpoint_id=self._endpoint_id).message
            raise ResultUnavailable(
                f"fal answered HTTP {response.status_code} to the result fetch ({waited()}): {cause}",
                status=response.status_code,
            )
        try:
            output = response.json()
        except json.JSONDecodeError:
            raise ResultUnavailable("fal returned a result that is not JSON.") from None
        if not isinstance(output, Mapping):
            raise ResultUnavailable("fal returned a result that is not a JSON object.")
        return output, response.headers.get("x-fal-request-id") or self.request_id

    async def _poll_once(self) -> Mapping[str, Any]:
        response = await self._get(self.status_url, "the status", params={"logs": "1"})
        if response.status_code not in (200, 202):
            raise self._error(response)
        try:
            data = response.json()
        except json.JSONDecodeError:
            raise ProviderFailure("fal returned a status that is not JSON; try again.") from None
        if not isinstance(data, Mapping):
            raise ProviderFailure("fal returned a status that is not an object; try again.")
        return data

    async def _statuses(self) -> AsyncGenerator[Mapping[str, Any], None]:
        """Status bodies until COMPLETED: from the SSE stream while it works, else by polling.

        A stream that stays silent for ``silence_poll_seconds`` is checked with one status poll, so a job that
        finished while the stream hangs is noticed within seconds rather than after the read timeout.
        """
        provider = self._provider
        drops = 0
        while provider.prefer_stream and drops <= provider.max_stream_reconnects:
            stream = self._stream_once()
            try:
                pending: asyncio.Task[Mapping[str, Any]] | None = None
                while True:
                    if pending is None:
                        pending = asyncio.ensure_future(anext(stream))
                    done, _ = await asyncio.wait({pending}, timeout=provider.silence_poll_seconds)
                    if not done:
                        self.silence_polls += 1
                        polled = await self._poll_once()
                        if polled.get("status") == "COMPLETED":
                            pending.cancel()
                            yield polled
                            return
                        continue
                    finished, pending = pending, None
                    try:
                        data = finished.result()
                    except StopAsyncIteration:
                        break
                    yield data
                    if data.get("status") == "COMPLETED":
                        return
                drops += 1  # the stream ended before COMPLETED
            except _StreamUnavailable:
                break
            except (httpx.TransportError, SSEError) as exc:
                drops += 1
                log.info("fal status stream for %s dropped (%s); reconnecting", self.request_id, type(exc).__name__)
            finally:
                if pending is not None and not pending.done():
                    pending.cancel()
                    with contextlib.suppress(BaseException):
                        await pending
                await stream.aclose()
            self.stream_reconnects += 1
            await asyncio.sleep(min(0.1 * 2**drops, 2.0))
        self.used_polling = True
        while True:
            data = await self._poll_once()
            yield data
            if data.get("status") == "COMPLETED":
                return
            await asyncio.sleep(provider.poll_interval)

    async def _stream_once(self) -> AsyncGenerator[Mapping[str, Any], None]:
        provider = self._provider
        url = f"{self.status_url}/stream"
        for attempt in range(provider.retry.attempts):
            async with aconnect_sse(
                provider.stream_client, "GET", url, params={"logs": "1"}, headers=self._auth,
                timeout=provider.stream_timeout
            ) as source:
                response = source.response
                if response.status_code in (404, 405, 501) or (
                    response.status_code == 200 and "text/event-stream" not in response.headers.get("content-type", "")
                ):
                    raise _StreamUnavailable
                if response.status_code in (429, 502, 503, 504) and attempt < provider.retry.attempts - 1:
                    await asyncio.sleep(min(provider.retry.wait_initial * 2**attempt, provider.retry.wait_max))
                    continue
                if response.status_code in (429, 502, 503, 504):
                    raise _StreamUnavailable  # the stream keeps failing: polling may still work
                if response.status_code != 200:
                    await response.aread()
                    raise self._error(response)
                async for event in source.aiter_sse():
                    if not event.data:
                        continue
                    try:
                        data = json.loads(event.data)
                    except json.JSONDecodeError:
                        log.warning("fal sent a status event that is not JSON; ignored")
                        continue
                    if isinstance(data, Mapping):
                        yield data
                return
        raise _StreamUnavailable

    async def cancel(self) -> None:
        """Ask fal to cancel. Outcomes OK / CANCELLATION_REQUESTED / ALREADY_COMPLETED / NOT_FOUND all end quietly."""
        if self._cancel_requested:
            return
        self._cancel_requested = True
        provider = self._provider
        try:
            response = await send_idempotent(
                lambda: provider.client.put(self.cancel_url, headers=self._auth), provider.retry
            )
        except httpx.HTTPError as exc:
            log.warning("cancel of fal request %s failed: %s", self.request_id, type(exc).__name__)
            return
        log.info("cancel of fal request %s: HTTP %s", self.request_id, response.status_code)


class _StreamUnavailable(Exception):
    """The status stream route is not offered: poll instead."""


class FalQueueProvider:
    """fal's queue API over one shared ``httpx.AsyncClient``."""

    name = "fal"
    pricing_url: str | None

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        queue_url: str,
        rest_url: str,
        api_url: str = "https://api.fal.ai",
        credentials: Credentials | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        local_file_roots: tuple[Path, ...] = (),
        is_sandbox: bool = False,
        prefer_stream: bool = True,
        poll_interval: float = 0.5,
        max_stream_reconnects: int = 3,
        silence_poll_seconds: float = 5.0,
        stream_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.client = client
        # Status streams hold a connection for a whole job, in a pool of their own: httpcore walks a whole pool,
        # quadratically, on every request start and end (encode/httpcore#1035), and with 50 open streams in the
        # short calls' pool that walk took a third of the app's CPU (yappi at 50 visitors: 2.9 s of 10.8 s; apart,
        # 2.0 of 8.3 s).
        self.stream_client = stream_client or client
        self.queue_url = queue_url.rstrip("/")
        self.api_url = self.pricing_url = api_url.rstrip("/")
        self.credentials = credentials
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.storage = FalStorage(client, rest_url, retry=self.retry)
        self.local_file_roots = local_file_roots
        self.is_sandbox = is_sandbox
        self.prefer_stream = prefer_stream
        self.poll_interval = poll_interval
        self.max_stream_reconnects = max_stream_reconnects
        self.silence_poll_seconds = silence_poll_seconds
        self.stream_timeout = httpx.Timeout(self.timeouts.connect, read=self.timeouts.stream_read)

    @property
    def request_base(self) -> str:
        return self.queue_url

    def _credentials(self, credentials: Credentials | None) -> Credentials:
        chosen = credentials if credentials else self.credentials
        if not chosen:
            raise missing_key(self.name)
        return chosen

    async def prepare(
        self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None
    ) -> PreparedRequest:
        creds = self._credentials(credentials)
        body = payload.to_wire()
        uploads: dict[str, str] = {}
        for field, path in resolve_local_images(endpoint, body, self.local_file_roots).items():
            url = await self.storage.upload_file(path, creds, field)
            body[field] = uploads[field] = url
        for where, uri in list(large_data_uris(body)):
            field = field_name(where)
            key = next(part for part in reversed(where) if isinstance(part, str))  # fill_image_url, not its index
            if not is_image_field(key):
                continue  # another kind of file (a config, weights): sent as given, never stored on fal for anyone
            data, content_type, digest = await asyncio.to_thread(_decode_and_hash, uri, field)
            name = f"{key}{mimetypes.guess_extension(content_type) or ''}"
            url = await self.storage.upload_bytes(data, content_type, name, creds, digest)
            set_at(body, where, url)
            uploads[field] = url
        return PreparedRequest(
            provider=self.name,
            endpoint_id=endpoint.id,
            method="POST",
            url=f"{self.queue_url}/{endpoint.id}",
            headers={"Authorization": f"Key {REDACTED}", "Content-Type": "application/json"},
            body_kind="json",
            body=body,
            uploads=uploads,
            secret_headers={"Authorization": f"Key {creds.key}"},
        )

    async def send(self, prepared: PreparedRequest) -> FalJob:
        try:
            response = await send_once(
                lambda: self.client.post(prepared.url, json=prepared.body, headers=prepared.send_headers()), self.retry
            )
        except httpx.TransportError as exc:
            raise submit_failed(exc, provider=self.name) from None
        if response.status_code not in (200, 201, 202):
            raise from_response(response, provider=self.name, endpoint_id=prepared.endpoint_id)
        try:
            submitted = response.json()
        except json.JSONDecodeError:
            raise ProviderFailure("fal accepted the request but its answer is not JSON.") from None
        if not isinstance(submitted, Mapping) or not submitted.get("request_id"):
            raise ProviderFailure("fal accepted the request but returned no request id.")
        return FalJob(self, prepared, submitted)

    async def submit(self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None) -> FalJob:
        return await self.send(await self.prepare(endpoint, payload, credentials))

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.stream_client is not self.client:
            await self.stream_client.aclose()


__all__ = ["FalJob", "FalQueueProvider", "normalise_output", "parse_status"]


def build(ctx: BuildContext) -> FalQueueProvider:
    """The catalog's builder (``ProviderSpec.builder``)."""
    return FalQueueProvider(
        ctx.client,
        queue_url=ctx.urls["FAL_QUEUE_URL"],
        rest_url=ctx.urls["FAL_REST_URL"],
        api_url=ctx.urls["FAL_API_URL"],
        credentials=ctx.credentials,
        timeouts=ctx.timeouts,
        retry=ctx.retry,
        local_file_roots=ctx.local_file_roots,
        is_sandbox=ctx.is_sandbox,
        stream_client=ctx.new_client(),
    )
