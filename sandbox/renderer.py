"""Deterministic synthetic images: the same inputs give the same bytes, and every image says it is synthetic.

Text to image: a smooth colour field whose palette and shapes come from a hash of (prompt, seed, index), with the
prompt written on it. Image to image: the input blended toward that field by ``strength`` (0 = the input).
Depth: a blurred-luminance depth shading of the control image, colour-mapped with the seeded palette.
Flagged images are black. All carry the "SANDBOX · synthetic" mark in the top-left corner.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import textwrap
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

SANDBOX_MARK = "SANDBOX · synthetic"
RenderMode = Literal["text", "image", "depth"]
ImageFormat = Literal["jpeg", "png"]
CONTENT_TYPES: dict[str, str] = {"jpeg": "image/jpeg", "png": "image/png"}
_FIELD_SIDE = 192  # the colour field is computed at this size, then smoothly upscaled


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


def _rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def _palette(rng: np.random.Generator, n: int = 4) -> np.ndarray:
    base_hue = rng.uniform()
    colours = []
    for i in range(n):
        hue = (base_hue + i * rng.uniform(0.08, 0.3)) % 1.0
        colours.append(colorsys.hsv_to_rgb(hue, rng.uniform(0.45, 0.95), rng.uniform(0.55, 1.0)))
    return np.asarray(colours, dtype=np.float32)


def _colour_field(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth HxWx3 float field in [0, 1]: a tilted gradient, soft blobs and a faint ripple."""
    scale = _FIELD_SIDE / max(width, height)
    fw, fh = max(2, round(width * scale)), max(2, round(height * scale))
    palette = _palette(rng)
    xs = np.linspace(0.0, 1.0, fw, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, 1.0, fh, dtype=np.float32)[:, None]
    aspect = np.float32(width / height)
    angle = rng.uniform(0, 2 * np.pi)
    t = xs * np.cos(angle) + ys * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    out = palette[0] * (1 - t)[..., None] + palette[1] * t[..., None]
    for k in range(int(rng.integers(3, 7))):
        cx, cy = rng.uniform(0, 1, size=2)
        radius = rng.uniform(0.08, 0.3)
        alpha = np.exp(-(((xs - cx) * aspect) ** 2 + (ys - cy) ** 2) / (2 * radius**2)) * rng.uniform(0.5, 0.9)
        out = out * (1 - alpha[..., None]) + palette[2 + k % 2] * alpha[..., None]
    ripple = np.sin(2 * np.pi * (rng.uniform(2, 6) * (xs * np.sin(angle) - ys * np.cos(angle)) + rng.uniform()))
    out = np.clip(out + 0.04 * ripple[..., None], 0, 1)
    small = Image.fromarray((out * 255).astype(np.uint8), "RGB")
    return np.asarray(small.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32) / 255


def _depth_shading(source: Image.Image, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    grey = ImageOps.fit(source.convert("L"), (width, height), Image.Resampling.BICUBIC)
    grey = ImageOps.autocontrast(grey.filter(ImageFilter.GaussianBlur(max(1.5, max(width, height) / 96))))
    depth = np.asarray(grey, dtype=np.float32)[..., None] / 255
    far, mid, near = _palette(rng, 3)
    lower = far * (1 - depth * 2) + mid * (depth * 2)
    upper = mid * (2 - depth * 2) + near * (depth * 2 - 1)
    return np.where(depth < 0.5, lower, upper)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _overlay_text(image: Image.Image, lines: list[str]) -> Image.Image:
    width, height = image.size
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    mark_font = _font(max(10, min(width, height) // 36))
    left, top, right, bottom = draw.textbbox((0, 0), SANDBOX_MARK, font=mark_font)
    pad = max(3, (bottom - top) // 3)
    draw.rectangle((0, 0, right - left + 3 * pad, bottom + 2 * pad), fill=(0, 0, 0, 190))
    draw.text((pad + pad // 2 - left, pad), SANDBOX_MARK, font=mark_font, fill=(255, 255, 255, 255))
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


def render_image(spec: RenderSpec) -> Image.Image:
    """The synthetic image for ``spec`` (RGB, ``spec.width`` x ``spec.height``)."""
    size = (spec.width, spec.height)
    pixels: np.ndarray
    if spec.flagged:
        pixels = np.zeros((spec.height, spec.width, 3), dtype=np.float32)
    else:
        rng = _rng(spec.prompt, spec.seed, spec.index)
        if spec.mode == "depth" and spec.source is not None:
            pixels = _depth_shading(spec.source, rng, *size)
            pixels = 0.85 * pixels + 0.15 * _colour_field(rng, *size)
        else:
            pixels = _colour_field(rng, *size)
            if spec.mode == "image" and spec.source is not None:
                source = ImageOps.fit(spec.source.convert("RGB"), size, Image.Resampling.BICUBIC)
                strength = float(np.clip(spec.strength, 0.0, 1.0))
                pixels = (1 - strength) * (np.asarray(source, dtype=np.float32) / 255) + strength * pixels
    image = Image.fromarray(np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")
    return _overlay_text(image, _text_lines(spec))


def placeholder_image(key: str, width: int = 1024, height: int = 768) -> Image.Image:
    """A deterministic stand-in (derived from ``key``, e.g. a URL) for an input the sandbox cannot fetch."""
    # No text on it: it is an *input*, blended into the output, where its own band would ghost through the
    # output's caption. The job's log says that a placeholder was used.
    field_pixels = _colour_field(_rng("placeholder", key), width, height)
    return Image.fromarray((field_pixels * 255).astype(np.uint8), "RGB")


def encode_image(image: Image.Image, fmt: ImageFormat) -> bytes:
    """Fixed encoder settings and no metadata, so equal images give equal bytes."""
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=3)
    else:
        image.save(buffer, "JPEG", quality=90, optimize=False, progressive=False)
    return buffer.getvalue()
