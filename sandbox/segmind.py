"""Segmind v1 (synchronous): ``POST {base}/segmind/v1/{model}`` answers the image bytes after ``steps *
step_seconds``.

Auth is the ``x-api-key`` header (401 ``{"error"}`` without one). The body is JSON or a form (multipart or
urlencoded); a ``control_image`` file part becomes a data URI, and form strings are coerced by the field's type
before validation (bool: true/false/1/0/yes/no/on/off in any case; int: "40" or "40.0"; float), empty strings
count as absent, and anything unparseable is left for the model to report. Validation errors answer 400
``{"error": "field: message; field: message"}`` (the messages of ``endpoints.validation``); an unreadable control
image answers 400 the same way. Each image costs ``credit_cost``; below that, 406 ``{"error": "Not enough
credits"}`` (with ``x-remaining-credits``). Segmind's credits are US dollars, so ``x-cost`` — the run's cost in
USD, which the app settles its spend with — is ``credit_cost``. Response headers: ``x-remaining-credits``,
``x-cost``, ``x-request-id``, ``x-seed-value``, ``x-generation-time`` and, when a placeholder stood in for a URL
the sandbox does not read, ``x-sandbox-note``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from endpoints import ENDPOINTS
from endpoints.base import EndpointSpec
from endpoints.validation import describe_validation_error
from sandbox.faults import FaultSpecError, bad_fault_header
from sandbox.generation import prepare_generation, render_images
from sandbox.http import TRUTHY, json_response, server_base
from sandbox.image_inputs import ImageLoadError, ImageResolver
from sandbox.state import SandboxState

logger = logging.getLogger(__name__)

SEGMIND_PREFIX = "/segmind"
MAX_INPUT_SIDE = 1024
_FALSY = frozenset({"0", "false", "no", "off"})


def segmind_endpoint(model: str) -> EndpointSpec | None:
    return next((spec for spec in ENDPOINTS if spec.provider == "segmind" and spec.id == model), None)


def _coerce(annotation: Any, value: str) -> Any:
    text = value.strip()
    if annotation is bool:
        lowered = text.lower()
        return True if lowered in TRUTHY else False if lowered in _FALSY else value
    if annotation is int:
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return value
            return int(number) if number.is_integer() else value
    if annotation is float:
        try:
            return float(text)
        except ValueError:
            return value
    return value


def coerce_form_values(model: type[BaseModel], form: dict[str, Any]) -> dict[str, Any]:
    """Form strings -> the types the model's fields declare (see module docstring)."""
    values: dict[str, Any] = {}
    for name, value in form.items():
        info = model.model_fields.get(name)
        if not isinstance(value, str) or info is None or info.annotation is str:
            values[name] = value
        elif value.strip():
            values[name] = _coerce(info.annotation, value)
    return values


async def _read_body(request: Request, model: type[BaseModel]) -> dict[str, Any]:
    """The request's values by field name; raises ValueError (TypeError for a non-object) when unreadable."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form: dict[str, Any] = {}
        async with request.form() as parsed:
            for name, value in parsed.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    mime = value.content_type or "application/octet-stream"
                    form[name] = f"data:{mime};base64,{base64.b64encode(data).decode()}"
                else:
                    form[name] = value
        return coerce_form_values(model, form)
    raw = await request.body()
    body = json.loads(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise TypeError("the JSON body must be an object")
    return body


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}".rstrip("0")


def _header_text(text: str) -> str:
    return text.encode("ascii", "replace").decode()[:300]


def segmind_routes(state: SandboxState) -> list[Route]:
    async def generate(request: Request) -> Response:
        try:
            fault = await state.faults.before("segmind", state.faults.plans(request))
        except FaultSpecError as exc:
            return bad_fault_header(exc, "segmind")
        if fault:
            return fault
        if request.method != "POST":
            return json_response({"error": "Method Not Allowed"}, 405, {"Allow": "POST"})
        spec = segmind_endpoint(request.path_params["model"])
        if spec is None:
            return json_response({"error": f"Model {request.path_params['model']!r} not found"}, 404)
        if not request.headers.get("x-api-key", "").strip():
            return json_response({"error": "Unauthorized: the x-api-key header is missing"}, 401)
        try:
            values = await _read_body(request, spec.input_model)
        except (ValueError, TypeError) as exc:
            return json_response({"error": f"Could not read the request body: {exc}"}, 400)
        try:
            payload = spec.input_model.model_validate(values)
        except ValidationError as exc:
            return json_response({"error": "; ".join(describe_validation_error(exc, spec.input_model))}, 400)

        account = state.segmind
        cost = state.options.credit_cost
        if account.credits < cost:
            return json_response(
                {"error": "Not enough credits"}, 406, {"x-remaining-credits": _number(account.credits)}
            )
        account.credits -= cost  # reserved now, refunded if generation fails
        started = time.monotonic()
        try:
            async with account.slots:
                resolver = ImageResolver(
                    state.storage.files, server_base(request), MAX_INPUT_SIDE, state.decode_slots
                )
                prepared = await prepare_generation(
                    spec, payload, resolver, state.options.max_render_side, allow_raw_base64=True
                )
                await asyncio.sleep(prepared.plan.steps * state.options.step_seconds)
                image = (await render_images(prepared))[0]
        except ImageLoadError as exc:
            account.credits += cost
            return json_response({"error": str(exc)}, 400)
        except Exception:
            account.credits += cost
            logger.exception("sandbox Segmind generation failed")
            return json_response({"error": "Server had some issue with processing"}, 500)
        state.stats.segmind_calls += 1
        headers = {
            "x-remaining-credits": _number(account.credits),
            "x-cost": _number(cost),
            "x-request-id": str(uuid.uuid4()),
            "x-seed-value": str(prepared.plan.seed),
            "x-generation-time": f"{time.monotonic() - started:.3f}",
        }
        if prepared.notes:
            headers["x-sandbox-note"] = _header_text(" | ".join(prepared.notes))
        return Response(image.data, media_type=image.content_type, headers=headers)

    return [Route("/v1/{model}", generate, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]


def mounts(state: SandboxState) -> list[BaseRoute]:
    """This provider's side of the sandbox (the catalog's ``ProviderSpec.sandbox``)."""
    return [Mount(SEGMIND_PREFIX, routes=segmind_routes(state))]
