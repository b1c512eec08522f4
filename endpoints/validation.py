"""Pydantic validation errors as messages a person can act on.

Two renderings of the same errors:

- ``describe_validation_error`` — machine paths, as the API and the providers' errors spell them:
  ``steps: must be between 15 and 50``, ``loras[0].scale: must be a number``;
- ``describe_for_people`` — the form's words: ``LoRA 1 → scale: must be a number``, ``Guidance scale: must be a
  finite number``. Top-level fields take their form label (``field_label``); list items are numbered from 1 under
  a singular name; nested keys stay as typed in the JSON editor; levels are joined by arrows.

Either way a union (``scale`` is a number or a per-layer dictionary; ``image_size`` a preset or a size) reports
one problem, from the branch that got furthest, instead of one per branch with the branch's tag in the path.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeGuard, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

# --- labels ----------------------------------------------------------------------------------------------------

_ACRONYMS = {"url": "URL", "cfg": "CFG", "id": "ID", "nsfw": "NSFW"}

#: Form labels that humanising the field name gets wrong.
FIELD_LABELS: dict[str, str] = {
    "loras": "LoRAs",
    "control_loras": "Control LoRAs",
    "controlnets": "ControlNets",
    "controlnet_unions": "ControlNet unions",
    "easycontrols": "EasyControls",
    "fill_image": "Fill image",
    "num_inference_steps": "Steps",
}

#: What one item of a list field is called (``loras[0]`` -> "LoRA 1"); nested lists are lower-case, as typed.
ITEM_NAMES: dict[str, str] = {
    "loras": "LoRA",
    "control_loras": "Control LoRA",
    "controlnets": "ControlNet",
    "controlnet_unions": "ControlNet union",
    "controls": "control",
    "easycontrols": "EasyControl",
}

_MAX_NAME_CHARS = 40  # names taken from the input (unknown fields, dictionary keys) are cut to this in messages


def humanise(name: str) -> str:
    """``num_images`` -> ``Num images``; ``image_url`` -> ``Image URL``."""
    words = [_ACRONYMS.get(word, word) for word in name.split("_") if word]
    if not words:
        return name
    first = words[0]
    return " ".join([first if first.isupper() else first.capitalize(), *words[1:]])


def field_label(name: str) -> str:
    """The label a form shows for a field: ``loras`` -> ``LoRAs``, ``guidance_scale`` -> ``Guidance scale``."""
    return FIELD_LABELS.get(name) or humanise(name)


def _shown(name: object) -> str:
    """A name from the input, safe to put in a message: valid text (lone surrogates escaped), not too long."""
    text = str(name).encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= _MAX_NAME_CHARS else text[: _MAX_NAME_CHARS - 1] + "…"


# --- error locations -------------------------------------------------------------------------------------------

StepKind = Literal["field", "index", "key", "key_name"]


@dataclass(frozen=True)
class _Step:
    kind: StepKind  # a model field, a list index, a dictionary key, or a dictionary key that is itself invalid
    value: str | int


@dataclass(frozen=True)
class _Location:
    steps: tuple[_Step, ...]
    unions: tuple[tuple[tuple[_Step, ...], str], ...]  # each union passed: (where it is, the branch's tag)
    lower: Any = None
    upper: Any = None


def field_path(loc: Sequence[int | str]) -> str:
    """``("loras", 0, "scale")`` -> ``loras[0].scale``. Takes the location as given (see ``machine_path``)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "input"


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` and ``| None``; returns the core type and the constraints met on the way."""
    metadata: list[Any] = []
    while True:
        if get_origin(annotation) is Annotated:
            core, *extras = get_args(annotation)
            for extra in extras:
                metadata.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
            annotation = core
            continue
        if _is_union(annotation):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation, metadata


def _is_model(annotation: Any) -> TypeGuard[type[BaseModel]]:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _branch(union: Any, tag: str) -> Any:
    """The member of ``union`` that pydantic's branch tag names (``ImageSize``, ``dict[...]``, ``float``...)."""
    members = [a for a in get_args(union) if a is not type(None)]
    cores = [_unwrap(m)[0] for m in members]
    containers = {"dict[": dict, "list[": list, "literal[": Literal}
    for prefix, origin in containers.items():
        if tag.startswith(prefix):
            return next((m for m, c in zip(members, cores, strict=True) if get_origin(c) is origin), None)
    for member, core in zip(members, cores, strict=True):
        if _is_model(core) and core.__name__ == tag:
            return member
    scalars = [m for m, c in zip(members, cores, strict=True) if not _is_model(c) and get_origin(c) is None]
    return scalars[0] if scalars else None


_SCALAR_TAGS = {"str", "int", "float", "bool", "bytes", "none", "dict", "list"}


def _looks_like_tag(part: str) -> bool:
    """Without a model to read, guess pydantic's branch tags: ``literal[...]``, ``ImageSize``, ``float``."""
    return "[" in part or part[:1].isupper() or part in _SCALAR_TAGS or part.startswith(("constrained-", "function-"))


def _locate(model: type[BaseModel] | None, loc: Sequence[int | str]) -> _Location:
    """Walk ``loc`` through ``model``'s annotations: real steps, union branches passed, the bounds at the end."""
    steps: list[_Step] = []
    unions: list[tuple[tuple[_Step, ...], str]] = []
    current: Any = model
    metadata: list[Any] = []
    for part in loc:
        if part == "[key]" and steps:  # pydantic's marker: the dictionary key before it is itself invalid
            steps[-1] = _Step("key_name", steps[-1].value)
            current, metadata = None, []
            continue
        core = _unwrap(current)[0] if current is not None else None
        origin = get_origin(core)
        if _is_model(core):
            fields = core.model_fields
            steps.append(_Step("field", part))
            info = fields.get(part) if isinstance(part, str) else None
            current, metadata = (info.annotation, list(info.metadata)) if info else (None, [])
        elif core is not None and _is_union(core):
            unions.append((tuple(steps), str(part)))
            current, metadata = _branch(core, str(part)), []
        elif origin in (list, tuple, set, frozenset) and isinstance(part, int):
            steps.append(_Step("index", part))
            current, metadata = (get_args(core) or (None,))[0], []
        elif origin in (dict, Mapping) and isinstance(part, str):
            steps.append(_Step("key", part))
            args = get_args(core)
            current, metadata = (args[1] if len(args) == 2 else None), []
        elif isinstance(part, int):
            steps.append(_Step("index", part))
            current, metadata = None, []
        elif core is None and _looks_like_tag(part):
            unions.append((tuple(steps), part))
        else:
            steps.append(_Step("field", part))
            current, metadata = None, []
    lower = upper = None
    if current is not None:
        for meta in [*metadata, *_unwrap(current)[1]]:
            for attr in ("ge", "gt"):
                if getattr(meta, attr, None) is not None:
                    lower = getattr(meta, attr)
            for attr in ("le", "lt"):
                if getattr(meta, attr, None) is not None:
                    upper = getattr(meta, attr)
    return _Location(tuple(steps), tuple(unions), lower, upper)


def _machine(steps: Sequence[_Step]) -> str:
    out = ""
    for step in steps:
        if step.kind == "index":
            out += f"[{step.value}]"
        else:
            name = _shown(step.value)
            out += f".{name}" if out else name
    return out or "input"


def _people(steps: Sequence[_Step]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(steps):
        step, top = steps[i], i == 0
        following = steps[i + 1] if i + 1 < len(steps) else None
        if step.kind == "field" and following is not None and following.kind == "index":
            name = str(step.value)
            item = ITEM_NAMES.get(name) or (f"{field_label(name)} item" if top else f"{_shown(name)} item")
            parts.append(f"{item} {int(following.value) + 1}")
            i += 2
            continue
        if step.kind == "field":
            parts.append(field_label(_shown(step.value)) if top else _shown(step.value))
        elif step.kind == "index":
            parts.append(f"item {int(step.value) + 1}")
        elif step.kind == "key":
            parts.append(_shown(step.value))
        else:
            parts.append(f'name "{_shown(step.value)}"')
        i += 1
    return " → ".join(parts) or "input"


def machine_path(loc: Sequence[int | str], model: type[BaseModel] | None = None) -> str:
    """A pydantic error location as the API spells it, branch tags left out: ``loras[0].scale``."""
    return _machine(_locate(model, loc).steps)


def people_path(loc: Sequence[int | str], model: type[BaseModel] | None = None) -> str:
    """A pydantic error location in the form's words: ``("loras", 0, "scale", "float")`` -> ``LoRA 1 → scale``."""
    return _people(_locate(model, loc).steps)


# --- rules -----------------------------------------------------------------------------------------------------


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rule(error: Mapping[str, Any], where: _Location, people: bool) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        if where.lower is not None and where.upper is not None:
            return f"must be between {_number(where.lower)} and {_number(where.upper)}"
        bound = _number(next(iter(ctx.values()), "?"))
        return {
            "greater_than_equal": f"must be at least {bound}",
            "less_than_equal": f"must be at most {bound}",
            "greater_than": f"must be greater than {bound}",
            "less_than": f"must be less than {bound}",
        }[kind]
    if kind == "extra_forbidden":
        nested = len(where.steps) > 1
        return "is not a known field here" if people and nested else "is not a field of this endpoint"
    if kind in {"too_long", "too_short"}:
        count = ctx.get("max_length" if kind == "too_long" else "min_length")
        unit = "entries" if ctx.get("field_type") == "Dictionary" else "item(s)"
        return f"takes at {'most' if kind == 'too_long' else 'least'} {count} {unit}"
    if kind in {"string_too_long", "url_too_long"}:
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '?')}"
    simple = _SIMPLE_RULES.get(kind)
    if simple:
        return simple
    message: str = error.get("msg", "is invalid")
    return message[0].lower() + message[1:] if message else "is invalid"


#: Rules that need no context.
_SIMPLE_RULES: dict[str, str] = {
    "missing": "is required",
    "finite_number": "must be a finite number",
    "invalid_text": "contains characters that are not valid text",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "int_parsing_size": "is too large",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "string_unicode": "contains characters that are not valid text",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


# --- collapsing union branches ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Located:
    error: Mapping[str, Any]
    where: _Location


def _collapse(items: list[_Located], level: int = 0) -> list[_Located]:
    """Per union site, keep only the errors of the branch that got furthest.

    Furthest: the deepest error; then a branch whose input had the right type (``too_long`` beats ``float_type``
    for a dictionary given as a LoRA scale); then the first branch tried (a string for ``scale`` fails both as a
    number and as a dictionary, and reads "must be a number").
    """
    order: list[_Located | tuple[_Step, ...]] = []
    groups: dict[tuple[_Step, ...], list[_Located]] = {}
    for item in items:
        if len(item.where.unions) <= level:
            order.append(item)
            continue
        site = item.where.unions[level][0]
        if site not in groups:
            groups[site] = []
            order.append(site)
        groups[site].append(item)
    out: list[_Located] = []
    for entry in order:
        if isinstance(entry, _Located):
            out.append(entry)
            continue
        group = groups[entry]
        score: dict[str, tuple[int, bool]] = {}
        for item in group:
            tag = item.where.unions[level][1]
            depth, fits = score.get(tag, (-1, False))
            score[tag] = (max(depth, len(item.where.steps)), fits or not str(item.error["type"]).endswith("_type"))
        best = max(score, key=lambda tag: score[tag])  # max() keeps the first of equals
        out.extend(_collapse([i for i in group if i.where.unions[level][1] == best], level + 1))
    return out


def _describe(exc: ValidationError, model: type[BaseModel] | None, people: bool) -> list[str]:
    located = [_Located(e, _locate(model, tuple(e["loc"]))) for e in exc.errors(include_url=False)]
    render = _people if people else _machine
    lines: list[str] = []
    for item in _collapse(located):
        line = f"{render(item.where.steps)}: {_rule(item.error, item.where, people)}"
        if line not in lines:
            lines.append(line)
    return lines


def describe_validation_error(exc: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """One ``path: rule`` line per problem, with machine paths (``loras[0].scale: must be a number``)."""
    return _describe(exc, model, people=False)


def describe_for_people(exc: ValidationError, model: type[BaseModel] | None = None) -> list[str]:
    """One ``place: rule`` line per problem, in the form's words (``LoRA 1 → scale: must be a number``)."""
    return _describe(exc, model, people=True)


# --- the sandbox's 422 -----------------------------------------------------------------------------------------


def _json_safe(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _json_safe(str(value))


def to_fal_detail(exc: ValidationError) -> list[dict[str, Any]]:
    """The same errors in fal's 422 ``detail`` shape (used by the sandbox); always JSON-encodable."""
    detail = []
    for e in exc.errors(include_url=False, include_input=False):
        item: dict[str, Any] = {"loc": ["body", *map(_json_safe, e["loc"])], "msg": e["msg"], "type": e["type"]}
        if e.get("ctx"):
            item["ctx"] = {key: _json_safe(value) for key, value in e["ctx"].items()}
        detail.append(item)
    return detail
