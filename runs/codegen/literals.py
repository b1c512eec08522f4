"""Values as literals of each language the snippets are written in: Python literals, JSON for JavaScript, and
for shell a quoted here-document or ``shlex.quote``. Comments get the same treatment: nothing a record holds can
end a comment line and start code (``comment_text``)."""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Mapping
from typing import Any

HEREDOC = "JSON"


def python_literal(value: Any, level: int = 0) -> str:
    """A Python expression equal to the JSON value ``value`` (``ast.literal_eval`` reads it back)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, str):
        text = repr(value)  # escapes what is not printable (control and bidi characters) as well as quotes
        if text[0] == "'" and '"' not in value and "'" not in value:
            text = '"' + text[1:-1] + '"'
        return text
    if isinstance(value, list | tuple):
        items = [python_literal(v, level + 1) for v in value]
        return _container("[", "]", items, level)
    if isinstance(value, Mapping):
        items = [f"{python_literal(str(k))}: {python_literal(v, level + 1)}" for k, v in value.items()]
        return _container("{", "}", items, level)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _container(open_: str, close: str, items: list[str], level: int) -> str:
    if not items:
        return open_ + close
    flat = open_ + ", ".join(items) + close
    if len(flat) + 4 * level <= 88 and "\n" not in flat:
        return flat
    pad = "    " * (level + 1)
    return open_ + "\n" + "".join(f"{pad}{item},\n" for item in items) + "    " * level + close


def json_text(value: Any, indent: int | None = 2) -> str:
    """JSON that keeps readable text as is but escapes what is not printable (control and bidi characters, line
    and paragraph separators, lone surrogates) as ``\\uXXXX``, so the code shows what it sends."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return "".join(c if c.isprintable() or c == "\n" else _json_escape(c) for c in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def js_literal(value: Any, indent: int = 0) -> str:
    """A JavaScript expression equal to the JSON value, laid out as ``json.dumps(indent=2)`` does.

    JSON is a JavaScript literal once U+2028/9 are escaped, but for one key: in an object literal ``"__proto__":``
    sets the prototype instead of making a property (and a number there is dropped), so that key is written as
    the computed ``["__proto__"]:``, which makes an ordinary property as ``JSON.parse`` would.
    """
    if isinstance(value, Mapping | list | tuple) and value:
        pad = " " * (indent + 2)
        if isinstance(value, Mapping):
            items = [f"{pad}{_js_key(str(k))}: {js_literal(v, indent + 2)}" for k, v in value.items()]
            open_, close = "{", "}"
        else:
            items = [f"{pad}{js_literal(v, indent + 2)}" for v in value]
            open_, close = "[", "]"
        return open_ + "\n" + ",\n".join(items) + "\n" + " " * indent + close
    return json_text(value, indent=None)


def _js_key(key: str) -> str:
    text = json_text(key, indent=None)
    return f"[{text}]" if key == "__proto__" else text


def sh_quote(text: str, what: str) -> str:
    """``shlex.quote``, refusing a NUL, which no shell argument or script can carry (``what`` names the value)."""
    if "\0" in text:
        raise ValueError(f"{what} holds a NUL character, which a shell argument cannot carry")
    return shlex.quote(text)


def heredoc_json(value: Any) -> str:
    """JSON for a quoted here-document: the shell expands nothing inside it."""
    text = json_text(value)
    if HEREDOC in text.splitlines():  # cannot happen: JSON strings hold no raw newline, so no line is bare text
        raise ValueError("the JSON body would end the here-document early")
    return text


def comment_text(text: str) -> str:
    """Text that stays on its comment line in any language: every character that is not printable (line
    terminators \\n, \\r, U+2028/9 and the rest, NUL, other controls, bidi controls) becomes a ``\\uXXXX`` escape."""
    return "".join(c if c.isprintable() else _json_escape(c) for c in text)


def comment_literal(value: Any) -> str:
    """A value named in a JavaScript or shell comment: a JSON string, escaped like ``json_text``, on one line."""
    return comment_text(json.dumps(value, ensure_ascii=False))


def python_comment_literal(value: Any) -> str:
    """A value named in a Python comment: its ``repr``, on one line."""
    return comment_text(python_literal(value))
