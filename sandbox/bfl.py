"""Black Forest Labs' API, mounted at ``/bfl`` (the app's ``BFL_API_URL``), over the sandbox's one job store.

    POST /bfl/v1/<model>            x-key      -> {"id", "polling_url"}     (402 no credits, 403 no key, 422, 429)
    GET  /bfl/v1/get_result?id=     (no key needed, as on BFL's regional hosts)
                                    -> {"id", "status", "result", "progress", "details", "preview"}
    GET  /bfl/v1/credits            x-key      -> {"credits": <float>}
    GET  /bfl/delivery/<name>?exp=  the result image; 403 once ``exp`` has passed (BFL's signed URLs live 10 min)

Jobs run in the same job store and runner pool as fal's (``state.jobs``, ``sandbox/jobs.py``, ``capacity`` runners), rendered the same way;
only the wire format differs. ``status`` is ``Pending`` with ``progress`` (steps done / steps) until ``Ready``
(``result.sample``, ``result.seed``, ``result.prompt``). Moderation stands in for BFL's: a prompt with an unsafe
word (``sandbox.generation.UNSAFE_WORDS``) is ``Request Moderated`` at ``safety_tolerance`` 0–1, and
``Content Moderated`` after generating at 2; above that the image is delivered. A failed job is ``Error``, an
unknown id ``Task not found``.

Credits: ``SandboxOptions.bfl_credits`` (credits of $0.01); each submit takes the model's price for its input
(``runs``-independent: per image, or FLUX.2's first and further megapixels), 402 when it does not fit. At most
``bfl_active_tasks`` unfinished tasks per key (6 on ``flux-kontext-max``), 429 beyond. Result URLs expire after
``bfl_url_seconds`` (``SANDBOX_BFL_URL_SECONDS``), so tests can show the app saved the image before it died.
Faults: family ``bfl`` for the submit and credits, ``poll`` for ``get_result``.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from endpoints import find_endpoint
from endpoints.base import EndpointSpec
from endpoints.validation import to_fal_detail
from runs.input_sizes import image_size
from runs.pricing import megapixels
from sandbox.accounts import BflAccount, BflTask
from sandbox.faults import FaultPlan, FaultSpecError, bad_fault_header
from sandbox.generation import UNSAFE_WORDS
from sandbox.http import json_response, server_base
from sandbox.jobs import Job
from sandbox.state import SandboxState

BFL_PREFIX = "/bfl"
KONTEXT_MAX_ACTIVE = 6


def bfl_endpoint(model: str) -> EndpointSpec | None:
    return find_endpoint("bfl", model)


def credits_for(spec: EndpointSpec, body: dict[str, Any]) -> float:
    """BFL credits ($0.01) one task costs: the spec's per-image price, or FLUX.2's first + further megapixels."""
    price = spec.price
    if price is None:
        return 0.0
    if price.unit == "image":
        return round(price.unit_price_usd * 100, 6)
    width, height = int(body.get("width") or 1024), int(body.get("height") or 1024)
    out_mp = megapixels(width, height)
    extra = price.extra_unit_price_usd if price.extra_unit_price_usd is not None else price.unit_price_usd
    inputs = sum(_input_megapixels(value) for key, value in body.items() if key.startswith("input_image") and value)
    usd = price.unit_price_usd + (out_mp - 1) * extra + (inputs * extra if price.counts_input_images else 0)
    return round(usd * 100, 6)


def _input_megapixels(value: Any) -> int:
    """An input image's billed megapixels, as BFL counts them: its size read from its header when it is given
    inline (plain base64 or a ``data:`` URI, as the app measures it); 1 for a URL (the sandbox fetches nothing)."""
    size = image_size(value, ())  # no upload roots: the sandbox reads no file
    return megapixels(*size) if size else 1


def _unsafe(prompt: str) -> bool:
    lowered = prompt.lower()
    return any(word in lowered for word in UNSAFE_WORDS)


def _status_body(task: BflTask, base: str, url_seconds: float) -> dict[str, Any]:
    job = task.job
    body: dict[str, Any] = {"id": job.request_id, "result": None, "progress": None, "details": None, "preview": None}
    if task.moderation == "Request Moderated":
        body.update(status="Request Moderated", details={"Moderation Reasons": ["Sandbox: unsafe prompt"]})
        return body
    if not job.done:
        progress = 0.0
        for line in reversed(job.logs):  # "Step 3/28"
            done, _, total = line["message"].removeprefix("Step ").partition("/")
            if line["message"].startswith("Step ") and done.isdigit() and total.isdigit():
                progress = int(done) / max(1, int(total))
                break
        body.update(status="Pending", progress=round(min(1.0, progress), 3))
        return body
    if job.failure is not None or not job.output:
        body.update(status="Error", details={"error": job.failure.error if job.failure else "no output"})
        return body
    if task.moderation == "Content Moderated":
        body.update(status="Content Moderated", details={"Moderation Reasons": ["Sandbox: unsafe output"]})
        return body
    image = job.output["images"][0]
    name = image["url"].rsplit("/", 1)[-1]
    expires = int(time.time() + url_seconds) if not task.expires_after else int(task.expires_after)
    task.expires_after = expires
    body.update(
        status="Ready",
        result={
            "sample": f"{base}{BFL_PREFIX}/delivery/{name}?exp={expires}",
            "prompt": job.output.get("prompt"),
            "seed": job.output.get("seed"),
            "width": image.get("width"),
            "height": image.get("height"),
        },
    )
    return body


def bfl_routes(state: SandboxState) -> list[Route]:
    def account() -> BflAccount:
        return state.bfl

    async def faults(request: Request, family: str) -> Response | None:
        try:
            plans = state.faults.plans(request)
        except FaultSpecError as exc:
            return bad_fault_header(exc, family)
        return await state.faults.before(family, plans)

    def key_of(request: Request) -> str | None:
        key = request.headers.get("x-key", "").strip()
        return key or None

    async def submit(request: Request) -> Response:
        if refused := await faults(request, "bfl"):
            return refused
        key = key_of(request)
        if key is None:
            return json_response({"detail": "Not authenticated: send your key in the x-key header"}, 403)
        model = request.path_params["model"]
        spec = bfl_endpoint(model)
        if spec is None:
            return json_response({"detail": "Not Found"}, 404)
        try:
            body = json.loads(await request.body() or b"{}")
            payload = spec.input_model.model_validate(body)
        except ValueError as exc:
            detail = to_fal_detail(exc) if isinstance(exc, ValidationError) else [
                {"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}]
            return json_response({"detail": detail}, 422)
        bfl = account()
        limit = KONTEXT_MAX_ACTIVE if model == "flux-kontext-max" else state.options.bfl_active_tasks
        active = sum(1 for task in bfl.tasks.values() if task.key == key and task.active)
        if active >= limit:
            return json_response({"detail": f"Task limit exceeded: {active} active tasks (at most {limit})"}, 429,
                                 {"Retry-After": "1"})
        cost = credits_for(spec, payload.to_wire())
        if cost > bfl.credits + 1e-9:
            return json_response({"detail": "Insufficient credits"}, 402)
        prompt = str(getattr(payload, "prompt", "") or "")
        tolerance = int(getattr(payload, "safety_tolerance", 2))
        moderation = None
        if _unsafe(prompt):
            moderation = "Request Moderated" if tolerance <= 1 else "Content Moderated" if tolerance == 2 else None
        base = server_base(request)
        job = Job(request_id=str(uuid.uuid4()), spec=spec, payload=payload, base_url=base, faults=FaultPlan(),
                  raw_base64_images=True)
        bfl.tasks[job.request_id] = BflTask(job, key, moderation, 0.0)
        state.stats.submits[spec.id] += 1
        if moderation != "Request Moderated":
            bfl.credits = round(bfl.credits - cost, 6)
            state.jobs.submit(job)
        else:
            job.fail("Request Moderated", "moderated", 400)
        polling_url = f"{base}{BFL_PREFIX}/v1/get_result?id={job.request_id}"
        return json_response({"id": job.request_id, "polling_url": polling_url})

    async def get_result(request: Request) -> Response:
        if refused := await faults(request, "poll"):
            return refused
        state.stats.status_requests += 1
        task = account().tasks.get(request.query_params.get("id", ""))
        if task is None:
            return json_response({"id": request.query_params.get("id"), "status": "Task not found",
                                  "result": None, "progress": None, "details": None, "preview": None})
        return json_response(_status_body(task, server_base(request), state.options.bfl_url_seconds))

    async def credits(request: Request) -> Response:
        if refused := await faults(request, "bfl"):
            return refused
        if key_of(request) is None:
            return json_response({"detail": "Not authenticated: send your key in the x-key header"}, 403)
        return json_response({"credits": account().credits})

    async def delivery(request: Request) -> Response:
        if refused := await faults(request, "file"):
            return refused
        try:
            expires = float(request.query_params.get("exp", "0"))
        except ValueError:
            expires = 0.0
        if time.time() > expires:
            return Response("Request has expired", status_code=403, media_type="text/plain")
        stored = state.storage.files.get(request.path_params["name"])
        if stored is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        return Response(stored.data, media_type=stored.content_type)

    return [
        Route("/v1/get_result", get_result, methods=["GET"]),
        Route("/v1/credits", credits, methods=["GET"]),
        Route("/v1/{model}", submit, methods=["POST"]),
        Route("/delivery/{name}", delivery, methods=["GET"]),
    ]


def mounts(state: SandboxState) -> list[BaseRoute]:
    """This provider's side of the sandbox (the catalog's ``ProviderSpec.sandbox``)."""
    return [Mount(BFL_PREFIX, routes=bfl_routes(state))]
