"""What an endpoint input does to the synthetic picture: a ``Recipe`` read off the input's leaves.

The schema supplies the numbers (defaults, so that an effect is relative to what the endpoint would do anyway);
the endpoint's roles (``EndpointSpec.roles``, whatever its fields are called) supply the meaning, and everything
without a role still shows:

- guidance (``guidance_scale``, ``guidance``, ...): contrast and saturation, relative to the default (low = washed
  out);
- steps (``num_inference_steps``, ``steps``, ...): finish — fewer than the default is soft and grainy, more is
  crisper;
- strength (image to image): how much of the input survives (0 keeps it, 1 is all pattern);
- the input image (the ``image`` role, else the first of ``images``): the picture the result starts from;
- RF-inversion controls (eta ``controller_guidance_reverse``, gamma ``controller_guidance_forward``, the reverse
  guidance window and schedule): how much of the input survives, through ``window_influence``;
- a nested item with an image and a weight (ControlNets, control LoRAs, EasyControls, union controls): a layer
  shaped by that image — its structure, its edges (canny, pose) or its colours (tile, blur, subject) — weighted by
  its ``*scale`` and ``start``/``end`` window; a top-level secondary image (``reference_image_url``) with its
  ``reference_strength``/``reference_start``/``reference_end``: a colour (style) layer;
- a nested item with a weight but no image (LoRAs): a striped texture keyed by the item, as strong as its scale;
- every other changed field (safety tolerance, scheduler, shifts, fine-tune, ...): a variation — extra shapes keyed
  by the changed values, so any change shows and equal inputs still give equal pictures.

Delivery fields (``sync_mode``, ``output_format``, the image count) change no pixels; seed and prompt drive the
base pattern, and the size role the size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel

from endpoints.base import EndpointSpec, Role
from sandbox.parameters import Leaf, Loc, image_refs, leaves, path_text
from sandbox.renderer import LayerKind, Texture

#: RF-inversion's controls: no role covers them (only that endpoint has them).
ETA_FIELD, GAMMA_FIELD = "controller_guidance_reverse", "controller_guidance_forward"
REVERSE_WINDOW = ("reverse_guidance_start", "reverse_guidance_end", "reverse_guidance_schedule")
DELIVERY_FIELDS = frozenset({"sync_mode", "output_format"})  # and the field playing the ``count`` role
BASE_ROLES: tuple[Role, ...] = ("prompt", "seed", "size")  # drawn or used as such
MAX_LAYERS = 6  # conditioning images read per job; more are ignored (a note says so)

#: How a conditioning image shapes the picture, by the mode/preprocess value its item names.
KIND_BY_VALUE: dict[str, LayerKind] = {
    "canny": "edges",
    "pose": "edges",
    "hedsketch": "edges",
    "depth": "structure",
    "gray": "structure",
    "spatial": "structure",
    "tile": "colour",
    "blur": "colour",
    "low-quality": "colour",
    "subject": "colour",
}


def window_influence(start: float, end: float, schedule: str = "constant") -> float:
    """Share of a denoising run's influence inside ``[start, end]`` (fractions of the run, 0..1).

    Early steps fix the composition, so step ``t`` weighs ``3 (1 - t)^2``; the schedule scales guidance within
    the window (``linear_increase`` from 0 to 1, ``linear_decrease`` from 1 to 0).
    """
    start, end = float(np.clip(start, 0, 1)), float(np.clip(end, 0, 1))
    if end <= start:
        return 0.0
    t = np.linspace(start, end, 257)
    ramp = (t - start) / (end - start)
    scale = ramp if schedule == "linear_increase" else 1 - ramp if schedule == "linear_decrease" else np.ones_like(t)
    values = 3 * (1 - t) ** 2 * scale
    return float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(t)))


@dataclass(frozen=True)
class ImageUse:
    """A conditioning image to read: where it is in the input, and how it shapes the picture."""

    loc: Loc
    ref: str
    kind: LayerKind
    weight: float

    @property
    def field(self) -> str:
        return path_text(self.loc)


@dataclass(frozen=True)
class Recipe:
    """Everything but the base pattern and the source image: the renderer's knobs, and the legend."""

    contrast: float = 1.0
    finish: float = 1.0
    strength: float | None = None  # image mode: share of the synthetic pattern (None: the endpoint has no rule)
    variation: str = ""
    textures: tuple[Texture, ...] = ()
    images: tuple[ImageUse, ...] = ()
    legend: tuple[str, ...] = ()  # "name=value" of every changed field, for the picture
    described: tuple[str, ...] = ()  # the same with defaults, for the job log
    notes: tuple[str, ...] = ()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):  # per-layer LoRA scales: their mean
        numbers = [float(v) for v in value.values() if isinstance(v, int | float)]
        return sum(numbers) / len(numbers) if numbers else None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _relative(leaf: Leaf | None) -> float | None:
    """value / default for a numeric leaf with a positive default."""
    if leaf is None:
        return None
    value, default = _number(leaf.value), _number(leaf.default)
    if value is None or default is None or default <= 0:
        return None
    return value / default


def _weight_leaf(group: Sequence[Leaf], stem: str = "") -> Leaf | None:
    for leaf in group:
        name = leaf.name.removeprefix(stem)
        if ("scale" in name or "strength" in name) and _number(leaf.value) is not None and not leaf.is_image:
            return leaf
    return None


def _window(group: Sequence[Leaf], stem: str = "") -> tuple[float, float, list[Leaf]]:
    """The (start, end) fractions an item's guidance applies for (``start_percentage``, ``reference_end``, ...)."""
    start, end, used = 0.0, 1.0, list[Leaf]()
    for leaf in group:
        name = leaf.name.removeprefix(stem)
        value = _number(leaf.value)
        if value is None:
            continue
        if name in ("start", "start_percentage"):
            start, used = value, [*used, leaf]
        elif name in ("end", "end_percentage"):
            end, used = value, [*used, leaf]
    return start, end, used


def _kind(group: Sequence[Leaf], default: LayerKind) -> tuple[LayerKind, list[Leaf]]:
    for leaf in group:
        if isinstance(leaf.value, str) and (kind := KIND_BY_VALUE.get(leaf.value.lower())):
            return kind, [leaf]
    return default, []


def role_leaf(spec: EndpointSpec, top: dict[str, Leaf], role: Role) -> Leaf | None:
    """The top-level leaf of the field playing ``role`` on ``spec``, if any."""
    name = spec.field_for(role)
    return top.get(name) if name is not None else None


def _source_leaf(spec: EndpointSpec, all_leaves: Sequence[Leaf]) -> Leaf | None:
    """The input image: the field playing the ``image`` role, else the one playing ``images`` (with an image)."""
    top = {leaf.name: leaf for leaf in all_leaves if len(leaf.loc) == 1}
    roles: tuple[Role, ...] = ("image", "images")
    for role in roles:
        leaf = role_leaf(spec, top, role)
        if leaf is not None and image_refs(leaf):
            return leaf
    return None


def source_field(spec: EndpointSpec, payload: BaseModel) -> tuple[str, str] | None:
    """(field name, reference) of the input image, if the endpoint takes one."""
    leaf = _source_leaf(spec, list(leaves(payload)))
    refs = image_refs(leaf) if leaf else []
    return (leaf.name, refs[0]) if leaf and refs else None


def build_recipe(spec: EndpointSpec, payload: BaseModel) -> Recipe:
    """The recipe for ``payload``, an input of ``spec`` (see the module docstring)."""
    all_leaves = list(leaves(payload))
    top = {leaf.name: leaf for leaf in all_leaves if len(leaf.loc) == 1}
    consumed: set[Loc] = set()

    def use(*found: Leaf | None) -> None:
        consumed.update(leaf.loc for leaf in found if leaf is not None)

    guidance = role_leaf(spec, top, "guidance")
    steps = role_leaf(spec, top, "steps")
    contrast = float(np.clip((_relative(guidance) or 1.0) ** 0.8, 0.3, 3.0))
    finish = float(np.clip(_relative(steps) or 1.0, 0.05, 4.0))
    use(guidance, steps)

    strength = None
    if (leaf := role_leaf(spec, top, "strength")) is not None and _number(leaf.value) is not None:
        strength = float(np.clip(_number(leaf.value) or 0.0, 0.0, 1.0))
        use(leaf)
    elif (eta := top.get(ETA_FIELD)) is not None:
        strength = 1.0 - _inversion_retention(top, steps)
        use(eta, top.get(GAMMA_FIELD), *(top.get(name) for name in REVERSE_WINDOW))

    source = _source_leaf(spec, all_leaves)
    use(source)
    textures, images, notes = _conditioning(all_leaves, source, top, consumed)

    count = spec.field_for("count")
    base = {name for role in BASE_ROLES if (name := spec.field_for(role)) is not None}
    quiet = {(name,) for name in DELIVERY_FIELDS | base | ({count} if count else set())}
    legend_leaves = [leaf for leaf in all_leaves if leaf.changed and not leaf.is_image and leaf.loc not in quiet]
    rest = [leaf.text() for leaf in legend_leaves if leaf.loc not in consumed]
    if (size := role_leaf(spec, top, "size")) is not None and size.changed:
        legend_leaves.insert(0, size)
    return Recipe(
        contrast=contrast,
        finish=finish,
        strength=strength,
        variation="|".join(rest),
        textures=tuple(textures),
        images=tuple(images),
        legend=tuple(leaf.text() for leaf in legend_leaves),
        described=tuple(leaf.described() for leaf in legend_leaves),
        notes=tuple(notes),
    )


def _inversion_retention(top: dict[str, Leaf], steps: Leaf | None) -> float:
    """RF-inversion: how much of the input survives — eta, over the reverse-guidance window, eased by gamma."""

    def value(name: str, default: float) -> float:
        found = _number(top[name].value) if name in top else None
        return default if found is None else found

    total = max(1.0, (_number(steps.value) if steps else None) or 28.0)
    eta, gamma = value(ETA_FIELD, 0.0), value(GAMMA_FIELD, 0.6)
    start, end = value(REVERSE_WINDOW[0], 0.0), value(REVERSE_WINDOW[1], total)
    schedule = str(top[REVERSE_WINDOW[2]].value) if REVERSE_WINDOW[2] in top else "constant"
    influence = window_influence(start / total, end / total, schedule)
    return float(np.clip(eta * influence * (1.3 - 0.5 * gamma), 0.0, 1.0))


def _conditioning(
    all_leaves: Sequence[Leaf], source: Leaf | None, top: dict[str, Leaf], consumed: set[Loc]
) -> tuple[list[Texture], list[ImageUse], list[str]]:
    """Layers from secondary images and textures from weighted items without one."""
    groups: dict[Loc, list[Leaf]] = {}
    for leaf in all_leaves:
        groups.setdefault(leaf.owner_loc, []).append(leaf)
    textures: list[Texture] = []
    images: list[ImageUse] = []
    for owner_loc, group in groups.items():
        image_leaves = [leaf for leaf in group if leaf.is_image and leaf is not source and image_refs(leaf)]
        if not owner_loc:  # top level: each secondary image with its own stem (reference_image_url -> reference_)
            for leaf in image_leaves:
                stem = leaf.name.split("image", 1)[0]
                related = [top[name] for name in top if stem and name.startswith(stem) and name != leaf.name]
                weight_leaf = _weight_leaf(related, stem)
                start, end, window_leaves = _window(related, stem)
                kind, kind_leaves = _kind(related, "colour")
                weight = (_number(weight_leaf.value) if weight_leaf else 1.0) or 0.0
                images += [
                    ImageUse(leaf.loc, ref, kind, weight * window_influence(start, end)) for ref in image_refs(leaf)
                ]
                consumed.update(
                    x.loc for x in [leaf, *([weight_leaf] if weight_leaf else []), *window_leaves, *kind_leaves]
                )
            continue
        weight_leaf = _weight_leaf(group)
        start, end, window_leaves = _window(group)
        if image_leaves:
            kind, kind_leaves = _kind(group, "structure")
            weight = (_number(weight_leaf.value) if weight_leaf else 1.0) or 0.0
            # a mask only limits where its item applies: it is not read and shapes nothing here
            pictures = [leaf for leaf in image_leaves if "mask" not in leaf.name] or image_leaves
            for leaf in pictures:
                images += [
                    ImageUse(leaf.loc, ref, kind, weight * window_influence(start, end)) for ref in image_refs(leaf)
                ]
            consumed.update(x.loc for x in [*image_leaves, *window_leaves, *kind_leaves])
            if weight_leaf:
                consumed.add(weight_leaf.loc)
        elif weight_leaf is not None:
            key = "|".join(leaf.text() for leaf in group if leaf is not weight_leaf)
            textures.append(Texture(key or path_text(owner_loc), _number(weight_leaf.value) or 0.0))
            consumed.update(leaf.loc for leaf in group)
    notes = []
    if len(images) > MAX_LAYERS:
        skipped = ", ".join(use.field for use in images[MAX_LAYERS:])
        notes.append(f"The sandbox reads at most {MAX_LAYERS} conditioning images; ignored: {skipped}")
        images = images[:MAX_LAYERS]
    return textures, images, notes
