"""The API contract of a tab's named endpoint, from the endpoint's model: parameter types and descriptions.

Gradio derives ``view_api()`` and the MCP tools' input schemas from each input component's ``api_info()`` and
the handler's docstring (``Args:``). A stock slider would say "number"; here every parameter gets its field's
real JSON schema — type, enum, bounds, description — with ``$ref``s inlined so MCP clients need nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import gradio as gr

from endpoints.base import EndpointSpec
from providers.local_files import image_fields

LINK = "__link"


def _inline(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    if depth > 20:
        return {}
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return _inline(merged, defs, depth + 1)
        # ``additionalProperties: false`` (extra="forbid") is dropped: gradio_client's schema reader cannot read it.
        return {
            k: _inline(v, defs, depth + 1)
            for k, v in schema.items()
            if k not in ("title", "$defs") and not (k == "additionalProperties" and isinstance(v, bool))
        }
    if isinstance(schema, list):
        return [_inline(item, defs, depth + 1) for item in schema]
    return schema


def field_schemas(spec: EndpointSpec) -> dict[str, dict[str, Any]]:
    """Each field's JSON schema (refs inlined, titles dropped), by field name."""
    schema = spec.input_schema
    defs = schema.get("$defs", {})
    return {name: _inline(prop, defs) for name, prop in schema.get("properties", {}).items()}


def _as_text_parameter(schema: dict[str, Any]) -> dict[str, Any]:
    """Lists and objects travel as JSON text (the form's JSON editors); the description carries their schema."""
    shape = json.dumps({k: v for k, v in schema.items() if k not in ("description", "default")}, separators=(",", ":"))
    return {"type": "string", "description": f"{schema.get('description', '')} JSON text matching {shape}".strip()}


def parameter_schema(spec: EndpointSpec, name: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The API schema of one parameter, or None where the component's own schema must stay (file uploads)."""
    if name in image_fields(spec):
        return None
    kinds = {b.get("type") for b in schema.get("anyOf", [schema])}
    if name != spec.field_for("size") and kinds & {"array", "object"}:  # a size is a preset or {width, height}
        return _as_text_parameter(schema)
    return {k: v for k, v in schema.items() if k != "default"}


def apply_api_schemas(spec: EndpointSpec, components: dict[str, gr.components.Component]) -> None:
    """Give each input component its field's schema in ``api_info()``; image URL boxes say what they take."""
    schemas = field_schemas(spec)
    for name, component in components.items():
        info: dict[str, Any] | None
        if name.endswith(LINK):
            field = name.removesuffix(LINK)
            info = {
                "type": "string",
                "description": f"{schemas.get(field, {}).get('description', '')} An http(s) or data: URL, used "
                f"when no file is uploaded for {field}.".strip(),
            }
        elif name in schemas:
            info = parameter_schema(spec, name, schemas[name])
            if info is None:
                continue
        else:
            continue
        component.api_info = _returning(info)  # type: ignore[method-assign]  # Gradio's hook for a parameter's API schema


def args_docstring(spec: EndpointSpec, names: list[str]) -> str:
    """A docstring with an ``Args:`` section (Gradio reads parameter descriptions for MCP tools from it)."""
    schemas = field_schemas(spec)
    lines = [f"{spec.title} ({spec.id}) on {spec.provider}: {spec.description}", "", "Args:"]
    for name in names:
        field = name.removesuffix(LINK)
        description = " ".join(str(schemas.get(field, {}).get("description", "")).split())
        if name.endswith(LINK):
            description = f"URL of the image for {field} (instead of uploading a file). {description}"
        lines.append(f"    {name}: {description or name}")
    lines += ["", "Returns:", "    The run status, provider logs, the images with captions, and the result JSON."]
    return "\n".join(lines)


def _returning(info: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """A component's ``api_info`` that answers ``info`` (the schema the endpoint's model gives the field)."""
    return lambda: info
