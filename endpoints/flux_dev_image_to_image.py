"""FLUX.1 [dev] image to image — seed 004_b7998cef21ed1743.txt.

Bounds the seed leaves out come from fal's published API reference: strength 0.01–1, steps 10–50, guidance
1–20, images 1–4. The seed is 0..2³²−1 (``endpoints.base.Seed``).
"""

from __future__ import annotations

from pydantic import Field

from endpoints.base import (
    GUIDANCE_DESCRIPTION,
    SEED_DESCRIPTION,
    SEED_UI,
    SYNC_MODE_DESCRIPTION,
    EndpointSpec,
    Prompt,
    Seed,
    Url,
    WireModel,
    ui,
)
from endpoints.price import FAL_PRICE_LIST, PriceModel


class FluxDevImageToImageInput(WireModel):
    image_url: Url = Field(
        description="The URL of the image to generate an image from.", json_schema_extra=ui("image")
    )
    prompt: Prompt = Field(description="The prompt to generate an image from.")
    strength: float = Field(
        0.95,
        ge=0.01,
        le=1,
        description="The strength of the initial image. Higher strength values are better for this model.",
        json_schema_extra=ui("basic"),
    )
    num_inference_steps: int = Field(40, ge=10, le=50, description="The number of inference steps to perform.")
    seed: Seed | None = Field(None, description=SEED_DESCRIPTION, json_schema_extra=SEED_UI)
    guidance_scale: float = Field(3.5, ge=1, le=20, description=GUIDANCE_DESCRIPTION)
    sync_mode: bool | None = Field(None, description=SYNC_MODE_DESCRIPTION)
    num_images: int = Field(1, ge=1, le=4, description="The number of images to generate.", json_schema_extra=ui("basic"))
    enable_safety_checker: bool = Field(True, description="If set to true, the safety checker will be enabled.")


SPEC = EndpointSpec(
    id="fal-ai/flux/dev/image-to-image",
    api_name="flux_dev_image_to_image",
    title="FLUX.1 [dev] Image to Image",
    tab_label="[dev] Image to Image",
    provider="fal",
    description="Transform an existing image with FLUX.1 [dev]: style transfer and image modifications.",
    input_model=FluxDevImageToImageInput,
    seed_document="004_b7998cef21ed1743.txt",
    example={
        "image_url": "https://fal.media/files/koala/Chls9L2ZnvuipUTEwlnJC.png",
        "prompt": "a cat dressed as a wizard with a background of a mystic forest.",
        "strength": 0.95,
        "num_inference_steps": 40,
        "guidance_scale": 3.5,
        "num_images": 1,
        "enable_safety_checker": True,
    },
    roles={
        "prompt": "prompt",
        "seed": "seed",
        "steps": "num_inference_steps",
        "guidance": "guidance_scale",
        "count": "num_images",
        "image": "image_url",
        "strength": "strength",
    },
    # fal price list, read 2026-11: $0.03/MP for image-to-image. exploration.md's $0.025/MP is FLUX.1 [dev]
    # text-to-image (fal-ai/flux/dev), a different endpoint; the image-to-image figure is kept, and being the
    # higher one it errs on the safe side for budgets.
    price=PriceModel("megapixel", 0.03, source=FAL_PRICE_LIST, read_on="2026-11"),
)
