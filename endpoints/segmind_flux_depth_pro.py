"""Segmind Flux Depth Pro (v1, synchronous) — seed 002_4acaae1a45800cc5.txt.

Every bound is the seed's own (steps 15–50, guidance 1–50, safety tolerance 1–6); the seed gives none for the
seed, which is 0..2³²−1 like the fal endpoints' (``endpoints.base.Seed``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from endpoints.base import SEED_UI, EndpointSpec, Prompt, Seed, Url, WireModel, ui
from endpoints.price import PriceModel


class SegmindFluxDepthProInput(WireModel):
    seed: Seed = Field(96522, description="Random seed. Set for reproducible generation.", json_schema_extra=SEED_UI)
    steps: int = Field(
        40,
        ge=15,
        le=50,
        description="Number of diffusion steps. Higher values yield finer details but increase processing time.",
    )
    prompt: Prompt = Field(description="Text prompt for image generation.")
    guidance: float = Field(
        7,
        ge=1,
        le=50,
        description=(
            "Controls the balance between adherence to the text as well as image prompt and image quality/diversity. "
            "Higher values make the output more closely match the prompt but may reduce overall image quality."
        ),
    )
    control_image: Url = Field(
        description="Image to use as control input. Must be jpeg, png, or webp.", json_schema_extra=ui("image")
    )
    output_format: Literal["jpg", "png"] = Field("jpg", description="Format of the output images.")
    safety_tolerance: int = Field(2, ge=1, le=6, description="Safety tolerance, 1 is most strict and 6 is most permissive.")
    prompt_upsampling: bool = Field(True, description="Automatically modify the prompt for more creative generation.")


SPEC = EndpointSpec(
    id="flux-depth-pro",
    api_name="segmind_flux_depth_pro",
    title="Flux Depth Pro (Segmind)",
    tab_label="Flux Depth Pro · Segmind",
    provider="segmind",
    description="Professional depth-aware image generation: edit images while preserving spatial relationships.",
    input_model=SegmindFluxDepthProInput,
    seed_document="002_4acaae1a45800cc5.txt",
    example={
        "seed": 96522,
        "steps": 40,
        "prompt": (
            "American man, smiling, waving, eyeglasses, casual clothing, sitting at desk, laptop, home office, indoor, "
            "daylight, modern decor, house plants, bookshelf, natural lighting"
        ),
        "guidance": 7,
        "control_image": "https://fal.media/files/penguin/vt-SeIOweN7_oYBsvGO6t.png",
        "output_format": "jpg",
        "safety_tolerance": 2,
        "prompt_upsampling": False,
    },
    notes=(
        "The seed lists no allowed values for output_format; its example uses 'jpg', and 'png' is assumed.",
        (
            "The seed's example leaves control_image as a placeholder; the example borrows the public control image "
            "of the fal depth seed (000)."
        ),
    ),
    roles={
        "prompt": "prompt",
        "seed": "seed",
        "steps": "steps",
        "guidance": "guidance",
        "image": "control_image",
    },
    # Segmind: no authoritative price found; $0.05 per image is an assumption (2026-11). Segmind reports the actual
    # cost (x-cost) and the credits left (x-remaining-credits) with each result, which actual_cost() uses instead.
    price=PriceModel("image", 0.05, source="Segmind price, assumed", read_on="2026-11"),
)
