"""fal's platform pricing API, mounted at ``/fal/api`` (the app's ``FAL_API_URL``).

    GET /fal/api/v1/models/pricing?endpoint_id=<id>[&endpoint_id=<id>...]    (Key auth)
        -> {"prices": [{endpoint_id, unit_price, unit, currency}], "next_cursor": null, "has_more": false}

``endpoint_id`` may repeat or hold comma-separated ids (1 to 50). Ids the table does not know are simply absent
from ``prices``. Without ``Authorization: Key ...``: 401. Without any id: 422 with a fal-style detail. Faults of
the ``pricing`` family apply (``X-Sandbox-Fault: pricing=status_500``). Every request to the route is counted in
``stats.pricing_requests``, refused ones included, so tests can see how often a client asked.

The table is ``sandbox.pricing``'s ``price_table(SandboxOptions.prices)``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.faults import FaultSpecError, bad_fault_header
from sandbox.http import bearer_value, json_response
from sandbox.pricing import price_table
from sandbox.state import SandboxState

API_PREFIX = "/fal/api"
MAX_IDS = 50


def requested_ids(request: Request) -> list[str]:
    """The ``endpoint_id`` values, repeated or comma-separated, in order, without duplicates."""
    ids: list[str] = []
    for value in request.query_params.getlist("endpoint_id"):
        for part in value.split(","):
            if (endpoint_id := part.strip()) and endpoint_id not in ids:
                ids.append(endpoint_id)
    return ids


def pricing_routes(state: SandboxState) -> list[Route]:
    table = price_table(state.options.prices)

    async def pricing(request: Request) -> Response:
        state.stats.pricing_requests += 1
        try:
            fault = await state.faults.before("pricing", state.faults.plans(request))
        except FaultSpecError as exc:
            return bad_fault_header(exc, "pricing")
        if fault:
            return fault
        if not bearer_value(request, "Key"):
            return json_response({"detail": "Missing or malformed Authorization header: expected 'Key <FAL_KEY>'"}, 401)
        ids = requested_ids(request)
        if not ids or len(ids) > MAX_IDS:
            problem = (
                {"msg": "Field required", "type": "missing"}
                if not ids
                else {"msg": f"At most {MAX_IDS} endpoint ids", "type": "too_long"}
            )
            return json_response({"detail": [{"loc": ["query", "endpoint_id"], **problem}]}, 422)
        prices = [
            {
                "endpoint_id": endpoint_id,
                "unit_price": table[endpoint_id].unit_price,
                "unit": table[endpoint_id].unit,
                "currency": table[endpoint_id].currency,
            }
            for endpoint_id in ids
            if endpoint_id in table
        ]
        return json_response({"prices": prices, "next_cursor": None, "has_more": False})

    return [Route("/v1/models/pricing", pricing, methods=["GET"])]
