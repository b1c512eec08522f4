"""The sweep's grid as one labelled image, its PNG with the sweep's parameters, and the cells as a ZIP.

Pure functions on PIL images and bytes (no I/O, no Gradio). Labels are drawn with a TrueType font sized from the
tile (never below ``MIN_FONT_PX``), wrapped to their column, so they stay legible on large grids: DejaVu Sans
where the system has it, else Pillow's bundled scalable font (Pillow ≥ 10.1). Characters a font lacks are drawn
as ASCII stand-ins (``×`` -> ``x``) rather than as empty boxes.
"""

from __future__ import annotations

import io
import json
import math
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from PIL import Image, ImageDraw, ImageFont, ImageOps, PngImagePlugin

MIN_FONT_PX = 14
DEFAULT_MAX_TILE = 768
DEFAULT_MIN_TILE = 256
PLACEHOLDER_TILE = 512
MIN_BUDGET_TILE = 32  # the smallest tile a pixel budget may shrink the grid to
SWEEP_CHUNK = "flux_playground_sweep"
PARAMETERS_CHUNK = "parameters"

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MUTED_INK = (70, 70, 70)
ERROR_INK = (185, 0, 0)
TILE_BACKDROP = (238, 238, 238)  # around an image that does not fill its tile
EMPTY_TILE = (200, 200, 200)  # a cell without an image: failed, stopped or not run

_FONT_FILES = {
    False: ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
    True: ("DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"),
}
_ASCII_STAND_INS = {"×": "x", "·": "-", "→": "->", "←": "<-", "—": "-", "–": "-", "…": "...", "⚠": "(!)", "≥": ">="}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class GridCell:
    """One tile of the grid: its position, the image if there is one, and the caption under it.

    A cell without an image (failed, stopped, not run) is a grey tile with its caption inside, in red when
    ``failed``.
    """

    x_index: int
    y_index: int
    image: Image.Image | bytes | Path | None = None  # a file is read only when its tile is drawn
    caption: str = ""
    failed: bool = False


def cell_caption(seed: int | None, nsfw: bool | None) -> str:
    """``seed 42 · NSFW: no`` (``?`` for what is not known)."""
    flag = "?" if nsfw is None else "yes" if nsfw else "no"
    return f"seed {seed if seed is not None else '?'} · NSFW: {flag}"


# --------------------------------------------------------------------------------------------------------------
# Fonts and text


@cache
def font(size: int, bold: bool = False) -> Font:
    """A TrueType font of ``size`` px (at least ``MIN_FONT_PX``)."""
    size = max(MIN_FONT_PX, int(size))
    for name in _FONT_FILES[bold]:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _rendered(f: Font, char: str) -> bytes:
    left, top, right, bottom = (int(v) for v in f.getbbox(char))
    glyph = Image.new("L", (max(1, right - left), max(1, bottom - top)))
    ImageDraw.Draw(glyph).text((-left, -top), char, font=f, fill=255)
    return repr(glyph.size).encode() + glyph.tobytes()


@cache
def _missing_glyph(f: Font) -> bytes:
    return _rendered(f, "\U000f0000")  # a private-use code point: no font draws it, so this is .notdef


@cache
def _has_glyph(f: Font, char: str) -> bool:
    return _rendered(f, char) != _missing_glyph(f)


def displayable(text: str, f: Font) -> str:
    """``text`` with the characters ``f`` cannot draw replaced by ASCII stand-ins (or ``?``)."""
    return "".join(char if char.isascii() or _has_glyph(f, char) else _stand_in(char) for char in text)


def _stand_in(char: str) -> str:
    if char in _ASCII_STAND_INS:
        return _ASCII_STAND_INS[char]
    base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()  # é -> e
    return base or "?"


def _width(text: str, f: Font) -> float:
    return f.getlength(text)


def wrap(text: str, f: Font, width: float, max_lines: int | None = None) -> list[str]:
    """Greedy word wrap to ``width`` px; words longer than a line are broken; an ellipsis marks cut text."""
    lines: list[str] = []
    for paragraph in displayable(text, f).split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if _width(candidate, f) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while _width(word, f) > width and len(word) > 1:
                cut = max(1, next((i for i in range(len(word), 0, -1) if _width(word[:i], f) <= width), 1))
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    if max_lines is not None and len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1]
        while last and _width(last + "...", f) > width:
            last = last[:-1]
        kept[-1] = last.rstrip() + "..."
        return kept
    return lines


def _line_height(f: Font) -> int:
    size = getattr(f, "size", MIN_FONT_PX)
    return math.ceil(size * 1.25)


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: Sequence[str],
    f: Font,
    box: tuple[int, int, int, int],
    fill: tuple[int, int, int],
    *,
    valign: str = "middle",
) -> None:
    """Lines centred horizontally in ``box`` (left, top, right, bottom), vertically per ``valign``."""
    left, top, right, bottom = box
    height = _line_height(f) * len(lines)
    y = top if valign == "top" else bottom - height if valign == "bottom" else top + (bottom - top - height) // 2
    for line in lines:
        x = left + (right - left - _width(line, f)) / 2
        draw.text((x, y), line, font=f, fill=fill)
        y += _line_height(f)


# --------------------------------------------------------------------------------------------------------------
# The grid


def _opened(image: Image.Image | bytes | Path) -> Image.Image:
    """The image, opened lazily (only its header is read until it is drawn)."""
    if isinstance(image, Image.Image):
        return image
    return Image.open(io.BytesIO(image) if isinstance(image, bytes) else image)


def _size_of(image: Image.Image | bytes | Path) -> tuple[int, int]:
    opened = _opened(image)
    try:
        return opened.size
    finally:
        if opened is not image:
            opened.close()


def _tile_image(image: Image.Image | bytes | Path, box: tuple[int, int]) -> Image.Image:
    """The image fitted into ``box`` (aspect kept), decoded no larger than needed: JPEGs at a reduced scale
    (``draft``), others shrunk right after decoding; a file opened here is closed before the next one."""
    opened = _opened(image)
    try:
        if opened is image or opened.width <= box[0] and opened.height <= box[1]:
            return ImageOps.contain(opened.convert("RGB"), box)  # the caller's image is left as it is
        opened.draft("RGB", box)
        opened.thumbnail(box)
        return opened.convert("RGB")
    finally:
        if opened is not image:
            opened.close()


def grid_pixels(layout: GridLayout) -> int:
    return layout.width * layout.height


def _tile_size(sizes: Sequence[tuple[int, int]], max_tile: int, min_tile: int) -> tuple[int, int]:
    if not sizes:
        side = max(min_tile, min(PLACEHOLDER_TILE, max_tile))
        return side, side
    width = max(w for w, _ in sizes)
    height = max(h for _, h in sizes)
    scale = min(1.0, max_tile / max(width, height))
    scale = max(scale, min_tile / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@dataclass(frozen=True)
class GridLayout:
    """Where everything goes on the grid, in pixels, with the label text already wrapped."""

    columns: int
    rows: int
    tile_w: int
    tile_h: int
    font_px: int
    pad: int
    gap: int
    label_col: int  # 0 without row labels
    title_lines: tuple[str, ...]
    title_h: int
    x_title_lines: tuple[str, ...]
    x_title_h: int
    column_lines: tuple[tuple[str, ...], ...]
    header_h: int
    row_lines: tuple[tuple[str, ...], ...]
    y_title_lines: tuple[str, ...]
    caption_h: int
    width: int
    height: int

    @property
    def grid_left(self) -> int:
        return self.pad + self.label_col

    @property
    def header_top(self) -> int:
        return self.pad + self.title_h + self.x_title_h

    @property
    def grid_top(self) -> int:
        return self.header_top + self.header_h

    @property
    def row_h(self) -> int:
        return self.tile_h + self.caption_h

    @property
    def grid_w(self) -> int:
        return self.columns * self.tile_w + (self.columns - 1) * self.gap

    def tile_box(self, x_index: int, y_index: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of a cell's tile, right and bottom exclusive."""
        left = self.grid_left + x_index * (self.tile_w + self.gap)
        top = self.grid_top + y_index * (self.row_h + self.gap)
        return left, top, left + self.tile_w, top + self.tile_h

    def fonts(self) -> tuple[Font, Font, Font, Font]:
        """(label, axis title, title, caption) fonts."""
        return _fonts(self.font_px)


def _fonts(size: int) -> tuple[Font, Font, Font, Font]:
    return font(size), font(size, bold=True), font(round(size * 1.3), bold=True), font(round(size * 0.85))


def _cells_by_position(cells: Sequence[GridCell], columns: int, rows: int) -> dict[tuple[int, int], GridCell]:
    if columns < 1:
        raise ValueError("a grid needs at least one column label")
    by_position: dict[tuple[int, int], GridCell] = {}
    for cell in cells:
        if not (0 <= cell.x_index < columns and 0 <= cell.y_index < rows):
            raise ValueError(f"cell ({cell.x_index}, {cell.y_index}) is outside the {columns} × {rows} grid")
        if (cell.x_index, cell.y_index) in by_position:
            raise ValueError(f"two cells at ({cell.x_index}, {cell.y_index})")
        by_position[(cell.x_index, cell.y_index)] = cell
    return by_position


def grid_layout(
    image_sizes: Sequence[tuple[int, int]],
    captions: Sequence[str],
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    *,
    title: str,
    x_title: str,
    y_title: str = "",
    max_tile: int = DEFAULT_MAX_TILE,
    min_tile: int = DEFAULT_MIN_TILE,
) -> GridLayout:
    """The layout ``draw_grid`` uses, from the cells' image sizes and image captions."""
    columns, rows = len(x_labels), max(1, len(y_labels))
    tile_w, tile_h = _tile_size(image_sizes, max_tile, min_tile)
    size = max(MIN_FONT_PX, round(min(tile_w, tile_h) / 20))
    pad, gap = max(6, size // 2), max(4, size // 3)
    label_font, axis_font, title_font, caption_font = _fonts(size)
    line = _line_height(label_font)

    # Row label column: as wide as the widest label needs, between 6 em and one tile.
    label_col = 0
    if y_labels:
        natural = max(_width(displayable(t, label_font), label_font) for t in [*y_labels, y_title])
        label_col = math.ceil(min(max(natural + 2 * pad, 6 * size), max(tile_w, 6 * size)))
    grid_w = columns * tile_w + (columns - 1) * gap
    width = pad + label_col + grid_w + pad

    title_lines = wrap(title, title_font, width - 2 * pad, max_lines=3) if title else []
    title_h = len(title_lines) * _line_height(title_font) + (pad if title_lines else 0)
    x_title_lines = wrap(x_title, axis_font, grid_w - 2 * pad, max_lines=2) if x_title else []
    column_lines = [tuple(wrap(t, label_font, tile_w - 2 * pad, max_lines=4)) for t in x_labels]
    row_lines = [tuple(wrap(t, label_font, label_col - 2 * pad, max_lines=6)) for t in y_labels]
    y_title_lines = wrap(y_title, axis_font, label_col - 2 * pad, max_lines=3) if y_labels and y_title else []
    caption_lines = max((len(wrap(c, caption_font, tile_w - 2 * pad, max_lines=2)) for c in captions if c), default=1)
    caption_h = caption_lines * _line_height(caption_font) + pad // 2
    header_h = max(len(lines) for lines in column_lines) * line + pad
    x_title_h = len(x_title_lines) * _line_height(axis_font)
    height = pad + title_h + x_title_h + header_h + rows * (tile_h + caption_h) + (rows - 1) * gap + pad
    return GridLayout(
        columns=columns, rows=rows, tile_w=tile_w, tile_h=tile_h, font_px=size, pad=pad, gap=gap,
        label_col=label_col, title_lines=tuple(title_lines), title_h=title_h, x_title_lines=tuple(x_title_lines),
        x_title_h=x_title_h, column_lines=tuple(column_lines), header_h=header_h, row_lines=tuple(row_lines),
        y_title_lines=tuple(y_title_lines), caption_h=caption_h, width=width, height=height,
    )


def draw_grid(
    cells: Sequence[GridCell],
    x_labels: Sequence[str],
    y_labels: Sequence[str],
    *,
    title: str,
    x_title: str,
    y_title: str = "",
    max_tile: int = DEFAULT_MAX_TILE,
    min_tile: int = DEFAULT_MIN_TILE,
    max_pixels: int | None = None,
) -> Image.Image:
    """The grid: a title line, the X axis title and a label over each column, the Y axis title and a label by
    each row, each cell's image fitted into an equal tile (aspect kept) with its caption under it.

    ``y_labels`` empty means one row and no row labels (a one-axis sweep). Tiles take the largest cell image's
    size, scaled so the longer side lies between ``min_tile`` and ``max_tile``; text is sized from the tile, never
    below ``MIN_FONT_PX``; with ``max_pixels``, tiles shrink (even below ``min_tile``) until the whole grid fits.
    Cell images (PIL images, bytes or file paths) are decoded one at a time, scaled to the tile as they are read,
    so memory holds the canvas and one cell. A cell without an image is a grey tile with its caption inside (red when failed); a
    position without a cell is a plain grey tile. Raises ValueError for a cell outside the grid or two cells at
    one position.
    """
    by_position = _cells_by_position(cells, len(x_labels), max(1, len(y_labels)))
    sources = {pos: c.image for pos, c in by_position.items() if c.image is not None}
    sizes = [_size_of(image) for image in sources.values()]  # headers only: nothing decoded yet
    captions = [by_position[pos].caption for pos in sources]
    layout = grid_layout(
        sizes, captions, x_labels, y_labels,
        title=title, x_title=x_title, y_title=y_title, max_tile=max_tile, min_tile=min_tile,
    )
    for _ in range(8):  # shrink the tiles until the whole grid fits the pixel budget
        if max_pixels is None or grid_pixels(layout) <= max_pixels:
            break
        side = max(layout.tile_w, layout.tile_h)
        smaller = max(MIN_BUDGET_TILE, math.floor(side * math.sqrt(max_pixels / grid_pixels(layout)) * 0.98))
        if smaller >= side:
            break
        layout = grid_layout(sizes, captions, x_labels, y_labels, title=title, x_title=x_title, y_title=y_title,
                             max_tile=smaller, min_tile=min(min_tile, smaller))
    if max_pixels is not None and grid_pixels(layout) > max_pixels:
        raise ValueError(f"a grid of {layout.columns} × {layout.rows} tiles does not fit {max_pixels:,} pixels")
    label_font, axis_font, title_font, caption_font = layout.fonts()
    pad, left_edge, grid_left, grid_top = layout.pad, layout.pad, layout.grid_left, layout.grid_top
    canvas = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)

    title_box = (pad, pad, layout.width - pad, pad + layout.title_h)
    _draw_lines(draw, layout.title_lines, title_font, title_box, INK, valign="top")
    x_title_box = (grid_left, pad + layout.title_h, grid_left + layout.grid_w, layout.header_top)
    _draw_lines(draw, layout.x_title_lines, axis_font, x_title_box, INK)
    y_title_box = (left_edge, pad + layout.title_h, left_edge + layout.label_col, grid_top - pad // 2)
    _draw_lines(draw, layout.y_title_lines, axis_font, y_title_box, INK, valign="bottom")
    for xi, lines in enumerate(layout.column_lines):
        left, _, right, _ = layout.tile_box(xi, 0)
        _draw_lines(draw, lines, label_font, (left, layout.header_top, right, grid_top - pad // 2), INK,
                    valign="bottom")
    for yi, lines in enumerate(layout.row_lines):
        _, top, _, bottom = layout.tile_box(0, yi)
        _draw_lines(draw, lines, label_font, (left_edge, top, left_edge + layout.label_col - pad, bottom), INK)

    tile_w, tile_h = layout.tile_w, layout.tile_h
    for yi in range(layout.rows):
        for xi in range(layout.columns):
            left, top, right, bottom = layout.tile_box(xi, yi)
            found = by_position.get((xi, yi))
            source = sources.get((xi, yi))
            if source is not None:
                fitted = _tile_image(source, (tile_w, tile_h))  # one cell decoded at a time
                draw.rectangle((left, top, right - 1, bottom - 1), fill=TILE_BACKDROP)
                canvas.paste(fitted, (left + (tile_w - fitted.width) // 2, top + (tile_h - fitted.height) // 2))
                if found is not None and found.caption:
                    caption = wrap(found.caption, caption_font, tile_w - 2 * pad, max_lines=2)
                    box = (left, bottom, right, bottom + layout.caption_h)
                    _draw_lines(draw, caption, caption_font, box, ERROR_INK if found.failed else MUTED_INK, valign="top")
                continue
            draw.rectangle((left, top, right - 1, bottom - 1), fill=EMPTY_TILE)
            if found is not None and found.caption:
                max_lines = max(1, (tile_h - 2 * pad) // _line_height(label_font))
                inside = wrap(found.caption, label_font, tile_w - 2 * pad, max_lines=max_lines)
                box = (left + pad, top + pad, right - pad, bottom - pad)
                _draw_lines(draw, inside, label_font, box, ERROR_INK if found.failed else MUTED_INK)
    return canvas


# --------------------------------------------------------------------------------------------------------------
# Files


def parameters_text(sweep_params: Mapping[str, Any]) -> str:
    """A readable summary of the sweep for the PNG's ``parameters`` chunk: the summary line, then ``key: value``."""
    lines = [str(sweep_params.get("summary") or "FLUX Playground sweep")]
    for key, value in sweep_params.items():
        if key in ("summary", "cells"):
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        lines.append(f"{key}: {shown}")
    return "\n".join(lines)


def grid_png(image: Image.Image, sweep_params: Mapping[str, Any], out: str | Path | IO[bytes] | None = None) -> bytes | None:
    """``image`` as PNG carrying the sweep: a readable ``parameters`` text chunk and the JSON in
    ``flux_playground_sweep`` (read back with ``Image.open(...).text``). Written to ``out`` (a path or binary
    file) when given, else returned as bytes."""
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMETERS_CHUNK, parameters_text(sweep_params))
    info.add_text(SWEEP_CHUNK, json.dumps(sweep_params, ensure_ascii=False, default=str), zip=True)
    if out is not None:
        image.save(out, format="PNG", pnginfo=info)
        return None
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _safe_name(name: str) -> str:
    parts = name.replace("\\", "/").split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{name!r} is not a safe name inside a ZIP")
    return name


def cells_zip(
    entries: Iterable[tuple[str, bytes]],
    *,
    sweep_json: Mapping[str, Any] | None = None,
    out: str | Path | IO[bytes] | None = None,
) -> bytes | None:
    """A ZIP of the cells' files (names given by the caller, each unique and relative), plus ``sweep.json`` at the
    root when given. Images are stored as they are (already compressed); JSON is deflated.

    ``entries`` may be a generator: each file is written as it comes, so with ``out`` (a path or binary file) the
    ZIP is streamed to disk holding one file in memory at a time; without ``out`` the bytes are returned. A bad
    or duplicate name raises ValueError (a partly written ``out`` is the caller's to remove).
    """
    seen = {"sweep.json"} if sweep_json is not None else set()
    stamp = time.localtime()[:6]
    buffer = io.BytesIO() if out is None else None
    target: str | Path | IO[bytes] = buffer if buffer is not None else out  # type: ignore[assignment]
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries:
            if _safe_name(name) in seen:
                raise ValueError(f"duplicate names in the ZIP: {name}")
            seen.add(name)
            compress = zipfile.ZIP_DEFLATED if name.endswith((".json", ".txt")) else zipfile.ZIP_STORED
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data, compress_type=compress)
        if sweep_json is not None:
            text = json.dumps(sweep_json, ensure_ascii=False, indent=2, default=str)
            archive.writestr(zipfile.ZipInfo("sweep.json", date_time=stamp), text, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue() if buffer is not None else None
