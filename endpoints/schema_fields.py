"""An input model's JSON schema as a list of field descriptors: which form kind edits each field, with what bounds.

Pure (no Gradio), so the choice of widget is testable as a table. The rules, read from ``model_json_schema()``:

- enum / const -> ``radio`` (at most 3 short choices) or ``dropdown``; an optional enum gets a leading "default"
  choice whose value ``""`` means "leave it out";
- integer / number with both minimum and maximum -> ``slider`` (``x-ui: number`` asks for a plain box instead, as
  for a seed), otherwise ``number``;
- boolean -> ``checkbox``;
- string -> ``image`` (``x-ui: image``), ``textarea`` (``x-ui: textarea``, or the field plays the endpoint's
  ``prompt`` or ``negative_prompt`` role), else ``text``;
- ``preset enum | {width, height}`` -> ``image_size``;
- array / object -> ``json``: a JSON editor, validated by the model. When the items (or the object) are objects,
  ``FieldSpec.items`` describes their fields too, and the form adds a row editor over the same JSON;
- anything else (``int | str``, ``Any``, a string with a ``format`` like date-time) -> ``UnsupportedFieldError``.

Inside list items (the row editor's fields) two more rules apply, because the nested models carry no form hints
yet: a string field named ``*image_url`` is an ``image`` (upload or URL), and a union of a number or text with a
dict or list (a LoRA's per-layer ``scale``, several ``fill_image_url``) is edited as its simple branch, with the
other branch named in ``FieldSpec.alternative`` (edited in the JSON view).

Advanced fields are grouped into sub-sections by an ``x-ui`` hint ``"group:<Name>"`` where the schema has one,
else by the field's role (``GROUP_OF_ROLE``: steps and guidance are "Sampling"), else by the table ``GROUP_OF``
below (keyed by field name, for fields no role covers; move it into the endpoints' hints when they carry them).

``spec_fields(spec)`` reads an endpoint's roles (``EndpointSpec.roles``); ``fields_of(model)`` alone knows none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

from endpoints.base import EndpointSpec, Role, model_schema
from endpoints.validation import ITEM_NAMES
from endpoints.validation import field_label as endpoint_label

Kind = Literal["text", "textarea", "dropdown", "radio", "slider", "number", "checkbox", "image", "image_size", "json"]

RADIO_MAX_CHOICES = 3
RADIO_MAX_CHOICE_LENGTH = 12
#: Label of the choice that leaves an optional enum (or image size) unset, so the provider's default applies.
DEFAULT_CHOICE_LABEL = "default"
CUSTOM_SIZE = "custom"

_TEXT_FORMATS = {None, "uri"}

#: Sub-sections of the "Advanced" section, in display order, and the fields they hold (a field's ``x-ui`` hint
#: ``"group:<Name>"`` wins). Advanced fields in no group go to "Other".
GROUPS: tuple[str, ...] = (
    "Sampling",
    "Prompt",
    "LoRAs and controls",
    "Reference image",
    "Inversion controls",
    "Output",
    "Other",
)
#: The sub-section of a field that plays a role (``EndpointSpec.roles``), whatever it is called.
GROUP_OF_ROLE: dict[Role, str] = {"steps": "Sampling", "guidance": "Sampling"}
#: Roles whose text is edited in a multi-line box.
TEXTAREA_ROLES: frozenset[Role] = frozenset({"prompt", "negative_prompt"})
GROUP_OF: dict[str, str] = {
    **dict.fromkeys(
        ("use_cfg_zero", "base_shift", "max_shift", "use_beta_schedule", "sigma_schedule", "scheduler"),
        "Sampling",
    ),
    **dict.fromkeys(("enhance_prompt", "prompt_upsampling"), "Prompt"),
    **dict.fromkeys(
        ("loras", "control_loras", "controlnets", "controlnet_unions", "easycontrols", "fill_image"),
        "LoRAs and controls",
    ),
    **dict.fromkeys(("reference_image_url", "reference_strength", "reference_start", "reference_end"), "Reference image"),
    **dict.fromkeys(
        ("controller_guidance_forward", "controller_guidance_reverse", "reverse_guidance_start",
         "reverse_guidance_end", "reverse_guidance_schedule"),
        "Inversion controls",
    ),
    **dict.fromkeys(("sync_mode", "output_format", "safety_tolerance", "enable_safety_checker"), "Output"),
}  # fmt: skip


class UnsupportedFieldError(TypeError):
    """A field the form builder has no widget for. Raised when the app is built, never silently skipped."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of an input model (or of a list item) and how the form edits it."""

    name: str
    kind: Kind
    label: str
    info: str
    required: bool
    default: Any  # the schema's default (``[]`` for a list built by default_factory; None when there is none)
    nullable: bool  # None is a valid value: leaving the widget empty omits the field
    basic: bool  # shown outside the "Advanced" section
    integer: bool = False
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[Any, ...] = ()  # enum values; image size presets (without "custom")
    template: Any = None  # json: one list item (arrays) or the object; image_size: the custom size's default
    is_array: bool = False
    group: str = ""  # the "Advanced" sub-section
    items: tuple[FieldSpec, ...] = ()  # json over objects: the fields of one item (or of the object)
    max_items: int | None = None
    alternative: str = ""  # list items only: the union's other JSON type ("object", "array"), edited as JSON

    @property
    def has_default(self) -> bool:
        """Whether leaving the field out is valid (the model supplies a default, possibly None)."""
        return not self.required

    @property
    def shown_label(self) -> str:
        """What the form labels it: an image's box takes an upload or a URL, so "Image", not "Image URL"."""
        return self.label.removesuffix(" URL") if self.kind == "image" else self.label

    @property
    def item_label(self) -> str:
        """What one row of a list is called: "LoRA" (the endpoints' ``ITEM_NAMES``), else the label made singular."""
        name = ITEM_NAMES.get(self.name)
        return name[:1].upper() + name[1:] if name else singular(self.label)

    def bounds_text(self) -> str:
        """``"1–50"``, ``"at least 0"``, or ``""``."""
        low, high = (_plain(b) for b in (self.minimum, self.maximum))
        if low is not None and high is not None:
            return f"{low}–{high}"
        if low is not None:
            return f"at least {low}"
        if high is not None:
            return f"at most {high}"
        return ""


def _plain(bound: float | None) -> float | int | None:
    return int(bound) if isinstance(bound, float) and bound.is_integer() else bound


def field_label(name: str) -> str:
    """A field's label: the endpoints' ``field_label`` (``loras`` -> ``LoRAs``, ``num_inference_steps`` -> ``Steps``)."""
    return endpoint_label(name)


def singular(label: str) -> str:
    """``LoRAs`` -> ``LoRA``, ``ControlNet unions`` -> ``ControlNet union``, ``Controls`` -> ``Control``."""
    return label[:-1] if label.endswith("s") and not label.endswith("ss") else label


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[-1]]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _type_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type_name(branch) for branch in schema["anyOf"])
    if "format" in schema:
        return f"{schema.get('type', 'any')} ({schema['format']})"
    return str(schema.get("type", "any"))


def template_for(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A ready-to-edit value for a schema: defaults where given, required fields filled with blanks."""
    schema = _resolve(schema, defs)
    if schema.get("default") is not None:
        return schema["default"]
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        return template_for(branches[0], defs) if branches else None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        required = set(schema.get("required", ()))
        return {
            key: template_for(prop, defs)
            for key, prop in schema.get("properties", {}).items()
            if key in required or prop.get("default") is not None
        }
    if kind == "array":
        return [template_for(schema["items"], defs)] if "items" in schema else []
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum")
        value = max(low, 0) if high is None or high >= 0 else low
        return int(value) if kind == "integer" else float(value)
    return {"string": "", "boolean": False}.get(str(kind))


def slider_step(minimum: float, maximum: float, integer: bool, value: Any = None) -> float:
    """1 for integers; for floats 0.01 over ranges up to 1, 0.05 up to 5, else 0.1 (finer if ``value`` needs it)."""
    if integer:
        return 1
    span = maximum - minimum
    candidates = [0.1, 0.05, 0.01, 0.001] if span > 5 else [0.05, 0.01, 0.001] if span > 1 else [0.01, 0.001]
    for step in candidates:
        points = [p for p in (minimum, value) if isinstance(p, (int, float))]
        if all(abs(p / step - round(p / step)) < 1e-6 for p in points):
            return step
    return candidates[-1]


def _is_image_size(branches: list[dict[str, Any]], defs: dict[str, Any]) -> bool:
    if len(branches) != 2:
        return False
    enums = [b for b in branches if "enum" in b and b.get("type") == "string"]
    objects = [_resolve(b, defs) for b in branches if "$ref" in b or b.get("type") == "object"]
    return bool(enums and objects and {"width", "height"} <= set(objects[0].get("properties", {})))


def _simple_branch(branches: list[dict[str, Any]], defs: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """For ``number | dict`` or ``string | list``: (the simple branch, the other branch's JSON type)."""
    if len(branches) != 2:
        return None
    resolved = [_resolve(b, defs) for b in branches]
    simple = [b for b in resolved if b.get("type") in ("integer", "number", "string")]
    other = [b for b in resolved if b.get("type") in ("object", "array")]
    if len(simple) == 1 and len(other) == 1:
        return simple[0], str(other[0]["type"])
    return None


def _group(name: str, hints: set[str], role: Role | None = None) -> str:
    for hint in hints:
        if hint.startswith("group:"):
            return hint.split(":", 1)[1]
    if role is not None and role in GROUP_OF_ROLE:
        return GROUP_OF_ROLE[role]
    return GROUP_OF.get(name, "Other")


def field_spec(
    name: str,
    prop: dict[str, Any],
    required: bool,
    defs: dict[str, Any],
    owner: str = "",
    nested: bool = False,
    role: Role | None = None,
) -> FieldSpec:
    """The descriptor of one property (``owner`` names the endpoint in errors; ``nested``: a list item's field;
    ``role``: the role the field plays on its endpoint, top-level fields only)."""
    hints = {h for h in prop.get("x-ui", ()) if isinstance(h, str)}
    branches = prop.get("anyOf", [prop])
    nullable = any(b.get("type") == "null" for b in branches) or (not required and prop.get("default", 0) is None)
    non_null = [b for b in branches if b.get("type") != "null"]
    has_default = "default" in prop
    default = prop.get("default")
    common: dict[str, Any] = {
        "name": name,
        "label": field_label(name),
        "info": prop.get("description", ""),
        "required": required,
        "nullable": nullable,
        "basic": "basic" in hints,
        "group": "" if nested else _group(name, hints, role),
    }
    where = f"{owner}.{name}" if owner else name

    def unsupported() -> UnsupportedFieldError:
        return UnsupportedFieldError(f"{where}: type {_type_name(prop)} is not supported by the form builder")

    if _is_image_size(non_null, defs):
        presets = next(b["enum"] for b in non_null if "enum" in b)
        size_schema = _resolve(next(b for b in non_null if "enum" not in b), defs)
        template = template_for(size_schema, defs)
        return FieldSpec(kind="image_size", default=default, choices=tuple(presets), template=template, **common)
    alternative = ""
    if len(non_null) != 1:
        split = _simple_branch(non_null, defs) if nested else None
        if split is None:
            raise unsupported()
        core, alternative = split
        common["alternative"] = alternative
    else:
        core = _resolve(non_null[0], defs)
    kind = core.get("type")

    if "enum" in core or "const" in core:
        choices = tuple(core["enum"]) if "enum" in core else (core["const"],)
        short = len(choices) <= RADIO_MAX_CHOICES and all(len(str(c)) <= RADIO_MAX_CHOICE_LENGTH for c in choices)
        return FieldSpec(kind="radio" if short else "dropdown", default=default, choices=choices, **common)
    if kind in ("integer", "number"):
        integer = kind == "integer"
        low, high = core.get("minimum"), core.get("maximum")
        if low is not None and high is not None and "number" not in hints:
            step = slider_step(low, high, integer, default)
            return FieldSpec(
                kind="slider", default=default, integer=integer, minimum=low, maximum=high, step=step, **common
            )
        return FieldSpec(
            kind="number", default=default, integer=integer, minimum=low, maximum=high, step=1 if integer else 0.01,
            **common,
        )
    if kind == "boolean":
        return FieldSpec(kind="checkbox", default=default, **common)
    if kind == "string" and core.get("format") in _TEXT_FORMATS:
        if "image" in hints or (nested and name.endswith("image_url")):
            text_kind: Kind = "image"
        elif "textarea" in hints or role in TEXTAREA_ROLES:
            text_kind = "textarea"
        else:
            text_kind = "text"
        return FieldSpec(kind=text_kind, default=default, **common)
    if kind in ("array", "object"):
        is_array = kind == "array"
        if is_array and not has_default and not required:
            default = []  # a list built by default_factory: the schema carries no default
        item = _resolve(core.get("items", {}), defs) if is_array else core
        items: tuple[FieldSpec, ...] = ()
        if item.get("type") == "object" and item.get("properties"):
            item_required = set(item.get("required", ()))
            items = tuple(
                field_spec(key, sub, key in item_required, defs, where, nested=True)
                for key, sub in item["properties"].items()
            )
        return FieldSpec(
            kind="json", default=default, template=template_for(item, defs), is_array=is_array, items=items,
            max_items=core.get("maxItems") if is_array else 1, **common,
        )
    raise unsupported()


def fields_of(model: type[BaseModel], owner: str = "", roles: Mapping[Role, str] | None = None) -> list[FieldSpec]:
    """Descriptors for every field of ``model``, in schema order; ``roles`` (role -> field name, as
    ``EndpointSpec.roles``) say what the fields mean. Raises UnsupportedFieldError."""
    schema = model_schema(model)
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    role_of = {name: role for role, name in (roles or {}).items()}
    return [
        field_spec(name, prop, name in required, defs, owner or model.__name__, role=role_of.get(name))
        for name, prop in schema.get("properties", {}).items()
    ]


@cache
def _spec_fields(spec: EndpointSpec) -> tuple[FieldSpec, ...]:
    return tuple(fields_of(spec.input_model, spec.api_name, spec.roles))


def spec_fields(spec: EndpointSpec) -> list[FieldSpec]:
    """``fields_of`` an endpoint's input model with its roles (computed once per endpoint)."""
    return list(_spec_fields(spec))


def layout_order(fields: list[FieldSpec]) -> tuple[list[FieldSpec], list[FieldSpec], list[FieldSpec]]:
    """(required, basic optional, advanced) — each in schema order."""
    required = [f for f in fields if f.required]
    basic = [f for f in fields if not f.required and f.basic]
    advanced = [f for f in fields if not f.required and not f.basic]
    return required, basic, advanced


def advanced_groups(advanced: list[FieldSpec]) -> list[tuple[str, list[FieldSpec]]]:
    """The advanced fields by sub-section: ``GROUPS`` order first, then any other group names in field order."""
    names = [g for g in GROUPS if any(f.group == g for f in advanced)]
    names += list(dict.fromkeys(f.group for f in advanced if f.group not in GROUPS))
    return [(name, [f for f in advanced if f.group == name]) for name in names]


def json_text(value: Any) -> str:
    """How a JSON editor shows a value: ``[]`` stays compact, anything else is indented."""
    if value is None:
        return ""
    if value == [] or value == {}:
        return json.dumps(value)
    return json.dumps(value, indent=2)
