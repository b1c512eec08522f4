"""From a validated endpoint input to synthetic images: what to render (read generically off the input model,
so a schema change needs no change here), the safety rule, and the rendering itself (off the event loop)."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass

from PIL import Image
from pydantic import BaseModel

from endpoints.base import IMAGE_SIZE_PRESETS
from sandbox.image_inputs import ImageResolver
from sandbox.renderer import (
    CONTENT_TYPES,
    ImageFormat,
    RenderMode,
    RenderSpec,
    encode_image,
    render_image,
)

#: Words that flag an image when the safety check is strict (deterministic stand-in for a classifier).
UNSAFE_WORDS = ("nsfw", "nude", "naked", "porn", "explicit", "gore")
_UNSAFE = re.compile(r"\b(" + "|".join(UNSAFE_WORDS) + r")\b", re.IGNORECASE)

#: Input fields holding the source image, and how each is used.
SOURCE_FIELDS: tuple[tuple[str, RenderMode], ...] = (
    ("image_url", "image"),
    ("control_image_url", "depth"),
    ("control_image", "depth"),
)
DEFAULT_STEPS = 28
DEFAULT_SIZE = IMAGE_SIZE_PRESETS["landscape_4_3"]


def mentions_unsafe(prompt: str) -> bool:
    return bool(_UNSAFE.search(prompt))


def safety_strict(payload: BaseModel) -> bool:
    """Checker on (``enable_safety_checker`` not False) or ``safety_tolerance`` at most 2; on when neither exists."""
    fields = type(payload).model_fields
    checks = []
    if "enable_safety_checker" in fields:
        checks.append(payload.enable_safety_checker is not False)  # type: ignore[attr-defined]
    if "safety_tolerance" in fields:
        checks.append(int(payload.safety_tolerance) <= 2)  # type: ignore[attr-defined]
    return any(checks) if checks else True


def _image_format(payload: BaseModel, default: ImageFormat) -> ImageFormat:
    value = str(getattr(payload, "output_format", None) or default).lower()
    return "png" if value == "png" else "jpeg"


def _strength(payload: BaseModel) -> float:
    if (strength := getattr(payload, "strength", None)) is not None:
        return float(strength)
    if (eta := getattr(payload, "controller_guidance_reverse", None)) is not None:  # RF-inversion: eta -> input
        return max(0.0, min(1.0, 1.0 - float(eta)))
    return 0.6


@dataclass(frozen=True)
class GenerationPlan:
    prompt: str
    seed: int
    steps: int
    num_images: int
    image_format: ImageFormat
    mode: RenderMode
    source_field: str | None
    source_ref: str | None
    strength: float
    flagged: bool
    sync_mode: bool

    @classmethod
    def from_input(cls, payload: BaseModel, default_format: ImageFormat = "jpeg") -> GenerationPlan:
        prompt = str(getattr(payload, "prompt", "") or "")
        seed = getattr(payload, "seed", None)
        steps = getattr(payload, "num_inference_steps", None) or getattr(payload, "steps", None) or DEFAULT_STEPS
        mode: RenderMode = "text"
        source_field = source_ref = None
        for name, field_mode in SOURCE_FIELDS:
            if isinstance(value := getattr(payload, name, None), str) and value:
                mode, source_field, source_ref = field_mode, name, value
                break
        return cls(
            prompt=prompt,
            seed=int(seed) if seed is not None else secrets.randbelow(2**32),
            steps=int(steps),
            num_images=int(getattr(payload, "num_images", None) or 1),
            image_format=_image_format(payload, default_format),
            mode=mode,
            source_field=source_field,
            source_ref=source_ref,
            strength=_strength(payload),
            flagged=mentions_unsafe(prompt) and safety_strict(payload),
            sync_mode=bool(getattr(payload, "sync_mode", None)),
        )


def output_size(payload: BaseModel, source: Image.Image | None, max_side: int) -> tuple[tuple[int, int], str | None]:
    """(width, height) to render and, when the sandbox scaled the request down, a note saying so."""
    image_size = getattr(payload, "image_size", None)
    if isinstance(image_size, str):
        width, height = IMAGE_SIZE_PRESETS[image_size]
    elif image_size is not None:
        width, height = int(image_size.width), int(image_size.height)
    elif source is not None:
        width, height = source.size
    else:
        width, height = DEFAULT_SIZE
    if max(width, height) <= max_side:
        return (width, height), None
    scale = max_side / max(width, height)
    scaled = (max(1, round(width * scale)), max(1, round(height * scale)))
    return (
        scaled,
        f"The sandbox renders at most {max_side} px per side: {width}x{height} rendered as {scaled[0]}x{scaled[1]}",
    )


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    width: int
    height: int
    content_type: str
    flagged: bool


@dataclass(frozen=True)
class PreparedGeneration:
    plan: GenerationPlan
    source: Image.Image | None
    size: tuple[int, int]
    notes: tuple[str, ...]  # lines for the job log (placeholders, scaling)


async def prepare_generation(
    payload: BaseModel,
    resolver: ImageResolver,
    max_side: int,
    *,
    default_format: ImageFormat = "jpeg",
    allow_raw_base64: bool = False,
) -> PreparedGeneration:
    """Plan and load the source image. Raises ImageLoadError for an unreadable one."""
    plan = GenerationPlan.from_input(payload, default_format)
    notes: list[str] = []
    source = None
    if plan.source_field and plan.source_ref:
        loaded = await resolver.load(plan.source_field, plan.source_ref, allow_raw_base64=allow_raw_base64)
        source = loaded.image
        if loaded.note:
            notes.append(loaded.note)
    size, size_note = output_size(payload, source, max_side)
    if size_note:
        notes.append(size_note)
    return PreparedGeneration(plan, source, size, tuple(notes))


def _render_one(prepared: PreparedGeneration, index: int) -> GeneratedImage:
    plan = prepared.plan
    width, height = prepared.size
    spec = RenderSpec(
        prompt=plan.prompt,
        seed=plan.seed,
        index=index,
        width=width,
        height=height,
        mode=plan.mode,
        source=prepared.source,
        strength=plan.strength,
        flagged=plan.flagged,
        caption=f"seed {plan.seed} · image {index + 1} of {plan.num_images} · {plan.steps} steps",
    )
    data = encode_image(render_image(spec), plan.image_format)
    return GeneratedImage(data, width, height, CONTENT_TYPES[plan.image_format], plan.flagged)


async def render_images(prepared: PreparedGeneration) -> list[GeneratedImage]:
    """Render every image in a worker thread, one at a time, so the event loop never blocks."""
    return [await asyncio.to_thread(_render_one, prepared, index) for index in range(prepared.plan.num_images)]
