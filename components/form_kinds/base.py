"""What a form kind is: one object per widget kind that builds its components, reads submitted values into the
model's input and writes a model value back into component values.

Values travel keyed by field name, plus the kind's helper keys (``image_url__link``); ``write`` returns exactly the
keys ``read`` takes, so ``read(field, write(field, v)) == v`` for every valid ``v`` (the round trip Restore, share
links and "Use as input" rely on).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from endpoints.schema_fields import FieldSpec

if TYPE_CHECKING:
    import gradio as gr

#: http(s) URLs and data: URIs are sent as they are; anything else in a URL box is refused.
URL_PREFIXES = ("http://", "https://", "data:")


class _Omit:
    """Leave the field out of the model input (the model default applies)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()


class FieldProblem(ValueError):
    """A submitted value that cannot be (entirely) read. ``problems`` are ``(where, rule)``: ``where`` is ``""`` for the
    field itself or a suffix such as ``"[0].path"`` for a list item; the form prefixes the field's name."""

    def __init__(self, rule: str = "", *, problems: Sequence[tuple[str, str]] = (), value: Any = None) -> None:
        self.problems: list[tuple[str, str]] = [("", rule)] if rule else list(problems)
        #: What could be read despite the problems (a list with an empty row), so the model checks the rest of it;
        #: ``OMIT`` (the default) when nothing could.
        self.value = OMIT if value is None else value
        super().__init__("; ".join(f"{where}: {rule}" if where else rule for where, rule in self.problems))

    def messages(self, name: str) -> list[str]:
        return [f"{name}{where}: {rule}" for where, rule in self.problems]


@dataclass
class FieldWidget:
    """One schema field and the components that edit it."""

    name: str
    kind: str
    component: gr.Component  # the component whose value is this field's API parameter
    extra: dict[str, gr.Component] = field(default_factory=dict)  # helpers whose values ``write`` sets
    ui_keys: tuple[str, ...] = ()  # keys of ``extra`` the run handler also takes (an image's URL box)
    #: Display components whose text follows the field's values in the browser (an image's "Will send" line), each
    #: with its text for ``write()``'s values: set with them when a form is filled at once (the example).
    shown: Sequence[tuple[gr.Component, Callable[[Mapping[str, Any]], Any]]] = ()


class FieldKind:
    """Base of the form kinds. Subclasses set ``name`` and implement ``build``, ``read`` and ``write``.

    - ``build(field, value, elem_id)`` renders the components into the open Blocks, showing ``value`` (a model
      value; ``None`` for "nothing yet"). The API component's server-side value is what the API reports as the
      parameter's default, so the form passes the model default here, never an example.
    - ``read(field, values)`` -> the model input for the field, or ``OMIT``; raises ``FieldProblem``.
    - ``write(field, value)`` -> component values (keyed ``field.name`` + ``helper_keys``) that show ``value``.
    - ``helper_keys(field)`` -> the keys besides ``field.name`` that ``write`` returns and ``read`` may take.
    - ``ui_keys(field)`` -> the helper keys the run event takes as inputs (API parameters beside the field's own).
    """

    name: str = ""  # set on the class, or per instance by kinds that come in variants (choice, text)

    def build(self, field: FieldSpec, value: Any, elem_id: str) -> FieldWidget:
        raise NotImplementedError

    def read(self, field: FieldSpec, values: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def write(self, field: FieldSpec, value: Any) -> dict[str, Any]:
        raise NotImplementedError

    def helper_keys(self, field: FieldSpec) -> tuple[str, ...]:
        return ()

    def ui_keys(self, field: FieldSpec) -> tuple[str, ...]:
        return ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def is_url(value: str) -> bool:
    return value.startswith(URL_PREFIXES)


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def whole(value: Any) -> Any:
    """28.0 -> 28; anything else unchanged (28.5 is left for the model to reject)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: The deepest JSON any field takes: the schemas nest four levels at most (a list of objects holding lists of
#: objects); deeper text is refused by field before anything recurses into it.
MAX_JSON_DEPTH = 16
TOO_DEEP = f"is nested too deeply (at most {MAX_JSON_DEPTH} levels of lists and objects)"


def depth_of(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply lists and dicts nest in ``value`` (a scalar is 0), counted without recursion; stops counting
    once past ``limit`` (returns ``limit + 1``)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            level += 1
            if level > limit:
                return limit + 1
            deepest = max(deepest, level)
            stack.extend((child, level) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json_text(value: str) -> Any:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise FieldProblem(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:  # Python's parser gives up at ~1,000 levels
        raise FieldProblem(TOO_DEEP) from None
    if depth_of(parsed) > MAX_JSON_DEPTH:
        raise FieldProblem(TOO_DEEP)
    return parsed


def upload_path(value: Any) -> str | None:
    """The local path of an upload as a handler receives it (a path, or a FileData-like dict from a direct call)."""
    if isinstance(value, Mapping):
        value = value.get("path") or value.get("url")
    if isinstance(value, Path):
        value = str(value)
    return None if blank(value) else str(value)
