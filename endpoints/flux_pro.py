"""FLUX.1 [pro] text to image — seed 001_6bab96b3eb30aec4.txt.

Bounds the seed leaves out come from fal's published API reference for its FLUX endpoints: steps 1–50,
guidance 1–20, images 1–4. The seed is 0..2³²−1 (``endpoints.base.Seed``).
"""

from __future__ import annotations

from pydantic import Field

from endpoints.base import (
    GUIDANCE_DESCRIPTION,
    SAFETY_TOLERANCE_DESCRIPTION,
    SEED_DESCRIPTION,
    SEED_UI,
    SYNC_MODE_DESCRIPTION,
    EndpointSpec,
    ImageSizeField,
    OutputFormat,
    Prompt,
    SafetyTolerance,
    Seed,
    WireModel,
    ui,
)
from endpoints.price import FAL_PRICE_LIST, PriceModel


class FluxProInput(WireModel):
    prompt: Prompt = Field(description="The prompt to generate an image from.")
    image_size: ImageSizeField = Field(
        "landscape_4_3", description="The size of the generated image.", json_schema_extra=ui("basic")
    )
    num_inference_steps: int = Field(28, ge=1, le=50, description="The number of inference steps to perform.")
    seed: Seed | None = Field(None, description=SEED_DESCRIPTION, json_schema_extra=SEED_UI)
    guidance_scale: float = Field(3.5, ge=1, le=20, description=GUIDANCE_DESCRIPTION)
    sync_mode: bool | None = Field(None, description=SYNC_MODE_DESCRIPTION)
    num_images: int = Field(1, ge=1, le=4, description="The number of images to generate.", json_schema_extra=ui("basic"))
    safety_tolerance: SafetyTolerance = Field("2", description=SAFETY_TOLERANCE_DESCRIPTION)
    output_format: OutputFormat = Field("jpeg", description="The format of the generated image.")


SPEC = EndpointSpec(
    id="fal-ai/flux-pro",
    api_name="flux_pro",
    title="FLUX.1 [pro] Text to Image",
    tab_label="FLUX.1 [pro]",
    provider="fal",
    description="Professional-grade text to image: premium quality images from a prompt.",
    input_model=FluxProInput,
    seed_document="001_6bab96b3eb30aec4.txt",
    example={
        "prompt": (
            "Extreme close-up of a single tiger eye, direct frontal view. Detailed iris and pupil. Sharp focus on eye "
            "texture and color. Natural lighting to capture authentic eye shine and depth. The word \"FLUX\" is painted "
            "over it in big, white brush strokes with visible texture."
        ),
        "image_size": "landscape_4_3",
        "num_inference_steps": 28,
        "guidance_scale": 3.5,
        "num_images": 1,
        "safety_tolerance": "2",
        "output_format": "jpeg",
    },
    roles={
        "prompt": "prompt",
        "seed": "seed",
        "steps": "num_inference_steps",
        "guidance": "guidance_scale",
        "size": "image_size",
        "count": "num_images",
    },
    # fal price list, read 2026-11: $0.05/MP (exploration.md also gives FLUX.1 [pro] at $0.05/MP, read in 2026).
    price=PriceModel("megapixel", 0.05, source=FAL_PRICE_LIST, read_on="2026-11"),
)
