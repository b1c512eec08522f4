"""Pixel operations of the synthetic renderer, on HxWx3 float32 arrays in [0, 1]. Deterministic: every random
choice comes from a generator seeded by a hash of its inputs (``rng``)."""

from __future__ import annotations

import colorsys
import hashlib

import numpy as np
from PIL import Image, ImageFilter, ImageOps

FIELD_SIDE = 192  # smooth fields are computed at this size, then upscaled


def rng(*parts: object) -> np.random.Generator:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def palette(generator: np.random.Generator, n: int = 4) -> np.ndarray:
    base_hue = generator.uniform()
    colours = []
    for i in range(n):
        hue = (base_hue + i * generator.uniform(0.08, 0.3)) % 1.0
        colours.append(colorsys.hsv_to_rgb(hue, generator.uniform(0.45, 0.95), generator.uniform(0.55, 1.0)))
    return np.asarray(colours, dtype=np.float32)


def _field_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    scale = FIELD_SIDE / max(width, height)
    fw, fh = max(2, round(width * scale)), max(2, round(height * scale))
    xs = np.linspace(0.0, 1.0, fw, dtype=np.float32)[None, :]
    ys = np.linspace(0.0, 1.0, fh, dtype=np.float32)[:, None]
    return xs, ys, fw, fh


def _upscale(small: np.ndarray, width: int, height: int) -> np.ndarray:
    channels = small.shape[2] if small.ndim == 3 else 1
    image = Image.fromarray(
        np.clip(small * 255 + 0.5, 0, 255).astype(np.uint8).squeeze(), "RGB" if channels == 3 else "L"
    )
    out = np.asarray(image.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    return out if out.ndim == 3 else out[..., None]


def colour_field(generator: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth field: a tilted gradient, soft blobs and a faint ripple."""
    xs, ys, _, _ = _field_grid(width, height)
    colours = palette(generator)
    aspect = np.float32(width / height)
    angle = generator.uniform(0, 2 * np.pi)
    t = xs * np.cos(angle) + ys * np.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    out = colours[0] * (1 - t)[..., None] + colours[1] * t[..., None]
    for k in range(int(generator.integers(3, 7))):
        cx, cy = generator.uniform(0, 1, size=2)
        radius = generator.uniform(0.08, 0.3)
        alpha = np.exp(-(((xs - cx) * aspect) ** 2 + (ys - cy) ** 2) / (2 * radius**2)) * generator.uniform(0.5, 0.9)
        out = out * (1 - alpha[..., None]) + colours[2 + k % 2] * alpha[..., None]
    ripple = np.sin(
        2 * np.pi * (generator.uniform(2, 6) * (xs * np.sin(angle) - ys * np.cos(angle)) + generator.uniform())
    )
    return _upscale(np.clip(out + 0.04 * ripple[..., None], 0, 1), width, height)


def variation(pixels: np.ndarray, key: str) -> np.ndarray:
    """Extra soft shapes keyed by ``key`` (the changed parameters that have no effect of their own)."""
    height, width = pixels.shape[:2]
    generator = rng("variation", key)
    xs, ys, fw, fh = _field_grid(width, height)
    colours = palette(generator, 3)
    aspect = np.float32(width / height)
    alpha_total = np.zeros((fh, fw, 1), dtype=np.float32)
    paint = np.zeros((fh, fw, 3), dtype=np.float32)
    for k in range(int(generator.integers(3, 6))):
        cx, cy = generator.uniform(0.1, 0.9, size=2)
        rx, ry = generator.uniform(0.1, 0.25, size=2)
        alpha = np.exp(-((((xs - cx) * aspect) / rx) ** 2 + ((ys - cy) / ry) ** 2) / 2) * generator.uniform(0.45, 0.7)
        paint = paint * (1 - alpha[..., None]) + colours[k % 3] * alpha[..., None]
        alpha_total = alpha_total + alpha[..., None] * (1 - alpha_total)
    premultiplied = np.concatenate([paint, alpha_total], axis=2)
    # float resizing, channel by channel: 8-bit premultiplied colour would band into rings
    channels = [np.ascontiguousarray(premultiplied[..., c], dtype=np.float32) for c in range(4)]
    big = np.stack(
        [np.asarray(Image.fromarray(c, "F").resize((width, height), Image.Resampling.BICUBIC)) for c in channels],
        axis=2,
    )
    alpha = np.clip(big[..., 3:], 0, 1)
    colour = big[..., :3] / np.maximum(alpha, 1e-3)
    return pixels * (1 - alpha) + np.clip(colour, 0, 1) * alpha


def stripes(pixels: np.ndarray, key: str, weight: float) -> np.ndarray:
    """A texture keyed by ``key`` (a LoRA), as strong as ``weight``; a negative weight inverts it."""
    height, width = pixels.shape[:2]
    generator = rng("texture", key)
    colour = palette(generator, 1)[0]
    angle = generator.uniform(0, np.pi)
    period = max(4.0, min(width, height) / generator.uniform(6, 14))
    xs = np.arange(width, dtype=np.float32)[None, :]
    ys = np.arange(height, dtype=np.float32)[:, None]
    wave = 0.5 + 0.5 * np.sin(2 * np.pi * (xs * np.cos(angle) + ys * np.sin(angle)) / period)
    if weight < 0:
        wave = 1 - wave
    alpha = (float(np.clip(0.35 * abs(weight), 0, 0.7)) * wave)[..., None]
    return pixels * (1 - alpha) + colour * alpha


def _fitted_grey(image: Image.Image, width: int, height: int) -> Image.Image:
    return ImageOps.fit(image.convert("L"), (width, height), Image.Resampling.BICUBIC)


def depth_shading(source: Image.Image, generator: np.random.Generator, width: int, height: int) -> np.ndarray:
    """The blurred luminance of ``source`` as depth, colour-mapped far -> mid -> near."""
    grey = _fitted_grey(source, width, height)
    grey = ImageOps.autocontrast(grey.filter(ImageFilter.GaussianBlur(max(1.5, max(width, height) / 96))))
    depth = np.asarray(grey, dtype=np.float32)[..., None] / 255
    far, mid, near = palette(generator, 3)
    lower = far * (1 - depth * 2) + mid * (depth * 2)
    upper = mid * (2 - depth * 2) + near * (depth * 2 - 1)
    return np.where(depth < 0.5, lower, upper)


def edge_map(source: Image.Image, width: int, height: int) -> np.ndarray:
    """HxWx1 edges of ``source`` in [0, 1] (a flat or smoothly shaded image has none)."""
    grey = _fitted_grey(source, width, height).filter(ImageFilter.GaussianBlur(0.8))
    edges = np.asarray(grey.filter(ImageFilter.FIND_EDGES).filter(ImageFilter.MaxFilter(3)), dtype=np.float32)
    edges[:2, :] = edges[-2:, :] = 0  # the kernel leaves border pixels as they were: not edges
    edges[:, :2] = edges[:, -2:] = 0
    return np.clip(edges / 48, 0, 1)[..., None]


def structure_layer(
    pixels: np.ndarray, guide: Image.Image, generator: np.random.Generator, weight: float
) -> np.ndarray:
    """Shade the picture by the guide's luminance (a depth or structure control)."""
    height, width = pixels.shape[:2]
    if weight < 0:
        guide = ImageOps.invert(guide.convert("RGB"))
    alpha = float(np.clip(0.55 * abs(weight), 0, 0.85))
    return pixels * (1 - alpha) + depth_shading(guide, generator, width, height) * alpha


def edges_layer(pixels: np.ndarray, guide: Image.Image, weight: float) -> np.ndarray:
    """Draw the guide's edges into the picture: dark lines (light ones for a negative weight)."""
    height, width = pixels.shape[:2]
    alpha = edge_map(guide, width, height) * float(np.clip(0.8 * abs(weight), 0, 1))
    return pixels * (1 - alpha) + (1.0 if weight < 0 else 0.0) * alpha


def colour_layer(pixels: np.ndarray, guide: Image.Image, weight: float) -> np.ndarray:
    """Move the picture's colours toward the guide's (a style/reference image): mean and spread per channel."""
    small = np.asarray(ImageOps.contain(guide.convert("RGB"), (64, 64)), dtype=np.float32).reshape(-1, 3) / 255
    mean_g, spread_g = small.mean(axis=0), small.std(axis=0) + 0.02
    mean_p, spread_p = pixels.mean(axis=(0, 1)), pixels.std(axis=(0, 1)) + 0.02
    if weight < 0:
        mean_g = 1 - mean_g
    moved = np.clip((pixels - mean_p) / spread_p * spread_g + mean_g, 0, 1)
    alpha = float(np.clip(0.65 * abs(weight), 0, 0.9))
    return pixels * (1 - alpha) + moved * alpha


def contrast(pixels: np.ndarray, amount: float) -> np.ndarray:
    """Contrast and saturation scaled by ``amount`` (1 = unchanged)."""
    if amount == 1.0:
        return pixels
    mean = pixels.mean(axis=(0, 1))
    out = mean + (pixels - mean) * amount
    grey = out.mean(axis=2, keepdims=True)
    return np.clip(grey + (out - grey) * np.sqrt(amount), 0, 1)


def finish(pixels: np.ndarray, amount: float, generator: np.random.Generator) -> np.ndarray:
    """Below 1 (fewer steps than the default): soft and grainy. Above 1: sharper, with fine detail."""
    if amount == 1.0:
        return pixels
    height, width = pixels.shape[:2]
    image = Image.fromarray(np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8), "RGB")
    if amount < 1:
        lack = 1 - amount
        image = image.filter(ImageFilter.GaussianBlur(lack * min(width, height) / 60))
        out = np.asarray(image, dtype=np.float32) / 255
        grain = generator.normal(0, 0.12 * lack, size=(height, width, 1)).astype(np.float32)
        return np.clip(out + grain, 0, 1)
    extra = min(amount - 1, 3.0)
    image = image.filter(
        ImageFilter.UnsharpMask(radius=max(1.0, min(width, height) / 200), percent=int(40 + 60 * extra), threshold=0)
    )
    period = max(3.0, min(width, height) / 48)
    xs = np.arange(width, dtype=np.float32)[None, :] / period
    ys = np.arange(height, dtype=np.float32)[:, None] / period
    phase = generator.uniform(0, 2 * np.pi, size=2)
    detail = np.sin(2 * np.pi * xs + phase[0]) * np.sin(2 * np.pi * ys + phase[1])
    return np.clip(np.asarray(image, dtype=np.float32) / 255 + (0.06 * extra * detail)[..., None], 0, 1)
