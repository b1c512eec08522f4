"""The run engine: one endpoint input through one route to a ``RunRecord``, as a stream of typed updates.

No Gradio here. A view (the endpoint tab, a sweep, an MCP tool, a plain asyncio script) iterates ``Run.updates()``
and shows what it wants of each ``RunUpdate``; the last update carries the ``RunRecord``.

Guarantees, whatever the consumer does:

- a remote job that exists is cancelled whenever the run ends without its result — the consumer stopped
  iterating, the task was cancelled, or anything failed after the submit (a Stop while the submit is still in
  flight waits for the submit, then cancels what it created);
- result images go through one media step for every provider: saved once where the visitor could not fetch
  them (sandbox URLs on loopback, providers that answer with bytes), and copied off the critical path where the
  provider's own https URL is shown at once;
- the cost is estimated before anything is sent, reserved against a budget when the server's key pays, and
  settled from what happened: on the output sizes the provider reports, and never at $0 for a job the provider
  completed (``Job.completed_upstream``) whose result could not be fetched or was stopped while being fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from endpoints.base import EndpointSpec, WireModel
from providers.base import Completed, Job, LogLine, PreparedRequest, Queued, Result, ResultImage, Running
from providers.catalog import provider_spec, provider_title
from providers.data_uris import field_name, large_data_uris, set_at
from providers.errors import Cancelled, ProviderError, ResultUnavailable, ValidationFailed
from providers.local_files import REMOTE_PREFIXES, image_fields
from providers.media import MediaStore
from providers.routing import Route
from runs.image_copies import ImageCopies, store_tagged
from runs.input_sizes import counts_input_images, input_images, priced_input_sizes
from runs.job_times import JobTimes, steps_of
from runs.pricing import Size, format_usd
from runs.progress import Step, StepClock, parse_step
from runs.provenance import download_name
from runs.record import UNKNOWN_COST, Cost, FinalState, RunError, RunRecord, Timings
from runs.result_cache import CacheHit, ResultCache

log = logging.getLogger(__name__)

RunState = Literal["preparing", "queued", "running", "saving", "done", "failed", "stopped"]
CANCEL_TIMEOUT = 10.0


@dataclass(frozen=True)
class RunUpdate:
    run_id: str
    state: RunState
    elapsed: float
    position: int | None = None  # queue position (0 = next), while queued
    new_logs: tuple[LogLine, ...] = ()
    step: Step | None = None
    eta: float | None = None  # seconds left, from the step rate
    request_id: str | None = None
    record: RunRecord | None = None  # only on the last update

    @property
    def final(self) -> bool:
        return self.record is not None


@dataclass(frozen=True)
class _ImageFile:
    """One result image on its way to the media store (``url``: a live provider's image, copied later)."""

    name: str
    data: bytes
    content_type: str
    url: str | None = None


class SpendGuard(Protocol):
    """Budget checks for runs paid by the server's key (``runs.budget``); both calls may raise ProviderError."""

    async def reserve(self, visitor: str, estimate: Cost) -> object: ...

    async def settle(self, reservation: object, actual: Cost) -> None: ...


class Estimator(Protocol):
    """A run's cost from its endpoint and wire input; after the run, ``output_sizes`` are the images' (width,
    height) as the provider reported them, which replace any size the estimate had to assume. ``input_sizes``: the
    input images' sizes that could be read (``runs.input_sizes``), for prices that count them."""

    def __call__(
        self, endpoint: EndpointSpec, wire: dict[str, Any], route: Route, output_sizes: Sequence[Size] | None = None,
        input_sizes: Sequence[Size] | None = None,
    ) -> Cost: ...


Settler = Callable[[Cost, FinalState, dict[str, Any], str], Cost]  # estimate, state, extras, provider


def _unknown_cost(
    endpoint: EndpointSpec, wire: dict[str, Any], route: Route, output_sizes: Sequence[Size] | None = None,
    input_sizes: Sequence[Size] | None = None,
) -> Cost:
    return UNKNOWN_COST


def _keep_estimate(estimate: Cost, state: FinalState, extras: dict[str, Any], provider: str) -> Cost:
    return estimate


def public_input(endpoint: EndpointSpec, wire: dict[str, Any], uploads: dict[str, str]) -> dict[str, Any]:
    """The input as a record keeps it: uploaded files as the URLs they went to, never a server path.

    That includes data: URIs the provider uploaded from inside lists (``controlnets[0].control_image_url``)."""
    out = copy.deepcopy(wire)  # the nested dicts are changed in place below; strings are shared, not copied
    for where, _uri in list(large_data_uris(out)):
        if (url := uploads.get(field_name(where))) is not None:
            set_at(out, where, url)
    for field in image_fields(endpoint):
        value = out.get(field)
        if field in uploads:
            out[field] = uploads[field]
        elif isinstance(value, str) and value and not value.startswith(REMOTE_PREFIXES):
            out.pop(field)  # a local upload that was sent as a file part (or never sent)
    return out


def _error_of(exc: BaseException) -> RunError:
    if isinstance(exc, ProviderError):
        fields = tuple(exc.fields) if isinstance(exc, ValidationFailed) else ()
        return RunError(type(exc).__name__, exc.message, fields, exc.status)
    return RunError(type(exc).__name__, f"Something went wrong ({type(exc).__name__}). Please try again.")


def _usd_text(cost: Cost) -> str:
    return format_usd(cost.usd) if cost.usd is not None else "(unknown)"


def cache_scope(route: Route) -> tuple[str, str | None]:
    """(provider as keyed, own key or None): sandbox results are never served for live runs, and a visitor's
    own-key runs only to that key. Sweep plans look cells up with the same scope."""
    where = "sandbox" if route.is_sandbox else "live"
    credentials = route.credentials
    own = credentials.key if route.kind == "session_key" and credentials else None
    return f"{route.provider.name}:{where}", own


class Run:
    """One run. Iterate ``updates()`` once; ``stop()`` may be called from anywhere (e.g. a Stop button's handler)."""

    def __init__(
        self,
        runner: Runner,
        endpoint: EndpointSpec,
        payload: WireModel,
        route: Route,
        *,
        visitor: str,
        media_url: Callable[[str], str] | None,
        sweep: dict[str, Any] | None,
        no_cache: bool = False,
    ) -> None:
        self.id = RunRecord.new_id()
        self.runner = runner
        self.endpoint = endpoint
        self.payload = payload
        self.route = route
        self.visitor = visitor
        self.media_url = media_url
        self.sweep = sweep
        self.no_cache = no_cache  # "Run again anyway": go to the provider and replace the cache entry
        self.cache_key: str | None = None
        self.prepared: PreparedRequest | None = None
        self.job: Job | None = None
        self.record: RunRecord | None = None
        self.finished = asyncio.Event()
        self._send: asyncio.Future[Job] | None = None
        self._sending = False  # the prepared request is on its way (``_send`` then ends with a job to cancel)
        self._completed = False
        self._stop_requested = False
        self._started = time.monotonic()
        self._timings = Timings()
        self._cost = UNKNOWN_COST
        self._input_sizes: list[Size] | None = None  # the input images' sizes read, when the price counts them
        self._reservation: object | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _update(self, state: RunState, **fields: Any) -> RunUpdate:
        request_id = self.job.request_id if self.job is not None else None
        return RunUpdate(self.id, state, self.elapsed(), request_id=request_id, **fields)

    def _record(self, state: FinalState, *, result: dict[str, Any] | None = None, error: RunError | None = None,
                cost: Cost | None = None, cached: CacheHit | None = None) -> RunRecord:
        prepared = self.prepared
        request_id = (result or {}).get("request_id") or (self.job.request_id if self.job is not None else None)
        if cached is not None:
            request_id = cached.request_id
        return RunRecord(
            id=self.id,
            endpoint_id=self.endpoint.id,
            api_name=self.endpoint.api_name,
            provider=self.route.provider.name,
            route=self.route.kind,
            input=public_input(self.endpoint, self.payload.to_wire(), prepared.uploads if prepared else {}),
            state=state,
            request=prepared,
            result=result,
            request_id=request_id,
            timings=replace(self._timings, finished=time.time()),
            cost=cost or self._cost,
            error=error,
            sweep=self.sweep,
            cached=cached is not None,
        )

    async def updates(self) -> AsyncGenerator[RunUpdate, None]:
        if (hit := await self._cache_lookup()) is not None and (served := await self._from_cache(hit)) is not None:
            await self._publish(served)
            yield self._update("done", record=served)
            return
        runner = self.runner
        provider = self.route.provider
        clock = StepClock()
        step: Step | None = None
        final: RunRecord | None = None
        try:
            wire = self.payload.to_wire()
            if counts_input_images(self.endpoint) and input_images(self.endpoint, wire):
                # The input images' megapixels are billed too: read their sizes (file headers) off the event loop.
                self._input_sizes = await asyncio.to_thread(priced_input_sizes, self.endpoint, wire,
                                                            runner.upload_roots)
            self._cost = runner.estimate(self.endpoint, wire, self.route, input_sizes=self._input_sizes)
            if runner.guard is not None and self.route.uses_server_key:
                self._reservation = await runner.guard.reserve(self.visitor, self._cost)
            # Prepared and sent in a task of its own, started before "preparing" goes out: the job does not wait
            # for the page's update to be passed on (a few event-loop turns, ~7 ms per run at 25 visitors).
            self._send = asyncio.ensure_future(self._prepare_and_send())
            yield self._update("preparing")
            self.job = await self._sent_job(self._send)
            yield self._update("queued")
            async with contextlib.aclosing(self.job.events()) as events:
                async for event in events:
                    if isinstance(event, Queued):
                        yield self._update("queued", position=event.position)
                    elif isinstance(event, Running):
                        if self._timings.started is None:
                            self._timings = replace(self._timings, started=time.time())
                        for line in event.logs:
                            if (parsed := parse_step(line.message)) is not None:
                                step = parsed
                                clock.observe(parsed, time.monotonic())
                        yield self._update("running", new_logs=event.logs, step=step, eta=clock.eta(time.monotonic()))
                    elif isinstance(event, Completed):
                        self._completed = True
                        if not all(self._copy_later(image) for image in event.result.images):
                            # Images fetched or written before the run ends: the page shows "saving" meanwhile.
                            # Live images are copied off the critical path, so a "saving" there would only hold
                            # the record back by the update's own turns through the event loop.
                            yield self._update("saving", step=step)
                        result, files = await self._store_images(event.result)
                        cost = runner.settle(self._known_cost(event.result), "done", event.result.extras, provider.name)
                        final = self._record("done", result=result, cost=cost)
                        await self._write_images(files, final)
                        self._cache_later(final)
                        if final.timings.submitted is not None and final.timings.finished is not None:
                            runner.job_times.add(self.endpoint.id, self.route.is_sandbox,
                                                 steps_of(self.endpoint, self.payload.to_wire()),
                                                 final.timings.finished - final.timings.submitted)
            if final is None:
                raise ProviderError("The provider ended the job without a result.")
        except Cancelled as exc:
            # Our own Stop may reach the provider before the consumer is closed; otherwise it was cancelled upstream.
            final = self._stopped() if self._stop_requested else self._failed(exc)
        except ProviderError as exc:
            final = self._failed(exc)
        except Exception as exc:
            log.exception("run %s of %s failed unexpectedly", self.id, self.endpoint.id)
            final = self._failed(exc)
        finally:
            await self._cancel_unfinished()
            if final is None:  # the consumer stopped iterating, or the task was cancelled
                final = self._stopped()
            await self._publish(final)
        yield self._update(final.state, record=final)

    @property
    def estimated_cost(self) -> Cost:
        """What the run should cost, as reserved against the budget: unknown until its first update, and for a run
        served from the result cache (which costs nothing)."""
        return self._cost

    @property
    def completed_upstream(self) -> bool:
        """The provider reported the job completed (so billed), whether or not its result was fetched or stored."""
        return self._completed or bool(getattr(self.job, "completed_upstream", False))

    def _settle_unfinished(self, state: FinalState, completed: bool) -> Cost:
        extras = {"completed_upstream": True} if completed else {}
        return self.runner.settle(self._cost, state, extras, self.route.provider.name)

    def _known_cost(self, result: Result) -> Cost:
        """The estimate again with the output sizes the provider reported (when it reported every one)."""
        sizes = [(i.width, i.height) for i in result.images if i.width and i.height]
        if not sizes or len(sizes) != len(result.images):
            return self._cost
        return self.runner.estimate(self.endpoint, self.payload.to_wire(), self.route, sizes,
                                    input_sizes=self._input_sizes)

    def _cache_scope(self) -> tuple[str, str | None]:
        return cache_scope(self.route)

    async def _cache_lookup(self) -> CacheHit | None:
        cache = self.runner.cache
        if cache is None or not cache.enabled:
            return None
        provider, own_key = self._cache_scope()
        try:
            self.cache_key = await cache.key_for(self.endpoint, provider, self.payload.to_wire(), own_key=own_key)
            if self.cache_key is None or self.no_cache:
                return None
            return await cache.get(self.cache_key)
        except Exception:  # a cache that cannot be read is a miss, never a failed run
            log.warning("result cache lookup failed for run %s", self.id, exc_info=True)
            return None

    async def _from_cache(self, hit: CacheHit) -> RunRecord | None:
        """The stored result, its images re-served from this app's media store; nothing sent, nothing billed.
        None when the entry cannot be served (the run then goes to the provider)."""
        try:
            return await self._serve_cached(hit)
        except Exception:  # a cache that cannot be read is a miss, never a failed run
            log.warning("result cache entry for run %s could not be served", self.id, exc_info=True)
            self.prepared = None
            return None

    async def _serve_cached(self, hit: CacheHit) -> RunRecord:
        stored_request = hit.result.get("request")
        self.prepared = PreparedRequest.from_json(stored_request) if isinstance(stored_request, dict) else None
        result = dict(hit.result.get("result") or {})
        images = []
        seed = result.get("seed") if isinstance(result.get("seed"), int) else None
        for n, (image, shown) in enumerate(zip(hit.images, result.get("images") or [], strict=False), start=1):
            data = await asyncio.to_thread(image.path.read_bytes)  # carries the first run's parameters and record
            name = self.image_name(seed, n, image.content_type)
            stored = await self.runner.media.save(data, image.content_type, name)
            images.append({**shown, "url": self._media_url(stored.name), "file": stored.name})
        result["images"] = images
        result["request_id"] = hit.request_id
        result["cached"] = True
        self._completed = True
        now = time.time()
        self._timings = Timings(submitted=now, started=now, finished=now)
        basis = f"from cache (first run {hit.first_run_text()}, request {hit.request_id or 'unknown'})"
        return self._record("done", result=result, cost=Cost(0.0, basis), cached=hit)

    def _cache_later(self, record: RunRecord) -> None:
        cache, key = self.runner.cache, self.cache_key
        if cache is None or key is None or record.result is None:
            return
        self.runner.background(self._cache_put(cache, key, record))

    async def _cache_put(self, cache: ResultCache, key: str, record: RunRecord) -> None:
        """Keep the result with its images (fetched here if the run showed the provider's own URL)."""
        result = record.result or {}
        media, provider = self.runner.media, self.route.provider
        images: list[tuple[bytes, str]] = []
        try:
            await self.runner.await_images([record])  # a live image being copied: wait rather than fetch twice
            for shown in result.get("images") or []:
                name = shown.get("file")
                path = media.path_of(name) if isinstance(name, str) else None
                if path is None:
                    stored = await media.fetch(provider.client, str(shown.get("url")), provider=provider.name)
                    path = media.path_of(stored.name)
                if path is None:
                    return
                images.append((await asyncio.to_thread(path.read_bytes), str(shown.get("content_type") or "image/jpeg")))
            kept = {"result": result, "request": record.request.to_json() if record.request else None}
            await cache.put(key, endpoint_id=record.endpoint_id, provider=record.provider,
                            request_id=record.request_id, result=kept, images=images)
        except Exception:  # not caching is never a failed run
            log.warning("could not cache the result of run %s", self.id, exc_info=True)

    def _stopped(self) -> RunRecord:
        cost = self._settle_unfinished("stopped", self.completed_upstream)
        message = self._stop_message()
        if self.completed_upstream:
            message = (f"Stopped after {provider_title(self.route.provider.name)} completed the job upstream; "
                       f"settled at estimate {_usd_text(cost)}.")
        return self._record("stopped", error=RunError("Stopped", message), cost=cost)

    def _failed(self, exc: BaseException) -> RunRecord:
        if isinstance(exc, ProviderError):
            log.info("run %s of %s failed: %s", self.id, self.endpoint.id, exc.message)
        completed = self.completed_upstream or isinstance(exc, ResultUnavailable)
        cost = self._settle_unfinished("failed", completed)
        error = _error_of(exc)
        if completed:
            title = provider_title(self.route.provider.name)
            error = replace(error, message=(
                f"{title}: completed upstream but result could not be fetched; settled at estimate "
                f"{_usd_text(cost)} ({title} bills a completed job). {error.message}"
            ))
        return self._record("failed", error=error, cost=cost)

    def _stop_message(self) -> str:
        if self.job is not None or self._sending:
            return "The remote request was cancelled."
        return "Nothing had been sent to the provider yet."

    async def _cancel_unfinished(self) -> None:
        """Cancel the remote job unless it completed. Never raises: the record is published whatever happens."""
        if self.completed_upstream:
            return
        try:
            await asyncio.shield(self._cancel_remote())
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - never raises: the record is published anyway
            log.warning("cancelling the remote job of run %s did not finish", self.id)

    async def _publish(self, record: RunRecord) -> None:
        """Settle the budget and publish the record. Never raises."""
        if self._reservation is not None and self.runner.guard is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.shield(self.runner.guard.settle(self._reservation, record.cost))
        self.record = record
        self.finished.set()

    async def _prepare_and_send(self) -> Job:
        provider = self.route.provider
        self.prepared = await provider.prepare(self.endpoint, self.payload, self.route.credentials)
        self._timings = Timings(submitted=time.time())
        self._sending = True
        return await provider.send(self.prepared)

    @staticmethod
    async def _sent_job(send: asyncio.Future[Job]) -> Job:
        """The job ``send`` created; ``Cancelled`` when a Stop ended it before anything was sent."""
        try:
            return await asyncio.shield(send)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if send.cancelled() and task is not None and not task.cancelling():  # not this task's own cancellation
                raise Cancelled("Stopped before the request was sent.") from None
            raise

    async def _cancel_remote(self) -> None:
        job = self.job
        if job is None and self._send is not None and not self._sending:
            self._send.cancel()  # stopped while preparing (an upload, say): nothing has been sent, nothing will be
            with contextlib.suppress(BaseException):
                await self._send
            if not self._sending:
                return
        if job is None and self._send is not None:
            try:  # a Stop while the submit was in flight: wait for what it created, then cancel that
                job = self.job = await asyncio.wait_for(asyncio.shield(self._send), self.runner.cancel_timeout)
            except (Exception, asyncio.CancelledError):  # noqa: BLE001 - nothing was created, or we cannot know
                return
        if job is not None:
            await asyncio.wait_for(job.cancel(), self.runner.cancel_timeout)

    async def stop(self) -> RunRecord | None:
        """Cancel the remote job now and wait (bounded) until the run has published its record."""
        self._stop_requested = True
        await self._cancel_unfinished()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.finished.wait(), self.runner.cancel_timeout)
        return self.record

    async def _store_images(self, result: Result) -> tuple[dict[str, Any], list[_ImageFile]]:
        """The one media step: every ``images[].url`` in the returned JSON is an http(s) URL a client can fetch.

        Each image is named ``<run id>/<api_name>-<seed>-<n>.<ext>`` now, and written by ``_write_images`` once the
        record exists, with the record embedded (``runs.provenance``). A live provider's https image is shown at
        once and copied (named and tagged the same way) off the critical path.
        """
        media = self.runner.media
        provider = self.route.provider
        out = result.to_json()
        seed = out.get("seed") if isinstance(out.get("seed"), int) else self.payload.to_wire().get("seed")
        images: list[dict[str, Any]] = []
        files: list[_ImageFile] = []
        for index, (image, shown) in enumerate(zip(result.images, out["images"], strict=True)):
            shown = dict(shown)
            if self._copy_later(image):
                # Named now: the page shows /media/<name>, which waits for the copy (Runner.await_copy); the
                # record keeps the provider's URL, which outlives this app's media folder (the sandbox's does not,
                # and no visitor can reach it: its record names the copy).
                name = self.image_name(seed if isinstance(seed, int) else None, index + 1, image.content_type)
                files.append(_ImageFile(name, b"", image.content_type, url=image.url))
                shown["file"] = name
                if self.route.is_sandbox:
                    shown["url"] = self._media_url(name)
            else:
                if image.inline is not None:
                    data, content_type = image.inline, image.content_type
                else:
                    data, content_type = await media.download(provider.client, image.url, provider=provider.name)
                name = self.image_name(seed if isinstance(seed, int) else None, index + 1, content_type)
                files.append(_ImageFile(name, data, content_type))
                shown["url"], shown["file"] = self._media_url(name), name
            images.append(shown)
        out["images"] = images
        return out, files

    def image_name(self, seed: int | None, n: int, content_type: str) -> str:
        return f"{self.id}/{download_name(self.endpoint.api_name, seed, n, content_type)}"

    async def _write_images(self, files: list[_ImageFile], record: RunRecord) -> None:
        """Write the run's images with its parameters and record inside (pixels untouched)."""
        for file in files:
            if file.url is not None:
                self.runner.copy_later(self.route.provider.client, file.url, self.route.provider.name,
                                       name=file.name, record=record)
                continue
            await asyncio.to_thread(store_tagged, self.runner.media, file.data, file.content_type, file.name, record)

    def _copy_later(self, image: ResultImage) -> bool:
        """Whether the image is copied here off the critical path: a URL the provider keeps serving (the sandbox
        stands in for a live provider, so it takes the same path), not inline bytes."""
        if image.inline is not None or not self._stable_urls():
            return False
        return self.route.is_sandbox or image.url.startswith("https://")

    def _stable_urls(self) -> bool:
        """Whether the provider's result URLs outlive the run (else the image is saved before the run ends)."""
        try:
            return provider_spec(self.route.provider.name).result_urls == "stable"
        except KeyError:
            return True

    def _media_url(self, name: str) -> str:
        return self.media_url(name) if self.media_url is not None else f"/media/{name}"


class Runner(ImageCopies):
    """Starts runs. Shared by every view of one app; holds nothing per visitor. Its copies of live providers'
    images, made off the critical path, are ``runs.image_copies.ImageCopies``."""

    def __init__(
        self,
        media: MediaStore,
        *,
        estimate: Estimator = _unknown_cost,
        settle: Settler = _keep_estimate,
        guard: SpendGuard | None = None,
        cache: ResultCache | None = None,
        cancel_timeout: float = CANCEL_TIMEOUT,
        upload_roots: Sequence[Path] = (),
    ) -> None:
        super().__init__(media)  # the media store and the copies made into it
        self.upload_roots = tuple(upload_roots)  # where visitors' uploads are: input images whose size is read
        self.cache = cache
        self.estimate = estimate
        self.settle = settle
        self.guard = guard
        self.cancel_timeout = cancel_timeout
        self.job_times = JobTimes()  # measured job times, for sweep estimates

    def start(
        self,
        endpoint: EndpointSpec,
        payload: WireModel,
        route: Route,
        *,
        visitor: str = "anonymous",
        media_url: Callable[[str], str] | None = None,
        sweep: dict[str, Any] | None = None,
        no_cache: bool = False,
    ) -> Run:
        return Run(self, endpoint, payload, route, visitor=visitor, media_url=media_url, sweep=sweep,
                   no_cache=no_cache)

    async def run(self, endpoint: EndpointSpec, payload: WireModel, route: Route, **kwargs: Any) -> AsyncGenerator[RunUpdate, None]:
        """``start(...).updates()``, for consumers that need no handle on the run."""
        async with contextlib.aclosing(self.start(endpoint, payload, route, **kwargs).updates()) as updates:
            async for update in updates:
                yield update
