"""Deterministic synthetic images: the same inputs give the same bytes, and every image says it is synthetic.

Text to image: a smooth colour field whose palette and shapes come from a hash of (prompt, seed, index).
Depth: the control image's blurred luminance as depth shading, with its edges drawn in, colour-mapped with the
seeded palette. On top come the effects of the other parameters (sandbox/effects.py reads them off the endpoint's
schema): a variation for changed parameters without an effect of their own, a texture per LoRA, a layer per
conditioning image (structure, edges or colours), contrast for guidance and finish for steps. Image to image: the
input blended with that picture by ``strength`` (0 keeps the input). Flagged images are black.

Every image carries the "SANDBOX · synthetic" mark in the top-left corner, under it a legend of the parameters
that differ from the endpoint's defaults, and at the bottom the prompt and a caption (seed, image, steps).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

from sandbox import patterns

SANDBOX_MARK = "SANDBOX · synthetic"
LEGEND_PREFIX = "changed: "  # ASCII: the fallback bitmap font has no "≠"
MAX_LEGEND_LINES = 3
RenderMode = Literal["text", "image", "depth"]
ImageFormat = Literal["jpeg", "png"]
LayerKind = Literal["structure", "edges", "colour"]
CONTENT_TYPES: dict[str, str] = {"jpeg": "image/jpeg", "png": "image/png"}


@dataclass(frozen=True)
class Texture:
    """A LoRA-like influence: a texture keyed by ``key``, as strong as ``weight`` (0 = none, negative inverts)."""

    key: str
    weight: float


@dataclass(frozen=True)
class Layer:
    """A conditioning image and how it shapes the picture (``weight`` 0 = not at all; negative inverts it)."""

    image: Image.Image = field(compare=False)
    kind: LayerKind
    weight: float
    key: str = ""  # identifies the image (its reference) for equality


@dataclass(frozen=True)
class RenderSpec:
    prompt: str
    seed: int
    index: int
    width: int
    height: int
    mode: RenderMode = "text"
    source: Image.Image | None = field(default=None, compare=False)  # RGB; required for image and depth modes
    strength: float = 1.0  # image mode: 0 keeps the input, 1 is all pattern
    flagged: bool = False
    caption: str = ""  # one extra line under the prompt, e.g. "seed 42 · image 1 of 2"
    contrast: float = 1.0  # guidance relative to the default: >1 more contrast and saturation
    finish: float = 1.0  # steps relative to the default: <1 soft and grainy, >1 sharper
    variation: str = ""  # key of the changed parameters without an effect of their own ("" = none)
    textures: tuple[Texture, ...] = ()
    layers: tuple[Layer, ...] = ()
    legend: tuple[str, ...] = ()  # "name=value" items, drawn under the mark


@dataclass(frozen=True)
class Rendered:
    image: Image.Image
    legend_lines: tuple[str, ...]  # the legend exactly as drawn (wrapped), empty when there is none


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _legend_lines(spec: RenderSpec, font_size: int) -> list[str]:
    if not spec.legend:
        return []
    chars = max(16, int(spec.width / (font_size * 0.55)))
    return textwrap.wrap(LEGEND_PREFIX + " · ".join(spec.legend), chars, max_lines=MAX_LEGEND_LINES, placeholder=" …")


def _overlay_text(image: Image.Image, lines: list[str], legend: list[str], legend_size: int) -> Image.Image:
    width, height = image.size
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    mark_font = _font(max(10, min(width, height) // 36))
    left, top, right, bottom = draw.textbbox((0, 0), SANDBOX_MARK, font=mark_font)
    pad = max(3, (bottom - top) // 3)
    mark_bottom = bottom + 2 * pad
    draw.rectangle((0, 0, right - left + 3 * pad, mark_bottom), fill=(0, 0, 0, 190))
    draw.text((pad + pad // 2 - left, pad), SANDBOX_MARK, font=mark_font, fill=(255, 255, 255, 255))
    if legend:
        font = _font(legend_size)
        line_height = int(font.getbbox("Ag")[3] * 1.25) if hasattr(font, "getbbox") else 12
        legend_bottom = mark_bottom + line_height * len(legend) + pad
        draw.rectangle((0, mark_bottom, width, legend_bottom), fill=(0, 0, 0, 140))
        for i, line in enumerate(legend):
            draw.text(
                (pad + pad // 2, mark_bottom + pad // 2 + i * line_height), line, font=font, fill=(255, 236, 150, 240)
            )
    if lines:
        font = _font(max(11, min(width, height) // 30))
        line_height = int((font.getbbox("Ag")[3]) * 1.3) if hasattr(font, "getbbox") else 14
        band_top = height - line_height * len(lines) - 2 * pad
        draw.rectangle((0, band_top, width, height), fill=(0, 0, 0, 150))
        for i, line in enumerate(lines):
            draw.text((2 * pad, band_top + pad + i * line_height), line, font=font, fill=(255, 255, 255, 235))
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def _text_lines(spec: RenderSpec) -> list[str]:
    if spec.flagged:
        lines = ["Blacked out: flagged by the sandbox safety checker"]
    else:
        chars = max(12, int(spec.width / (max(11, min(spec.width, spec.height) // 30) * 0.55)))
        prompt = " ".join(spec.prompt.split()) or "(no prompt)"
        lines = textwrap.wrap(prompt, chars, max_lines=3, placeholder=" …")
    return lines + ([spec.caption] if spec.caption else [])


def _picture(spec: RenderSpec) -> np.ndarray:
    """The synthetic picture before the input blend: base, variation, textures, layers, contrast, finish."""
    size = (spec.width, spec.height)
    generator = patterns.rng(spec.prompt, spec.seed, spec.index)
    if spec.mode == "depth" and spec.source is not None:
        pixels = patterns.depth_shading(spec.source, generator, *size)
        pixels = 0.85 * pixels + 0.15 * patterns.colour_field(generator, *size)
        pixels = patterns.edges_layer(pixels, spec.source, 0.4)
    else:
        pixels = patterns.colour_field(generator, *size)
    if spec.variation:
        pixels = patterns.variation(pixels, spec.variation)
    for texture in spec.textures:
        pixels = patterns.stripes(pixels, texture.key, texture.weight)
    for number, layer in enumerate(spec.layers):
        if layer.kind == "edges":
            pixels = patterns.edges_layer(pixels, layer.image, layer.weight)
        elif layer.kind == "colour":
            pixels = patterns.colour_layer(pixels, layer.image, layer.weight)
        else:
            layer_rng = patterns.rng(spec.prompt, spec.seed, spec.index, "layer", number)
            pixels = patterns.structure_layer(pixels, layer.image, layer_rng, layer.weight)
    pixels = patterns.contrast(pixels, spec.contrast)
    return patterns.finish(pixels, spec.finish, patterns.rng(spec.prompt, spec.seed, spec.index, "grain"))


def render(spec: RenderSpec) -> Rendered:
    """The synthetic image for ``spec`` (RGB, ``spec.width`` x ``spec.height``) and the legend lines drawn on it."""
    size = (spec.width, spec.height)
    if spec.flagged:
        pixels = np.zeros((spec.height, spec.width, 3), dtype=np.float32)
    else:
        pixels = _picture(spec)
        if spec.mode == "image" and spec.source is not None:
            source = ImageOps.fit(spec.source.convert("RGB"), size, Image.Resampling.BICUBIC)
            strength = float(np.clip(spec.strength, 0.0, 1.0))
            pixels = (1 - strength) * (np.asarray(source, dtype=np.float32) / 255) + strength * pixels
    image = Image.fromarray(np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")
    legend_size = max(9, min(spec.width, spec.height) // 42)
    legend = [] if spec.flagged else _legend_lines(spec, legend_size)
    return Rendered(_overlay_text(image, _text_lines(spec), legend, legend_size), tuple(legend))


def render_image(spec: RenderSpec) -> Image.Image:
    """``render(spec).image``."""
    return render(spec).image


def placeholder_image(key: str, width: int = 1024, height: int = 768) -> Image.Image:
    """A deterministic stand-in (derived from ``key``, e.g. a URL) for an input the sandbox cannot fetch."""
    # No text on it: it is an *input*, blended into the output, where its own band would ghost through the
    # output's caption. The job's log says that a placeholder was used.
    field_pixels = patterns.colour_field(patterns.rng("placeholder", key), width, height)
    return Image.fromarray((field_pixels * 255).astype(np.uint8), "RGB")


def encode_image(image: Image.Image, fmt: ImageFormat) -> bytes:
    """Fixed encoder settings and no metadata, so equal images give equal bytes."""
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=3)
    else:
        image.save(buffer, "JPEG", quality=90, optimize=False, progressive=False)
    return buffer.getvalue()
