"""Pydantic validation errors as messages a person can act on: ``steps: must be between 15 and 50``."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("loras", 0, "scale")`` -> ``loras[0].scale``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "input"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation such as ``list[LoraWeight]`` or ``Preset | ImageSize | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _field_bounds(model: type[BaseModel] | None, loc: tuple[int | str, ...]) -> tuple[Any, Any]:
    """The (lower, upper) bounds declared on the (possibly nested) field at ``loc``, if any."""
    names = [part for part in loc if isinstance(part, str)]
    info = None
    for i, name in enumerate(names):
        if model is None or name not in model.model_fields:
            return None, None
        info = model.model_fields[name]
        if i < len(names) - 1:
            nested = _models_in(info.annotation)
            model = next((m for m in nested if names[i + 1] in m.model_fields), None)
    if info is None:
        return None, None
    lower = upper = None
    for meta in info.metadata:
        for attr in ("ge", "gt"):
            if getattr(meta, attr, None) is not None:
                lower = getattr(meta, attr)
        for attr in ("le", "lt"):
            if getattr(meta, attr, None) is not None:
                upper = getattr(meta, attr)
    return lower, upper


def _rule(error: dict[str, Any], model: type[BaseModel] | None) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        lower, upper = _field_bounds(model, tuple(error["loc"]))
        if lower is not None and upper is not None:
            return f"must be between {lower} and {upper}"
        bound = next(iter(ctx.values()), "?")
        return {
            "greater_than_equal": f"must be at least {bound}",
            "less_than_equal": f"must be at most {bound}",
            "greater_than": f"must be greater than {bound}",
            "less_than": f"must be less than {bound}",
        }[kind]
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')}"
    if kind == "extra_forbidden":
        return "is not a field of this endpoint"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s)"
    if kind in {"int_parsing", "int_from_float", "int_type"}:
        return "must be a whole number"
    if kind in {"float_parsing", "float_type"}:
        return "must be a number"
    if kind == "string_type":
        return "must be text"
    if kind in {"bool_parsing", "bool_type"}:
        return "must be true or false"
    message: str = error.get("msg", "is invalid")
    return message[0].lower() + message[1:] if message else "is invalid"


def _collapse_union_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A union (e.g. image_size: preset | {width, height}) reports one error per branch; keep one per field.

    Branch errors carry the branch's tag inside ``loc`` (``image_size.literal[...]``,
    ``image_size.ImageSize.width``); prefer the most specific (deepest) one.
    """
    kept: dict[str, dict[str, Any]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        clean = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p[:1].isupper())))
        key = field_path(clean[:1]) if len(clean) != len(loc) else field_path(loc)
        error = {**error, "loc": clean}
        if key not in kept or len(clean) > len(kept[key]["loc"]):
            kept[key] = error
    return list(kept.values())


def describe_validation_error(exc: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """One ``field: rule`` line per problem."""
    errors = _collapse_union_errors(exc.errors(include_url=False))
    return [f"{field_path(tuple(e['loc']))}: {_rule(e, model)}" for e in errors]


def to_fal_detail(exc: ValidationError) -> list[dict[str, Any]]:
    """The same errors in fal's 422 ``detail`` shape (used by the sandbox)."""
    return [
        {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"], **({"ctx": e["ctx"]} if e.get("ctx") else {})}
        for e in exc.errors(include_url=False, include_input=False)
    ]
