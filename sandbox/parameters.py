"""An endpoint input read generically off its pydantic model: every leaf value with its path and its default.

The renderer's legend ("what differs from the defaults") and its effects (sandbox/effects.py) are both built from
these leaves, so a field added to an endpoint model shows up in the legend and changes the picture without any
change here. Nested models and lists of models are walked (``loras[0].scale``); a ``{width, height}`` model is one
leaf (``300x200``). Image fields — the ``image`` UI hint, or a name ending in ``image``/``image_url(s)`` — are
marked, since the picture shows them instead of the legend.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

Loc = tuple[str | int, ...]
_IMAGE_NAME = re.compile(r"(^|_)image(_urls?)?$")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: The default of a field that has none.
REQUIRED: Any = _Required()


def path_text(loc: Loc) -> str:
    """``("loras", 0, "scale")`` -> ``loras[0].scale``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def is_image_field(name: str, info: FieldInfo) -> bool:
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    hints = extra.get("x-ui") or []
    return (isinstance(hints, list) and ("image" in hints or "images" in hints)) or bool(_IMAGE_NAME.search(name))


def _is_size(value: Any) -> bool:
    return isinstance(value, BaseModel) and set(type(value).model_fields) == {"width", "height"}


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value.strip()[:8].lower().startswith(("http://", "https://", "data:"))


def format_value(value: Any) -> str:
    """A short, stable spelling for legends: ``5``, ``0.75``, ``true``, ``300x200``, a URL's last segment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    if _is_size(value):
        return f"{value.width}x{value.height}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, BaseModel):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value) + "}"
    if is_url(value):
        if value.strip().lower().startswith("data:"):
            return "data-uri"
        tail = urllib.parse.urlsplit(value).path.rstrip("/").rsplit("/", 1)[-1] or urllib.parse.urlsplit(value).netloc
        return tail[:32]
    return str(value)


@dataclass(frozen=True)
class Leaf:
    """One value of the input: where it is, which model holds it, and the field's default there."""

    loc: Loc
    value: Any
    default: Any  # REQUIRED when the field has none
    info: FieldInfo
    owner: BaseModel  # the model instance holding the field (the payload or a nested item)
    owner_loc: Loc

    @property
    def name(self) -> str:
        return str(self.loc[-1])

    @property
    def path(self) -> str:
        return path_text(self.loc)

    @property
    def is_image(self) -> bool:
        return is_image_field(self.name, self.info)

    @property
    def changed(self) -> bool:
        """Differs from the default (a required field always counts), and says something (not None or '')."""
        if self.value is None or self.value == "" or self.value == []:
            return False
        return self.default is REQUIRED or self.value != self.default

    def text(self) -> str:
        return f"{self.path}={format_value(self.value)}"

    def described(self) -> str:
        """``guidance_scale=5 (default 3.5)``."""
        default = "" if self.default is REQUIRED else f" (default {format_value(self.default)})"
        return self.text() + default


def leaves(model: BaseModel, loc: Loc = ()) -> Iterator[Leaf]:
    """Every leaf of ``model`` in field order, nested models and lists of models walked."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        here = (*loc, name)
        if isinstance(value, BaseModel) and not _is_size(value):
            yield from leaves(value, here)
        elif isinstance(value, list) and value and all(isinstance(item, BaseModel) for item in value):
            for index, item in enumerate(value):
                yield from leaves(item, (*here, index))
        else:
            default = REQUIRED if info.is_required() else info.get_default(call_default_factory=True)
            yield Leaf(here, value, default, info, model, loc)


def image_refs(leaf: Leaf) -> list[str]:
    """The image references a leaf holds (one, or several for a list field)."""
    values = leaf.value if isinstance(leaf.value, list) else [leaf.value]
    return [value for value in values if isinstance(value, str) and value.strip()]
