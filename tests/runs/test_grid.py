"""The labelled grid image, its PNG metadata and the cells' ZIP (pure Pillow; no network)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from PIL import Image, ImageFont

from runs import grid
from runs.grid import (
    EMPTY_TILE,
    ERROR_INK,
    MIN_FONT_PX,
    PARAMETERS_CHUNK,
    SWEEP_CHUNK,
    TILE_BACKDROP,
    GridCell,
    cell_caption,
    cells_zip,
    displayable,
    draw_grid,
    grid_layout,
    grid_png,
    wrap,
)

COLOURS = [(230, 30, 30), (30, 200, 30), (30, 30, 230), (230, 200, 0), (200, 0, 200), (0, 190, 190)]
X_LABELS = [f"num_inference_steps = {v}" for v in (10, 20, 30, 40)]
Y_LABELS = ["guidance_scale = 2", "guidance_scale = 3.5"]
FAILED = "ValidationFailed: num_inference_steps: must be between 1 and 50"


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def four_by_two() -> list[GridCell]:
    """Six images (one portrait, some as bytes), a failed cell and a stopped one."""
    cells: list[GridCell] = []
    for i, colour in enumerate(COLOURS):
        size = (768, 1024) if i == 3 else (1024, 768)
        image = Image.new("RGB", size, colour)
        cells.append(GridCell(i % 4, i // 4, png_bytes(image) if i % 2 else image, cell_caption(40 + i, i == 2)))
    cells.append(GridCell(2, 1, None, FAILED, failed=True))
    cells.append(GridCell(3, 1, None, "stopped"))
    return cells


def draw(cells: list[GridCell], **kw) -> Image.Image:
    options = {"title": "FLUX.1 [pro] · a cat · 8 jobs (4 × 2)", "x_title": "num_inference_steps",
               "y_title": "guidance_scale", "max_tile": 512, **kw}
    return draw_grid(cells, X_LABELS, Y_LABELS, **options)


def layout_for(cells: list[GridCell], **kw) -> grid.GridLayout:
    sizes = [grid._size_of(c.image) for c in cells if c.image is not None]
    captions = [c.caption for c in cells if c.image is not None]
    options = {"title": "FLUX.1 [pro] · a cat · 8 jobs (4 × 2)", "x_title": "num_inference_steps",
               "y_title": "guidance_scale", "max_tile": 512, **kw}
    return grid_layout(sizes, captions, X_LABELS, Y_LABELS, **options)


def colour_count(image: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, int, int]) -> int:
    return sum(count for count, c in image.crop(box).getcolors(1 << 20) or [] if c == colour)


def test_a_4_by_2_grid_has_equal_tiles_labels_and_the_expected_size() -> None:
    cells = four_by_two()
    image = draw(cells)
    layout = layout_for(cells)
    # the largest image sides (1024 wide, 1024 high) scaled so the longer side is max_tile
    assert (layout.tile_w, layout.tile_h) == (512, 512)
    assert (layout.columns, layout.rows) == (4, 2)
    assert image.size == (layout.width, layout.height)
    assert image.width == layout.pad + layout.label_col + 4 * 512 + 3 * layout.gap + layout.pad
    assert layout.label_col > 0 and layout.title_h > 0 and layout.header_h > 0
    assert layout.font_px >= MIN_FONT_PX

    # each image sits in its own tile: the tile's centre is its colour, and no other tile holds it
    for i, colour in enumerate(COLOURS):
        left, top, right, bottom = layout.tile_box(i % 4, i // 4)
        assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) == colour
        for j in range(len(COLOURS)):
            if j != i:
                assert colour_count(image, layout.tile_box(j % 4, j // 4), colour) == 0
    # contain, aspect kept: a 4:3 image leaves bands above and below, the portrait one bands at the sides
    left, top, right, bottom = layout.tile_box(0, 0)
    assert image.getpixel(((left + right) // 2, top + 2)) == TILE_BACKDROP
    assert colour_count(image, layout.tile_box(0, 0), COLOURS[0]) == 512 * 384
    left, top, right, bottom = layout.tile_box(3, 0)
    assert image.getpixel((left + 2, (top + bottom) // 2)) == TILE_BACKDROP
    assert colour_count(image, layout.tile_box(3, 0), COLOURS[3]) == 384 * 512


def test_failed_and_stopped_cells_are_grey_tiles_with_their_text() -> None:
    cells = four_by_two()
    image = draw(cells)
    layout = layout_for(cells)
    failed = layout.tile_box(2, 1)
    stopped = layout.tile_box(3, 1)
    assert image.getpixel((failed[0] + 2, failed[1] + 2)) == EMPTY_TILE
    assert colour_count(image, failed, ERROR_INK) > 50  # the error text, in red
    assert image.getpixel((stopped[0] + 2, stopped[1] + 2)) == EMPTY_TILE
    assert colour_count(image, stopped, ERROR_INK) == 0
    text = [c for c in image.crop(stopped).getcolors(1 << 20) or [] if c[1] != EMPTY_TILE]
    assert text, "the word 'stopped' is drawn in the tile"


def test_labels_and_captions_are_drawn_outside_the_tiles() -> None:
    cells = four_by_two()
    image = draw(cells)
    layout = layout_for(cells)

    def dark(box: tuple[int, int, int, int]) -> int:
        return sum(n for n, c in image.crop(box).getcolors(1 << 20) or [] if isinstance(c, tuple) and max(c) < 120)

    left, top, right, bottom = layout.tile_box(1, 0)
    assert dark((left, layout.header_top, right, top)) > 30  # the column label
    assert dark((left, bottom, right, bottom + layout.caption_h)) > 30  # "seed 41 · NSFW: no"
    assert dark((layout.pad, top, layout.grid_left, bottom)) > 30  # the row label
    assert dark((0, 0, image.width, layout.pad + layout.title_h)) > 30  # the title
    assert layout.column_lines[0] == ("num_inference_steps = 10",)


def test_one_axis_grid_has_no_row_labels() -> None:
    cells = [GridCell(i, 0, Image.new("RGB", (64, 64), COLOURS[i]), cell_caption(i, False)) for i in range(4)]
    image = draw_grid(cells, X_LABELS, [], title="seeds", x_title="seed")
    layout = grid_layout([(64, 64)] * 4, [c.caption for c in cells], X_LABELS, [], title="seeds", x_title="seed")
    assert layout.label_col == 0 and layout.rows == 1
    assert (layout.tile_w, layout.tile_h) == (256, 256)  # small images are scaled up to min_tile
    assert image.size == (layout.width, layout.height)
    left, top, right, bottom = layout.tile_box(2, 0)
    assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) == COLOURS[2]


def test_large_grids_keep_labels_legible_and_wrap_long_ones() -> None:
    labels = [f"endpoint = [pro] Depth Fine-tuned ⚠ number {i} with a long label" for i in range(8)]
    cells = [GridCell(x, y, Image.new("RGB", (300, 300), COLOURS[(x + y) % 6])) for x in range(8) for y in range(8)]
    layout = grid_layout([(300, 300)] * 64, [], labels, labels, title="t", x_title="endpoint", y_title="endpoint",
                         max_tile=256)
    assert layout.font_px == MIN_FONT_PX
    assert all(len(lines) > 1 for lines in layout.column_lines)
    f = grid.font(layout.font_px)
    assert all(f.getlength(line) <= layout.tile_w - 2 * layout.pad for lines in layout.column_lines for line in lines)
    image = draw_grid(cells, labels, labels, title="t", x_title="endpoint", y_title="endpoint", max_tile=256)
    assert image.size == (layout.width, layout.height)


def test_positions_are_checked() -> None:
    with pytest.raises(ValueError, match=r"cell \(4, 0\) is outside the 4 × 2 grid"):
        draw_grid([GridCell(4, 0)], X_LABELS, Y_LABELS, title="", x_title="")
    with pytest.raises(ValueError, match=r"two cells at \(0, 0\)"):
        draw_grid([GridCell(0, 0), GridCell(0, 0)], X_LABELS, Y_LABELS, title="", x_title="")
    # a position without a cell is a plain grey tile
    image = draw_grid([], X_LABELS, Y_LABELS, title="", x_title="")
    layout = grid_layout([], [], X_LABELS, Y_LABELS, title="", x_title="")
    left, top, right, bottom = layout.tile_box(1, 1)
    assert image.getpixel(((left + right) // 2, (top + bottom) // 2)) == EMPTY_TILE


def test_missing_glyphs_become_ascii_and_wrap_breaks_long_words() -> None:
    aileron = ImageFont.load_default(size=20)  # Pillow's bundled font: no ×, no ⚠
    assert displayable("1024×768 ⚠ café", aileron) == "1024x768 (!) caf" + displayable("é", aileron)
    assert displayable("é", aileron) in ("é", "e")
    f = grid.font(20)
    lines = wrap("x" * 200, f, 100)
    assert len(lines) > 1 and all(f.getlength(line) <= 100 for line in lines)
    assert wrap("one two three four five six", f, 60, max_lines=2)[-1].endswith("...")


def test_the_bundled_font_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grid, "_FONT_FILES", {False: ("no-such-font.ttf",), True: ("no-such-font.ttf",)})
    grid.font.cache_clear()
    try:
        fallback, bundled = grid.font(30), ImageFont.load_default(size=30)
        assert isinstance(fallback, ImageFont.FreeTypeFont) and isinstance(bundled, ImageFont.FreeTypeFont)
        assert fallback.getname() == bundled.getname()
        image = draw(four_by_two())
        assert image.width > 4 * 512
    finally:
        grid.font.cache_clear()


def test_grid_png_embeds_the_sweep_parameters() -> None:
    params = {
        "summary": "8 jobs (4 × 2) · est. $0.40 · about 25 s",
        "endpoint_id": "fal-ai/flux-pro",
        "x": {"field": "num_inference_steps", "values": [10, 20, 30, 40]},
        "y": {"field": "guidance_scale", "values": [2.0, 3.5]},
        "cells": [{"x": 10, "y": 2.0, "input": {"prompt": "a cat — in a hat"}}],
    }
    data = grid_png(draw(four_by_two()), params)
    opened = Image.open(io.BytesIO(data))
    assert opened.format == "PNG"
    text = opened.text  # type: ignore[attr-defined]
    assert json.loads(text[SWEEP_CHUNK]) == params
    readable = text[PARAMETERS_CHUNK]
    assert readable.splitlines()[0] == "8 jobs (4 × 2) · est. $0.40 · about 25 s"
    assert "endpoint_id: fal-ai/flux-pro" in readable
    assert 'x: {"field": "num_inference_steps", "values": [10, 20, 30, 40]}' in readable
    assert "cells" not in readable


def test_cells_zip_holds_the_files_and_sweep_json() -> None:
    entries = [("cells/x0_y0_seed40.png", b"\x89PNG one"), ("cells/x1_y0_seed41.jpg", b"\xff\xd8 two")]
    data = cells_zip(entries, sweep_json={"id": "abc", "summary": "2 jobs"})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["cells/x0_y0_seed40.png", "cells/x1_y0_seed41.jpg", "sweep.json"]
        assert archive.read("cells/x1_y0_seed41.jpg") == b"\xff\xd8 two"
        assert json.loads(archive.read("sweep.json")) == {"id": "abc", "summary": "2 jobs"}
        assert archive.getinfo("cells/x0_y0_seed40.png").compress_type == zipfile.ZIP_STORED
        assert archive.testzip() is None
    with zipfile.ZipFile(io.BytesIO(cells_zip(entries))) as archive:
        assert "sweep.json" not in archive.namelist()


@pytest.mark.parametrize("name", ["../evil.png", "/abs.png", "a//b.png", "", "cells/./x.png"])
def test_cells_zip_refuses_unsafe_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a safe name"):
        cells_zip([(name, b"x")])


def test_cells_zip_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="duplicate names in the ZIP: a.png"):
        cells_zip([("a.png", b"1"), ("a.png", b"2")])
    with pytest.raises(ValueError, match="sweep.json"):
        cells_zip([("sweep.json", b"{}")], sweep_json={})


def test_a_pixel_budget_shrinks_the_tiles_until_the_grid_fits() -> None:
    cells = [GridCell(x, y, Image.new("RGB", (1024, 1024), COLOURS[x])) for x in range(4) for y in range(2)]
    free = draw(cells, max_tile=768)
    assert free.width * free.height > 2_000_000
    fitted = draw(cells, max_tile=768, max_pixels=2_000_000)
    assert fitted.width * fitted.height <= 2_000_000 and fitted.width > 4 * 128


def test_cell_files_are_decoded_one_at_a_time_at_tile_size(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A grid of large JPEG files: each is opened when its tile is drawn, decoded at a reduced scale (draft),
    and closed before the next, so memory holds the canvas and one cell, never every cell at full size."""
    paths = []
    for i in range(8):
        path = tmp_path / f"cell{i}.jpg"
        Image.new("RGB", (2048, 2048), COLOURS[i % 6]).save(path, "JPEG", quality=80)
        paths.append(path)
    open_now, most_open, decoded = 0, 0, []
    original_open, original_load = Image.open, Image.Image.load

    def tracking_open(fp, *args, **kwargs):
        nonlocal open_now, most_open
        image = original_open(fp, *args, **kwargs)
        open_now += 1
        most_open = max(most_open, open_now)
        image.info["tracked"] = True
        close = image.close

        def closing() -> None:
            nonlocal open_now
            open_now -= 1
            close()

        image.close = closing  # type: ignore[method-assign]
        return image

    def tracking_load(self: Image.Image):
        result = original_load(self)
        if self.info.get("tracked"):
            decoded.append(self.size)
        return result

    monkeypatch.setattr(grid.Image, "open", tracking_open)
    monkeypatch.setattr(grid.Image.Image, "load", tracking_load)
    cells = [GridCell(i % 4, i // 4, path, cell_caption(i, False)) for i, path in enumerate(paths)]
    image = draw(cells, max_tile=256)
    assert most_open == 1 and open_now == 0
    assert decoded and max(w for w, _ in decoded) <= 512, decoded  # JPEG draft: decoded at 1/4 scale at most
    assert image.getpixel(layout_for(cells, max_tile=256).tile_box(1, 0)[:2]) != (255, 255, 255)


def test_the_zip_is_streamed_to_its_file_one_entry_at_a_time(tmp_path) -> None:
    target = tmp_path / "cells.zip"
    sizes: list[int] = []

    def entries():
        for i in range(4):
            sizes.append(target.stat().st_size if target.exists() else 0)
            yield f"cell{i}.png", bytes([i]) * 100_000

    assert cells_zip(entries(), sweep_json={"id": "abc"}, out=target) is None
    assert sizes[1] >= 100_000 and sizes[3] >= 300_000  # earlier cells were on disk before the next was made
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == ["cell0.png", "cell1.png", "cell2.png", "cell3.png", "sweep.json"]
        assert archive.read("cell2.png") == b"\x02" * 100_000
