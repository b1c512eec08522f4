"""A fal OpenAPI 3 document -> the same ``EndpointSpec`` and pydantic input model a hand-written endpoint has.

The input and output schemas are found through the paths (the request body of ``POST /{id}``, the 200 response of
``GET /{id}/requests/{request_id}``), never by component name. A document whose output holds no images (a video or
audio model) is refused by name (``NotAnImageEndpoint``). The input schema becomes the model field by field in
``endpoints.openapi_schema`` (what is read from each property, image inputs, the bounds a document leaves out);
the first example of every property makes the spec's example.

Roles are inferred from fal's conventional names (``ROLE_NAMES``) and can be overridden per endpoint.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from endpoints.base import EndpointSpec, Role, WireModel
from endpoints.openapi_schema import (
    DocumentError,
    ModelConverter,
    NotAnImageEndpoint,
    SchemaContext,
    camel_name,
    schema_branches,
)
from endpoints.price import PriceModel

#: fal's conventional field names per role (first present wins).
ROLE_NAMES: dict[Role, tuple[str, ...]] = {
    "prompt": ("prompt",),
    "negative_prompt": ("negative_prompt",),
    "seed": ("seed",),
    "steps": ("num_inference_steps", "steps"),
    "guidance": ("guidance_scale", "guidance"),
    "size": ("image_size",),
    "count": ("num_images",),
    "image": ("image_url", "control_image_url", "image"),
    "images": ("image_urls", "images"),
    "strength": ("strength",),
}


def api_name_for(endpoint_id: str) -> str:
    """``fal-ai/flux-2-pro`` -> ``flux_2_pro``; ``fal-ai/flux-pro/v1.1`` -> ``flux_pro_v1_1``; other owners kept."""
    path = endpoint_id.removeprefix("fal-ai/")
    name = re.sub(r"[^0-9a-zA-Z]+", "_", path).strip("_").lower() or "endpoint"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "m_" + name
    return name



# --- the document ----------------------------------------------------------------------------------------------


def _json_body(operation: Any) -> Any:
    if not isinstance(operation, Mapping):
        return None
    content = (operation.get("requestBody") or {}).get("content") or {}
    return (content.get("application/json") or {}).get("schema")


def _ok_body(operation: Any) -> Any:
    if not isinstance(operation, Mapping):
        return None
    responses = operation.get("responses") or {}
    ok = responses.get("200") or responses.get(200) or {}
    return ((ok.get("content") or {}).get("application/json") or {}).get("schema")


def document_endpoint_id(doc: Mapping[str, Any]) -> str | None:
    """The endpoint id a document declares (``info.x-fal-metadata.endpointId``), if any."""
    meta = (doc.get("info") or {}).get("x-fal-metadata") or {}
    value = meta.get("endpointId") if isinstance(meta, Mapping) else None
    return value if isinstance(value, str) and value else None


def input_output_schemas(doc: Mapping[str, Any], endpoint_id: str) -> tuple[dict[str, Any], dict[str, Any], SchemaContext]:
    """(Input schema, Output schema, the resolving context), found through the paths."""
    ctx = SchemaContext(endpoint_id, doc)
    paths = doc.get("paths")
    if not isinstance(paths, Mapping):
        raise ctx.fail("the document has no paths")
    submit = paths.get(f"/{endpoint_id}")
    body = _json_body((submit or {}).get("post") if isinstance(submit, Mapping) else None)
    if body is None:
        raise ctx.fail(f"no POST /{endpoint_id} with a JSON request body in the document")
    result = paths.get(f"/{endpoint_id}/requests/{{request_id}}")
    out = _ok_body((result or {}).get("get") if isinstance(result, Mapping) else None)
    if out is None:
        raise ctx.fail(f"no GET /{endpoint_id}/requests/{{request_id}} with a JSON 200 response in the document")
    input_schema, _ = ctx.resolve(body, "input")
    output_schema, _ = ctx.resolve(out, "output")
    return input_schema, output_schema, ctx


def _image_output(output: Mapping[str, Any], ctx: SchemaContext) -> bool:
    """Whether the output holds images: an ``images`` list or an ``image`` object (with a ``url``)."""
    props = output.get("properties") or {}
    for name in ("images", "image"):
        if name not in props:
            continue
        schema, _ = ctx.resolve(props[name], f"output.{name}")
        branches, _ = schema_branches(schema, ctx, f"output.{name}")
        for branch in branches:
            branch, _ = ctx.resolve(branch, f"output.{name}")
            if branch.get("type") == "array" and isinstance(branch.get("items"), Mapping):
                branch, _ = ctx.resolve(branch["items"], f"output.{name}[]")
            if "url" in (branch.get("properties") or {}):
                return True
    return False


def _other_media(output: Mapping[str, Any]) -> str:
    names = [n for n in (output.get("properties") or {}) if n not in ("seed", "timings", "prompt", "has_nsfw_concepts")]
    return ", ".join(names) or "nothing"


@dataclass(frozen=True)
class Overrides:
    """Per-endpoint corrections to what the document says: roles (a role mapped to None is dropped), title..."""

    roles: Mapping[Role, str | None] = field(default_factory=dict)
    title: str | None = None
    tab_label: str | None = None
    description: str | None = None


def infer_roles(model: type[WireModel], overrides: Mapping[Role, str | None] | None = None) -> dict[Role, str]:
    """Roles from fal's conventional names (``ROLE_NAMES``), then ``overrides`` (None removes a role)."""
    fields = model.model_fields
    roles: dict[Role, str] = {}
    for role, names in ROLE_NAMES.items():
        found = next((n for n in names if n in fields), None)
        if found is not None:
            roles[role] = found
    for role, name in (overrides or {}).items():
        if name is None:
            roles.pop(role, None)
        else:
            roles[role] = name
    return roles


def spec_from_openapi(
    doc: Mapping[str, Any],
    endpoint_id: str | None = None,
    *,
    api_name: str | None = None,
    price: PriceModel | None = None,
    overrides: Overrides | None = None,
    source: str = "",
) -> EndpointSpec:
    """The ``EndpointSpec`` of a fal document. Raises ``DocumentError`` (``NotAnImageEndpoint``) naming the endpoint."""
    if not isinstance(doc, Mapping):
        raise DocumentError(endpoint_id or "?", "the document is not a JSON object")
    declared = document_endpoint_id(doc)
    endpoint_id = endpoint_id or declared
    if not endpoint_id:
        raise DocumentError("?", "the document names no endpoint (info.x-fal-metadata.endpointId)")
    overrides = overrides or Overrides()
    input_schema, output_schema, ctx = input_output_schemas(doc, endpoint_id)
    if not _image_output(output_schema, ctx):
        raise NotAnImageEndpoint(
            endpoint_id, f"its output has no images ({_other_media(output_schema)}): not an image model, left out"
        )
    name = api_name or api_name_for(endpoint_id)
    model = ModelConverter(ctx).model(input_schema, camel_name(name) + "Input", "input")
    example = _example(model, input_schema, ctx)
    raw_snapshot = doc.get("x-playground-snapshot")
    snapshot: Mapping[str, Any] = raw_snapshot if isinstance(raw_snapshot, Mapping) else {}
    meta = (doc.get("info") or {}).get("x-fal-metadata") or {}
    title = overrides.title or str(snapshot.get("display_name") or endpoint_id)
    category = str(meta.get("category") or "") if isinstance(meta, Mapping) else ""
    notes = [f"Built from fal's OpenAPI document{f' ({source})' if source else ''}.", *ctx.notes]
    return EndpointSpec(
        id=endpoint_id,
        api_name=name,
        title=title,
        tab_label=overrides.tab_label or title,
        provider="fal",
        description=overrides.description or (f"{title} ({category})" if category else title),
        input_model=model,
        example=example,
        seed_document=f"openapi:{endpoint_id}",
        notes=tuple(notes),
        roles=infer_roles(model, overrides.roles),
        price=price,
    )


def _example(model: type[WireModel], schema: Mapping[str, Any], ctx: SchemaContext) -> dict[str, Any]:
    """The first example of every property that has one; one that fails validation is left out (and noted)."""
    example: dict[str, Any] = {}
    for prop, raw in (schema.get("properties") or {}).items():
        examples = raw.get("examples") if isinstance(raw, Mapping) else None
        if isinstance(examples, list) and examples and prop in model.model_fields:
            example[prop] = examples[0]
    for _ in range(len(example) + 1):
        try:
            return model.model_validate(example).to_wire() if example else {}
        except ValidationError as exc:
            bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"] and str(e["loc"][0]) in example}
            if not bad:
                return example  # only required fields without an example are missing: keep what fal gives
            for prop in bad:
                ctx.notes.append(f"{prop}: the document's example does not validate; left out of the example")
                example.pop(prop)
    return example
