"""Black Forest Labs' own API: submit, then poll the ``polling_url`` BFL gives until the image is ready.

    POST {api}/v1/<model>          x-key: <key>, JSON body        -> {"id", "polling_url"}
    GET  <polling_url>             (as given: a regional host)    -> {"id", "status", "result", "progress", "details"}
    GET  {api}/v1/credits          x-key                          -> {"credits": <float>}   (1 credit = $0.01)

``status`` is ``Pending`` (``progress`` 0–1), ``Ready`` (``result.sample``: a signed URL that expires after 10
minutes, ``result.seed``), ``Error``, ``Request Moderated`` / ``Content Moderated`` (``details`` gives the reasons)
or ``Task not found``. The polling URL is used as given, never built; the key goes with it only when its host is
the API's own or a ``bfl.ai`` host (``key_hosts``): a polling URL anywhere else never receives it.

HTTP errors: 402 out of credits, 403 a bad key, 422 invalid input, 429 too many active tasks (24 at once; Kontext
[max] 6). A 429 on submit means nothing was accepted, so the submit waits and tries again (bounded); nothing else is
retried once the request may have left. BFL has no cancel: Stop stops following the job, which may still finish
and be billed. The result URL expires, so the catalog marks BFL's result URLs ``expiring`` and the run engine saves
the image at once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import mimetypes
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import stamina

from endpoints.base import EndpointSpec, WireModel
from endpoints.bfl import is_plain_base64
from providers.base import (
    REDACTED,
    Completed,
    Credentials,
    FilePart,
    JobEvent,
    LogLine,
    PreparedRequest,
    Queued,
    Result,
    ResultImage,
    Running,
)
from providers.catalog import BuildContext
from providers.data_uris import image_content_type
from providers.errors import (
    InsufficientCreditsError,
    ProviderFailure,
    ProviderTimeout,
    RateLimited,
    from_response,
    from_transport_error,
    missing_key,
    submit_failed,
)
from providers.local_files import describe_file, image_fields, resolve_local_images, upload_file
from providers.media import CONTENT_TYPES
from providers.retry import retry_after_seconds, send_idempotent, send_once
from providers.single_url import SingleUrlProvider

log = logging.getLogger(__name__)

#: Hosts that may receive the key besides the configured API's own: BFL's global and regional API hosts.
KEY_HOST_SUFFIX = ".bfl.ai"
MODERATED = ("Request Moderated", "Content Moderated")
POLL_INITIAL, POLL_MAX = 0.25, 2.0  # seconds between polls: short at first, backing off while Pending
SUBMIT_BUSY_WAIT = 60.0  # how long a submit waits out "too many active tasks" (429) before giving up


def _with_inline_files(prepared: PreparedRequest) -> dict[str, Any]:
    """The body as sent: each local file in its field as plain base64, and the caller's own base64 as it was."""
    inline = {field: base64.b64encode(Path(path).read_bytes()).decode("ascii")
              for field, path in prepared.file_paths.items()}
    return {**prepared.body, **inline, **prepared.inline_values}


def _describe_inline(field: str, value: str) -> FilePart:
    """What a record keeps of an image given inline as base64: its type (read from its bytes, as for a data: URI sent
    to fal: ValidationFailed naming ``field`` when it is no PNG, JPEG or WebP), size and hash, never its bytes."""
    data = base64.b64decode(value)
    kind = image_content_type(data, field)
    return FilePart(field, f"{field}{mimetypes.guess_extension(kind) or ''}", kind, len(data),
                    hashlib.sha256(data).hexdigest())


class _TooManyTasks(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__("HTTP 429")
        self.response = response


def _moderated_text(status: str, details: Any) -> str:
    reasons: list[str] = []
    if isinstance(details, dict):
        for key, value in details.items():
            reasons.extend(str(v) for v in value) if isinstance(value, list) else reasons.append(f"{key}: {value}")
    elif isinstance(details, list):
        reasons = [str(item) for item in details]
    elif details:
        reasons = [str(details)]
    what = "your request" if status == "Request Moderated" else "the generated image"
    because = f" Reasons: {'; '.join(reasons)}." if reasons else ""
    return f"Moderated: Black Forest Labs' moderation refused {what} ({status}).{because} Nothing was returned."


class BflJob:
    def __init__(self, provider: BflProvider, prepared: PreparedRequest, request_id: str, polling_url: str) -> None:
        self._provider = provider
        self._prepared = prepared
        self.request_id: str | None = request_id
        self.polling_url = polling_url

    async def events(self) -> AsyncGenerator[JobEvent, None]:
        provider = self._provider
        started = time.monotonic()
        deadline = started + provider.timeouts.deadline
        wait = POLL_INITIAL
        shown: float | None = None
        running = False
        yield Queued(None)
        while True:
            if time.monotonic() > deadline:
                raise ProviderTimeout(
                    f"Black Forest Labs had not finished after {provider.timeouts.deadline:.0f} s. BFL has no cancel: "
                    "the job may still finish and be billed."
                )
            body = await self._poll()
            status = str(body.get("status") or "")
            if status == "Ready":  # the logs end on it, not on the last progress a poll happened to see
                yield Running((LogLine("Ready: 100%"),))
                yield Completed(self._result(body, time.monotonic() - started))
                return
            if status in MODERATED:
                raise ProviderFailure(_moderated_text(status, body.get("details")), detail=body)
            if status == "Error":
                raise ProviderFailure(f"Black Forest Labs reported an error: {body.get('details') or 'no details'}.",
                                      detail=body)
            if status == "Task not found":
                raise ProviderFailure("Black Forest Labs no longer knows this task (Task not found). Run it again.",
                                      detail=body)
            progress = body.get("progress")
            if isinstance(progress, int | float) and not isinstance(progress, bool) and progress != shown:
                shown = float(progress)
                running = True
                yield Running((LogLine(f"Progress {round(shown * 100)}%"),))
            elif not running:
                yield Queued(None)
            await asyncio.sleep(wait)
            wait = min(POLL_MAX, wait * 1.5)

    async def _poll(self) -> dict[str, Any]:
        provider = self._provider
        headers = {"accept": "application/json"}
        if provider.may_receive_key(self.polling_url):
            headers.update(self._prepared.secret_headers)
        try:
            response = await send_idempotent(
                lambda: provider.client.get(self.polling_url, headers=headers, timeout=provider.http_timeout()),
                provider.retry,
            )
        except httpx.HTTPError as exc:
            raise from_transport_error(exc, provider=provider.name, during="the task status") from None
        if response.status_code == 404:
            return {"status": "Task not found"}
        if response.status_code != 200:
            raise from_response(response, provider=provider.name, endpoint_id=self._prepared.endpoint_id)
        try:
            body = response.json()
        except ValueError:
            raise ProviderFailure("Black Forest Labs answered the status poll with something that is not JSON.") from None
        return body if isinstance(body, dict) else {}

    def _result(self, body: dict[str, Any], elapsed: float) -> Result:
        found = body.get("result")
        result: dict[str, Any] = found if isinstance(found, dict) else {}
        sample = result.get("sample")
        if not isinstance(sample, str) or not sample:
            raise ProviderFailure("Black Forest Labs said Ready but gave no image.", detail=body)
        prepared = self._prepared
        seed = result.get("seed", prepared.body.get("seed"))
        prompt = result.get("prompt", prepared.body.get("prompt"))
        suffix = "." + urlsplit(sample).path.rsplit(".", 1)[-1].lower() if "." in urlsplit(sample).path else ""
        fmt = prepared.body.get("output_format")
        content_type = CONTENT_TYPES.get(suffix) or ("image/png" if fmt == "png" else "image/jpeg")
        width, height = result.get("width"), result.get("height")
        return Result(
            endpoint_id=prepared.endpoint_id,
            request_id=self.request_id,
            images=[ResultImage(url=sample, width=width if isinstance(width, int) else prepared.body.get("width"),
                                height=height if isinstance(height, int) else prepared.body.get("height"),
                                content_type=content_type)],
            seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            has_nsfw_concepts=None,  # BFL moderates instead of flagging
            prompt=prompt if isinstance(prompt, str) else None,
            timings={"total": round(elapsed, 3)},
        )

    async def cancel(self) -> None:
        """BFL has no cancel endpoint: the job is left to finish (and may be billed)."""
        log.info("Black Forest Labs has no cancel endpoint; task %s is no longer followed", self.request_id)


class BflProvider(SingleUrlProvider):
    name = "bfl"
    pricing_url: str | None = None  # BFL publishes prices on a page, not an API; credits come from /v1/credits

    def http_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.timeouts.read, connect=self.timeouts.connect)

    def may_receive_key(self, url: str) -> bool:
        """The key goes only to the configured API's host or a ``*.bfl.ai`` host, over https (or the sandbox)."""
        own = urlsplit(self.api_url)
        there = urlsplit(url)
        if (there.scheme, there.netloc) == (own.scheme, own.netloc):
            return True
        host = (there.hostname or "").lower()
        return there.scheme == "https" and (host == "bfl.ai" or host.endswith(KEY_HOST_SUFFIX))

    async def prepare(
        self, endpoint: EndpointSpec, payload: WireModel, credentials: Credentials | None
    ) -> PreparedRequest:
        """The JSON body. An uploaded input image goes inline as base64 (BFL takes that in image fields): it is
        read at send time, and the record describes the file (``files``) instead of holding megabytes of it."""
        creds = credentials if credentials else self.credentials
        if not creds:
            raise missing_key(self.name)
        body = payload.to_wire()
        # An image already given as plain base64 (BFL's own inline form) goes as it is; an upload's path (which may
        # read as base64 too: /tmp/gradio/<hash>/photo) is read and sent.
        roots = self.local_file_roots
        inline = {k: v for k, v in body.items()
                  if k in image_fields(endpoint) and is_plain_base64(v) and upload_file(v, roots) is None}
        local = resolve_local_images(endpoint, {k: v for k, v in body.items() if k not in inline}, roots)
        parts = [await asyncio.to_thread(describe_file, field, path) for field, path in local.items()]
        parts += [await asyncio.to_thread(_describe_inline, field, value) for field, value in inline.items()]
        return PreparedRequest(
            provider=self.name,
            endpoint_id=endpoint.id,
            method="POST",
            url=f"{self.api_url}/v1/{endpoint.id}",
            headers={"x-key": REDACTED, "Content-Type": "application/json", "accept": "application/json"},
            body_kind="json",
            body={k: v for k, v in body.items() if k not in local and k not in inline},
            files=tuple(parts),
            file_paths={field: str(path) for field, path in local.items()},
            inline_values=inline,
            secret_headers={"x-key": creds.key},
        )

    async def send(self, prepared: PreparedRequest) -> BflJob:
        response = await self._submit(prepared)
        if response.status_code != 200:
            raise from_response(response, provider=self.name, endpoint_id=prepared.endpoint_id)
        try:
            body = response.json()
            request_id, polling_url = str(body["id"]), str(body["polling_url"])
        except (ValueError, KeyError, TypeError):
            raise ProviderFailure("Black Forest Labs accepted the task but gave no id or polling_url.") from None
        if not polling_url.startswith(("https://", "http://")):
            raise ProviderFailure("Black Forest Labs gave a polling_url that is not a web address.")
        return BflJob(self, prepared, request_id, polling_url)

    async def _submit(self, prepared: PreparedRequest) -> httpx.Response:
        """POST once; on 429 (too many active tasks: nothing was accepted) wait and try again, for a bounded time."""

        body = await asyncio.to_thread(_with_inline_files, prepared)

        async def post() -> httpx.Response:
            return await self.client.post(
                prepared.url, json=body, headers=prepared.send_headers(), timeout=self.http_timeout()
            )

        def wait_for(exc: BaseException) -> bool | float:
            if isinstance(exc, _TooManyTasks):
                after = retry_after_seconds(exc.response)
                return min(after, self.retry.max_retry_after) if after is not None else True
            return False

        last: httpx.Response | None = None
        try:
            async for attempt in stamina.retry_context(
                on=wait_for, attempts=None, timeout=SUBMIT_BUSY_WAIT, wait_initial=1.0, wait_max=8.0,
                wait_jitter=0.5,
            ):
                with attempt:
                    try:
                        response = await send_once(post, self.retry)
                    except httpx.HTTPError as exc:
                        raise submit_failed(exc, provider=self.name) from None
                    if response.status_code == 429:
                        last = response
                        raise _TooManyTasks(response)
                    return response
        except _TooManyTasks:
            pass
        assert last is not None
        raise RateLimited(
            f"Black Forest Labs is running as many tasks as this key may have at once (429) and stayed busy for "
            f"{SUBMIT_BUSY_WAIT:.0f} s. Wait for your other runs, or lower the sweep's concurrency.",
            status=429,
        )

    async def credits(self, credentials: Credentials | None = None) -> float:
        """The key's credit balance (1 credit = $0.01)."""
        creds = credentials if credentials else self.credentials
        if not creds:
            raise missing_key(self.name)
        try:
            response = await send_idempotent(
                lambda: self.client.get(f"{self.api_url}/v1/credits", headers={"x-key": creds.key},
                                        timeout=self.http_timeout()),
                self.retry,
            )
        except httpx.HTTPError as exc:
            raise from_transport_error(exc, provider=self.name, during="the credits") from None
        if response.status_code != 200:
            raise from_response(response, provider=self.name, endpoint_id="credits")
        value = response.json().get("credits") if isinstance(response.json(), dict) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InsufficientCreditsError("Black Forest Labs answered the credits call without a balance.")
        return float(value)


def build(ctx: BuildContext) -> BflProvider:
    """The catalog's builder (``ProviderSpec.builder``)."""
    return BflProvider.from_context(ctx, "BFL_API_URL")
