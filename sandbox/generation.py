"""From a validated endpoint input to synthetic images: what to render (read generically off the input model,
with the meaning of its fields from the endpoint's roles, so a schema change needs no change here:
sandbox/effects.py), the safety rule, reading the input and conditioning images, and the rendering itself (off
the event loop)."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from typing import Any

from PIL import Image
from pydantic import BaseModel

from endpoints.base import IMAGE_SIZE_PRESETS, EndpointSpec, Role
from sandbox.effects import Recipe, build_recipe, source_field
from sandbox.image_inputs import ImageResolver, LoadedImage
from sandbox.renderer import (
    CONTENT_TYPES,
    ImageFormat,
    Layer,
    RenderMode,
    RenderSpec,
    encode_image,
    render,
)

#: Words that flag an image when the safety check is strict (deterministic stand-in for a classifier).
UNSAFE_WORDS = ("nsfw", "nude", "naked", "porn", "explicit", "gore")
_UNSAFE = re.compile(r"\b(" + "|".join(UNSAFE_WORDS) + r")\b", re.IGNORECASE)

DEFAULT_STEPS = 28
DEFAULT_STRENGTH = 0.6  # image mode on an endpoint without a strength rule
LAYER_SIDE = 384  # conditioning images are read at most this large: they only shape the picture
DEFAULT_SIZE = IMAGE_SIZE_PRESETS["landscape_4_3"]
MAX_SOURCE_IMAGES = 4  # of a list of input images, this many are read (fal's FLUX.2 edits take 3 to 10)


def mentions_unsafe(prompt: str) -> bool:
    return bool(_UNSAFE.search(prompt))


def safety_strict(payload: BaseModel) -> bool:
    """Checker on (``enable_safety_checker`` not False) or ``safety_tolerance`` at most 2; on when neither exists."""
    fields = type(payload).model_fields
    values = dict(payload)
    checks = []
    if "enable_safety_checker" in fields:
        checks.append(values["enable_safety_checker"] is not False)
    if "safety_tolerance" in fields:
        checks.append(int(values["safety_tolerance"]) <= 2)
    return any(checks) if checks else True


def _image_format(payload: BaseModel, default: ImageFormat) -> ImageFormat:
    value = str(getattr(payload, "output_format", None) or default).lower()
    return "png" if value == "png" else "jpeg"


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
    recipe: Recipe
    steps_asked: bool = True  # the endpoint takes a step count (BFL's and Kontext's do not: their time is simulated)

    @classmethod
    def from_input(cls, spec: EndpointSpec, payload: BaseModel, default_format: ImageFormat = "jpeg") -> GenerationPlan:
        """The plan for ``payload``, an input of ``spec``: prompt, seed, steps and count read through its roles."""
        prompt = str(role_value(spec, payload, "prompt") or "")
        seed = role_value(spec, payload, "seed")
        steps = role_value(spec, payload, "steps") or DEFAULT_STEPS
        recipe = build_recipe(spec, payload)
        mode: RenderMode = "text"
        source_name = source_ref = None
        if found := source_field(spec, payload):
            source_name, source_ref = found
            # An input the endpoint has a rule for keeping (a strength, an inversion) or a list of images to edit
            # (a FLUX.2 edit's image_urls) is transformed; any other (a control image) sets the layout.
            mode = "image" if recipe.strength is not None or source_name == spec.field_for("images") else "depth"
        return cls(
            prompt=prompt,
            seed=int(seed) if seed is not None else secrets.randbelow(2**32),
            steps=int(steps),
            num_images=int(role_value(spec, payload, "count") or 1),
            image_format=_image_format(payload, default_format),
            mode=mode,
            source_field=source_name,
            source_ref=source_ref,
            strength=recipe.strength if recipe.strength is not None else DEFAULT_STRENGTH,
            flagged=mentions_unsafe(prompt) and safety_strict(payload),
            sync_mode=bool(getattr(payload, "sync_mode", None)),
            recipe=recipe,
            steps_asked=spec.field_for("steps") is not None,
        )


def role_value(spec: EndpointSpec, payload: BaseModel, role: Role) -> Any:
    """The value of the field playing ``role`` on ``spec`` (None when no field does, or it is unset)."""
    name = spec.field_for(role)
    return getattr(payload, name, None) if name is not None else None


def output_size(
    spec: EndpointSpec, payload: BaseModel, source: Image.Image | None, max_side: int
) -> tuple[tuple[int, int], str | None]:
    """(width, height) to render (the ``size`` role, or the ``width``/``height`` roles, else the input image's) and,
    when the sandbox scaled the request down, a note saying so."""
    image_size = role_value(spec, payload, "size")
    wide, high = role_value(spec, payload, "width"), role_value(spec, payload, "height")
    if image_size is None and isinstance(wide, int) and isinstance(high, int):
        width, height = wide, high
    elif isinstance(image_size, str):  # a preset; one the sandbox does not know ("auto") takes the input's size
        width, height = IMAGE_SIZE_PRESETS.get(image_size) or (source.size if source is not None else DEFAULT_SIZE)
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
    legend: tuple[str, ...] = ()  # the legend lines drawn on the image


@dataclass(frozen=True)
class PreparedGeneration:
    plan: GenerationPlan
    source: Image.Image | None
    size: tuple[int, int]
    notes: tuple[str, ...]  # lines for the job log (placeholders, scaling)
    layers: tuple[Layer, ...] = ()

    @property
    def summary(self) -> str:
        """The job-log line naming what differs from the endpoint's defaults."""
        changed = self.plan.recipe.described
        return "Parameters changed from the defaults: " + ("; ".join(changed) if changed else "none")


async def prepare_generation(
    spec: EndpointSpec,
    payload: BaseModel,
    resolver: ImageResolver,
    max_side: int,
    *,
    default_format: ImageFormat = "jpeg",
    allow_raw_base64: bool = False,
) -> PreparedGeneration:
    """Plan ``payload`` (an input of ``spec``) and read the source and conditioning images. Raises ImageLoadError
    for an unreadable one."""
    plan = GenerationPlan.from_input(spec, payload, default_format)
    notes: list[str] = []
    loaded: dict[str, LoadedImage] = {}  # by reference: an image named twice is read once

    async def read(field: str, loc: tuple[str | int, ...], ref: str, max_side: int | None = None) -> Image.Image:
        if ref not in loaded:
            loaded[ref] = await resolver.load(field, ref, allow_raw_base64=allow_raw_base64, max_side=max_side, loc=loc)
            if note := loaded[ref].note:
                notes.append(note)
        return loaded[ref].image

    source = None
    layers = []
    if plan.source_field and plan.source_ref:
        source = await read(plan.source_field, (plan.source_field,), plan.source_ref)
        # several input images (a FLUX.2 edit's image_urls): the first is the source, the others blend in as colour
        others = getattr(payload, plan.source_field, None)
        if isinstance(others, list):
            refs = [ref for ref in others[1:MAX_SOURCE_IMAGES] if isinstance(ref, str) and ref.strip()]
            for index, ref in enumerate(refs, start=1):
                image = await read(plan.source_field, (plan.source_field, index), ref, LAYER_SIDE)
                layers.append(Layer(image, "colour", 1.0 / (len(refs) + 1), key=ref))
    for use in plan.recipe.images:
        image = await read(use.field, use.loc, use.ref, LAYER_SIDE)
        layers.append(Layer(image, use.kind, use.weight, key=use.ref))
    notes.extend(plan.recipe.notes)
    size, size_note = output_size(spec, payload, source, max_side)
    if size_note:
        notes.append(size_note)
    return PreparedGeneration(plan, source, size, tuple(notes), tuple(layers))


def caption(plan: GenerationPlan, index: int) -> str:
    """The line under the prompt: seed, which image, and the steps where the endpoint takes a step count."""
    steps = f" · {plan.steps} steps" if plan.steps_asked else ""
    return f"seed {plan.seed} · image {index + 1} of {plan.num_images}{steps}"


def _render_one(prepared: PreparedGeneration, index: int) -> GeneratedImage:
    plan = prepared.plan
    width, height = prepared.size
    recipe = plan.recipe
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
        caption=caption(plan, index),
        contrast=recipe.contrast,
        finish=recipe.finish,
        variation=recipe.variation,
        textures=recipe.textures,
        layers=prepared.layers,
        legend=recipe.legend,
    )
    rendered = render(spec)
    data = encode_image(rendered.image, plan.image_format)
    return GeneratedImage(data, width, height, CONTENT_TYPES[plan.image_format], plan.flagged, rendered.legend_lines)


async def render_images(prepared: PreparedGeneration) -> list[GeneratedImage]:
    """Render every image in a worker thread, one at a time, so the event loop never blocks."""
    return [await asyncio.to_thread(_render_one, prepared, index) for index in range(prepared.plan.num_images)]
