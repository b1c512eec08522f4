"""One input schema of a fal OpenAPI document -> a pydantic ``WireModel`` (``ModelConverter``), field by field.

Read from each property: ``x-fal-order-properties`` (field order), ``title``, ``description``, ``default``,
``enum``/``const``, ``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``, ``minLength``/``maxLength``,
``minItems``/``maxItems``, arrays and their ``items``, nested objects (nested ``WireModel``s, so LoRA and ControlNet
lists get the form's row editors), ``anyOf [X, {type: null}]`` (an optional X) and ``image_size`` as a preset enum
or an ``ImageSize`` object with that object's own bounds. Unknown vendor keys are ignored. ``$ref``s are resolved
(``SchemaContext``); one that resolves nowhere, a cycle or nesting past ``MAX_DEPTH`` refuses the document by name
(``DocumentError``).

Image inputs: ``ui.field == "image"`` where the document has it, else by name (``*_url``, ``*_urls``, ``image``,
``images``, ``mask_url``), as fal-js does. They become ``Url`` with the ``x-ui: image`` hint; a list of image URLs
keeps its list type and carries ``x-ui: images`` (a multi-image input).

The hostile-input rules of ``endpoints.base`` hold for generated models too (they derive from ``WireModel``): NaN
refused, text checked, and every number, string and list bounded. Where the document gives no bound, the bound is
one of the ``*_MAX`` constants below (argued beside each), and the field's schema says so under
``x-playground-bound``.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, cast, get_args, get_origin

from pydantic import AfterValidator, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from endpoints.base import (
    IMAGE_SIDE_MAX,
    PROMPT_MAX_CHARS,
    SEED_MAX,
    SEED_UI,
    SHORT_TEXT_MAX_CHARS,
    WireModel,
    check_url_length,
)

#: Lists without ``maxItems``: 8, as for the hand-written endpoints' open-ended lists (LoRAs, controls, fill
#: images): each item is downloaded or merged before the first step, and 1–3 is the usual count.
LIST_MAX = 8
#: Integers without a bound: a signed 32-bit range. fal's workers are Python services whose numeric fields end up in
#: torch/numpy int32 or smaller; nothing an image model counts (steps, images, timesteps) comes near it.
INT_ABS_MAX = 2**31 - 1
#: Floats without a bound: ±1,000,000. Every scale, strength, shift or guidance of an image model is within ±100;
#: a million is far past any useful value while refusing 1e308 before it is billed.
FLOAT_ABS_MAX = 1_000_000.0
#: Strings without ``maxLength`` that are not URLs: the prompt limit. No text field of an image model is longer
#: than its prompt.
TEXT_MAX_CHARS = PROMPT_MAX_CHARS
#: Dictionaries (``additionalProperties``): as the hand-written per-layer LoRA scales, at most 1,000 entries.
DICT_MAX_ENTRIES = 1_000
#: ``ImageSize`` sides without a minimum: 1 px (a side of 0 is no image). Without a maximum: fal's 14,142.
IMAGE_SIDE_MIN = 1

_SCHEMA_PREFIX = "#/"
_ORDER_KEY = "x-fal-order-properties"
_KEY = Annotated[str, Field(max_length=SHORT_TEXT_MAX_CHARS)]  # dictionary keys
BOUND_NOTE_KEY = "x-playground-bound"


#: Objects nested deeper than this (a LoRA list's item is depth 2; a ControlNet union's controls, 3) refuse the
#: document: fal's image models stop at 3, and a hostile document could otherwise recurse without end.
MAX_DEPTH = 8
MAX_UNION_STEPS = 64  # branches (nested anyOf included) read for one field; fal's have 2 or 3


class GeneratedModel(WireModel):
    """Base of every generated model: a ``WireModel`` that also takes fal's ``model_*`` field names."""

    model_config = ConfigDict(protected_namespaces=())


class DocumentError(ValueError):
    """A document the app cannot use. The message names the endpoint and says why, on one line."""

    def __init__(self, endpoint_id: str, reason: str) -> None:
        super().__init__(f"{endpoint_id}: {reason}")
        self.endpoint_id = endpoint_id
        self.reason = reason


class NotAnImageEndpoint(DocumentError):
    """The endpoint's output holds no images (a video, audio or text model)."""


def is_image_name(name: str) -> bool:
    """fal-js's rule for file fields, kept to images: ``image_url``, ``image_urls``, ``mask_url``, ``images``..."""
    if name in ("image", "images", "mask_url"):
        return True
    return name.endswith(("_url", "_urls")) and ("image" in name or name.startswith("mask"))



@dataclass
class SchemaContext:
    endpoint_id: str
    doc: Mapping[str, Any]
    models: dict[str, type[WireModel]] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> DocumentError:
        return DocumentError(self.endpoint_id, reason)

    def resolve(self, schema: Any, where: str) -> tuple[dict[str, Any], str | None]:
        """(the schema with its ``$ref`` chain followed, the last ref name or None). Sibling keys are kept."""
        ref_name = None
        seen: list[str] = []
        while isinstance(schema, Mapping) and "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith(_SCHEMA_PREFIX):
                raise self.fail(f"{where}: $ref {ref!r} is not a local reference")
            if ref in seen:
                raise self.fail(f"{where}: $ref cycle {' -> '.join([*seen, ref])}")
            seen.append(ref)
            target: Any = self.doc
            for part in ref[len(_SCHEMA_PREFIX) :].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise self.fail(f"{where}: $ref {ref!r} resolves nowhere")
                target = target[part]
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if isinstance(target, Mapping) else target
            ref_name = ref.rsplit("/", 1)[-1]
        if not isinstance(schema, Mapping):
            raise self.fail(f"{where}: schema is not an object")
        return dict(schema), ref_name


def schema_branches(schema: Mapping[str, Any], ctx: SchemaContext, where: str) -> tuple[list[dict[str, Any]], bool]:
    """The non-null branches of an ``anyOf``/``oneOf`` (nested ones flattened, ``allOf`` of one merged), nullable?"""
    out: list[dict[str, Any]] = []
    nullable = False
    pending: list[Any] = [schema]
    seen_refs: set[str] = set()
    steps = 0
    while pending:
        steps += 1
        current = pending.pop(0)
        if not isinstance(current, Mapping) or steps > MAX_UNION_STEPS:
            raise ctx.fail(f"{where}: an unreadable anyOf")
        union = current.get("anyOf") or current.get("oneOf")
        if union is not None and isinstance(union, list):
            pending[:0] = list(union)
            continue
        if "allOf" in current and isinstance(current["allOf"], list) and len(current["allOf"]) == 1:
            merged = {**current["allOf"][0], **{k: v for k, v in current.items() if k != "allOf"}}
            pending.insert(0, merged)
            continue
        if "$ref" in current:
            resolved, _ = ctx.resolve(current, where)
            if resolved.get("anyOf") or resolved.get("oneOf"):
                if str(current["$ref"]) in seen_refs:
                    raise ctx.fail(f"{where}: $ref cycle through {current['$ref']}")
                seen_refs.add(str(current["$ref"]))
                pending.insert(0, resolved)
                continue
            out.append({**current})  # keep the ref: nested models are named after it
            continue
        if current.get("type") == "null":
            nullable = True
            continue
        out.append(dict(current))
    return out, nullable


def _is_size_object(schema: Mapping[str, Any]) -> bool:
    props = schema.get("properties")
    return isinstance(props, Mapping) and {"width", "height"} <= set(props)


@dataclass(frozen=True)
class _Field:
    annotation: Any
    info: FieldInfo


def _number(
    schema: Mapping[str, Any], integer: bool, name: str, size_side: bool
) -> tuple[Any, dict[str, Any], list[str]]:
    kwargs: dict[str, Any] = {}
    chosen: list[str] = []
    low, high = schema.get("minimum"), schema.get("maximum")
    if "exclusiveMinimum" in schema and isinstance(schema["exclusiveMinimum"], (int, float)):
        kwargs["gt"] = schema["exclusiveMinimum"]
    elif low is not None:
        kwargs["ge"] = low
    if "exclusiveMaximum" in schema and isinstance(schema["exclusiveMaximum"], (int, float)):
        kwargs["lt"] = schema["exclusiveMaximum"]
    elif high is not None:
        kwargs["le"] = high
    if name == "seed" and integer:
        kwargs.setdefault("ge", 0)
        if "le" not in kwargs and "lt" not in kwargs:
            kwargs["le"] = SEED_MAX
            chosen.append(f"at most {SEED_MAX} (an unsigned 32-bit seed, as every endpoint here)")
    if size_side:
        if "ge" not in kwargs and "gt" not in kwargs:
            kwargs["ge"] = IMAGE_SIDE_MIN
            chosen.append(f"at least {IMAGE_SIDE_MIN} px")
        if "le" not in kwargs and "lt" not in kwargs:
            kwargs["le"] = IMAGE_SIDE_MAX
            chosen.append(f"at most {IMAGE_SIDE_MAX} px (fal's ImageSize)")
    limit: float = INT_ABS_MAX if integer else FLOAT_ABS_MAX
    if "ge" not in kwargs and "gt" not in kwargs:
        kwargs["ge"] = 0 if integer and name.startswith("num_") else -limit  # a count is never negative
        chosen.append(f"at least {kwargs['ge']:g}")
    if "le" not in kwargs and "lt" not in kwargs:
        kwargs["le"] = limit
        chosen.append(f"at most {limit:g}")
    return (int if integer else float), kwargs, chosen


class ModelConverter:
    def __init__(self, ctx: SchemaContext) -> None:
        self.ctx = ctx

    # --- models --------------------------------------------------------------------------------------------------

    def model(
        self, schema: Mapping[str, Any], name: str, where: str, size_object: bool = False, ref: str | None = None
    ) -> type[WireModel]:
        """A WireModel for an object schema: one per ``$ref`` (a shared item type is built once); inline objects
        each get their own, named after their parent and field."""
        ctx = self.ctx
        cache_key = f"{ref}|{size_object}" if ref else None
        if cache_key is not None and cache_key in ctx.models:
            return ctx.models[cache_key]
        if ref and ref in ctx.stack:
            raise ctx.fail(f"{where}: $ref cycle {' -> '.join([*ctx.stack, ref])}")
        if len(ctx.stack) >= MAX_DEPTH:
            raise ctx.fail(f"{where}: objects nested deeper than {MAX_DEPTH} levels")
        if not ref and ctx.stack:
            name = re.sub(r"\W", "_", ctx.stack[-1]) + camel_name(name)
        ctx.stack.append(ref or name)
        try:
            props = schema.get("properties")
            if not isinstance(props, Mapping) or not props:
                raise ctx.fail(f"{where}: an object without properties is not supported")
            order = [p for p in schema.get(_ORDER_KEY, ()) if p in props]
            order += [p for p in props if p not in order]
            required = set(schema.get("required", ()))
            fields: dict[str, Any] = {}
            for prop in order:
                if not prop.isidentifier() or keyword.iskeyword(prop) or prop.startswith("_"):
                    raise ctx.fail(f"{where}.{prop}: a field name that is not an identifier is not supported")
                if hasattr(GeneratedModel, prop):  # json, copy, model_dump...: would shadow the model's own
                    raise ctx.fail(f"{where}.{prop}: a field name that clashes with the model's methods")
                converted = self.field(prop, props[prop], prop in required, f"{where}.{prop}", size_object)
                fields[prop] = (converted.annotation, converted.info)
            model_name = re.sub(r"\W", "_", name) or "Item"
            model = create_model(model_name, __base__=GeneratedModel, **fields)
            model.__doc__ = str(schema.get("description") or schema.get("title") or model_name)
        finally:
            ctx.stack.pop()
        if cache_key is not None:
            ctx.models[cache_key] = model
        return cast(type[WireModel], model)

    # --- fields --------------------------------------------------------------------------------------------------

    def field(self, name: str, raw: Any, required: bool, where: str, size_object: bool = False) -> _Field:
        ctx = self.ctx
        if not isinstance(raw, Mapping):
            raise ctx.fail(f"{where}: schema is not an object")
        # a bare $ref: its target's description and default apply; the branch keeps the ref (models are per ref)
        prop, _ = ctx.resolve(raw, where) if "$ref" in raw and len(raw) == 1 else (dict(raw), None)
        branches, nullable = schema_branches(raw, ctx, where)
        default = prop.get("default")
        has_default = "default" in prop
        extra: dict[str, Any] = {}
        ui_field = (prop.get("ui") or {}).get("field") if isinstance(prop.get("ui"), Mapping) else None
        annotation, kwargs, chosen = self.type_of(name, branches, prop, where, ui_field, size_object, default)
        hints = list(kwargs.pop("x-ui", []))
        if name == "seed" and annotation is int:
            hints += [h for h in SEED_UI["x-ui"] if h not in hints]
        if name in ("image_size", "num_images", "aspect_ratio", "strength") and "basic" not in hints:
            hints.append("basic")
        if hints:
            extra["x-ui"] = hints
        if chosen:
            extra[BOUND_NOTE_KEY] = "chosen here, the document gives none: " + "; ".join(chosen)
        if nullable or (not required and not has_default):
            annotation = annotation | None
        examples = prop.get("examples")
        if has_default and default is not None:
            default = self._lenient_default(name, annotation, default, where)
        info_kwargs: dict[str, Any] = {
            "description": str(prop.get("description") or "").strip() or None,
            "title": prop.get("title") if isinstance(prop.get("title"), str) else None,
        }
        if isinstance(examples, list) and examples:
            info_kwargs["examples"] = examples
        if extra:
            info_kwargs["json_schema_extra"] = extra
        info_kwargs.update(kwargs)
        if required and not has_default:
            info = Field(**info_kwargs)
        elif isinstance(default, list) and not default:
            info = Field(default_factory=list, **info_kwargs)
        elif has_default:
            if isinstance(default, (dict, list)):  # an object default (a custom image size) becomes its model
                info_kwargs["validate_default"] = True
            info = Field(default, **info_kwargs)
        else:
            info = Field(None, **info_kwargs)
        return _Field(annotation, info)

    def _lenient_default(self, name: str, annotation: Any, default: Any, where: str) -> Any:
        """Documents can disagree with themselves (an enum of strings with an integer default): correct and say so."""
        literal = _literal_values(annotation)
        if not isinstance(default, (str, int, float)):  # a size object, a list: pydantic reads it as given
            return default
        if literal is not None and default not in literal:
            as_text = str(default)
            if as_text in literal:
                self.ctx.notes.append(f"{name}: the default {default!r} is not one of its choices; read as {as_text!r}")
                return as_text
            self.ctx.notes.append(f"{name}: the default {default!r} is not one of its choices; no default kept")
            return None
        return default

    def type_of(
        self,
        name: str,
        branches: list[dict[str, Any]],
        prop: Mapping[str, Any],
        where: str,
        ui_field: Any,
        size_object: bool,
        default: Any,
    ) -> tuple[Any, dict[str, Any], list[str]]:
        ctx = self.ctx
        if not branches:
            raise ctx.fail(f"{where}: no type")
        resolved = [ctx.resolve(b, where) for b in branches]
        enums = [s for s, _ in resolved if "enum" in s]
        objects = [(s, ref) for s, ref in resolved if _is_size_object(s)]
        if len(branches) == 2 and enums and objects:  # image_size: preset enum | ImageSize with its own bounds
            size_schema, ref = objects[0]
            size_model = self.model(size_schema, ref or "ImageSize", where, size_object=True, ref=ref)
            presets = Literal[tuple(str(v) for v in enums[0]["enum"])]  # type: ignore[valid-type]
            return presets | size_model, {}, []
        if len(branches) > 1:
            types = {s.get("type") for s, _ in resolved}
            if enums and types <= {"string", None}:
                # fal's "Enum | string" (an aspect ratio with free text allowed): the listed choices are offered
                values = tuple(dict.fromkeys(v for s in enums for v in s["enum"]))
                ctx.notes.append(f"{name}: the document also allows free text; the form offers the listed choices")
                return Literal[values], {}, []
            if types == {"string"}:
                resolved = resolved[:1]
            elif None not in types and len(types) == len(branches):
                # a number or a per-layer dictionary (a LoRA's scale), one URL or a list of them: each branch
                # keeps its own bounds
                members: list[Any] = []
                notes: list[str] = []
                for branch in branches:
                    inner, inner_kwargs, chosen = self.type_of(
                        name, [branch], branch, where, ui_field, size_object, default
                    )
                    inner_kwargs.pop("x-ui", None)
                    members.append(Annotated[inner, Field(**inner_kwargs)] if inner_kwargs else inner)
                    notes += chosen
                union: Any = members[0]
                for member in members[1:]:
                    union = union | member
                return union, {}, notes
            else:
                raise ctx.fail(f"{where}: a union of {' | '.join(str(t) for t in types)} is not supported")
        schema, ref = resolved[0]
        if "const" in schema:
            return Literal[schema["const"]], {}, []
        if "enum" in schema:
            values = tuple(schema["enum"])
            if not values:
                raise ctx.fail(f"{where}: an empty enum")
            return Literal[values], {}, []
        kind = schema.get("type")
        if kind in ("integer", "number"):
            return _number(schema, kind == "integer", name, size_object and name in ("width", "height"))
        if kind == "boolean":
            return bool, {}, []
        if kind == "string":
            return self.string(name, schema, ui_field)
        if kind == "array":
            return self.array(name, schema, where, ui_field)
        if kind == "object" or (kind is None and "properties" in schema):
            if schema.get("properties"):
                return self.model(schema, ref or camel_name(name), where, ref=ref), {}, []
            extra_values: Any = schema.get("additionalProperties")
            if extra_values is True or extra_values == {}:
                # values of any type: JSON scalars, each bounded like an undocumented field
                scalar = (
                    Annotated[float, Field(ge=-FLOAT_ABS_MAX, le=FLOAT_ABS_MAX)]
                    | Annotated[str, Field(max_length=SHORT_TEXT_MAX_CHARS)]
                    | bool
                )
                chosen = [
                    f"values: numbers within ±{FLOAT_ABS_MAX:g}, text of at most {SHORT_TEXT_MAX_CHARS} characters"
                ]
                return dict[_KEY, scalar], {"max_length": DICT_MAX_ENTRIES}, chosen
            if isinstance(extra_values, Mapping):
                inner, inner_kwargs, chosen = self.type_of(
                    name, [dict(extra_values)], extra_values, f"{where}{{}}", None, False, None
                )
                value: Any = Annotated[inner, Field(**inner_kwargs)] if inner_kwargs else inner
                return dict[_KEY, value], {"max_length": DICT_MAX_ENTRIES}, chosen
            raise ctx.fail(f"{where}: an object without properties is not supported")
        raise ctx.fail(f"{where}: type {kind!r} is not supported")

    def string(self, name: str, schema: Mapping[str, Any], ui_field: Any) -> tuple[Any, dict[str, Any], list[str]]:
        kwargs: dict[str, Any] = {}
        chosen: list[str] = []
        if "minLength" in schema:
            kwargs["min_length"] = schema["minLength"]
        image = ui_field == "image" or (ui_field is None and is_image_name(name))
        url_like = image or name.endswith(("_url", "_path")) or name in ("path", "url")
        if url_like:
            if "maxLength" in schema:
                kwargs["max_length"] = schema["maxLength"]
            if image:
                kwargs["x-ui"] = ["image"]
            return Annotated[str, AfterValidator(check_url_length)], kwargs, chosen
        maximum = schema.get("maxLength")
        if name.endswith("prompt"):
            kwargs["max_length"] = min(maximum, PROMPT_MAX_CHARS) if isinstance(maximum, int) else PROMPT_MAX_CHARS
            kwargs["x-ui"] = ["textarea"]
            if maximum is None:
                chosen.append(f"at most {PROMPT_MAX_CHARS} characters (the prompt limit)")
        else:
            kwargs["max_length"] = maximum if isinstance(maximum, int) else TEXT_MAX_CHARS
            if maximum is None:
                chosen.append(f"at most {TEXT_MAX_CHARS} characters")
        return str, kwargs, chosen

    def array(
        self, name: str, schema: Mapping[str, Any], where: str, ui_field: Any
    ) -> tuple[Any, dict[str, Any], list[str]]:
        items = schema.get("items")
        if where.count("[]") >= MAX_DEPTH:
            raise self.ctx.fail(f"{where}: lists nested deeper than {MAX_DEPTH} levels")
        if not isinstance(items, Mapping):
            raise self.ctx.fail(f"{where}: an array without items is not supported")
        item_branches, item_nullable = schema_branches(items, self.ctx, f"{where}[]")
        singular = name.removesuffix("s")
        item_name = name if is_image_name(name) else singular
        inner, inner_kwargs, chosen = self.type_of(item_name, item_branches, items, f"{where}[]", ui_field, False, None)
        hints = inner_kwargs.pop("x-ui", [])
        item = Annotated[inner, Field(**inner_kwargs)] if inner_kwargs else inner
        if item_nullable:
            item = item | None
        kwargs: dict[str, Any] = {}
        if "minItems" in schema:
            kwargs["min_length"] = schema["minItems"]
        if isinstance(schema.get("maxItems"), int):
            kwargs["max_length"] = schema["maxItems"]
        else:
            kwargs["max_length"] = LIST_MAX
            chosen = [*chosen, f"at most {LIST_MAX} items"]
        if "image" in hints:
            kwargs["x-ui"] = ["images"]
        return list[item], kwargs, chosen  # type: ignore[valid-type]


def camel_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) or "Item"


def _literal_values(annotation: Any) -> tuple[Any, ...] | None:
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    for arg in get_args(annotation):
        if get_origin(arg) is Literal:
            return get_args(arg)
    return None
