"""FLUX.1 [pro] Depth Fine-tuned — seed 000_b358525c10bdee3f.txt (deprecated upstream).

The seed gives no bounds. Steps 1–50 (fal's FLUX.1 [pro] range; BFL's depth API also stops at 50), guidance
1–100 (BFL's published range for flux-pro-1.0-depth), images 1–4 (fal), finetune_strength 0–2 (fal's sibling
fine-tuned endpoints). The seed is 0..2³²−1 (``endpoints.base.Seed``).
"""

from __future__ import annotations

from pydantic import Field

from endpoints.base import (
    GUIDANCE_DESCRIPTION,
    SAFETY_TOLERANCE_DESCRIPTION,
    SEED_DESCRIPTION,
    SEED_UI,
    EndpointSpec,
    ImageSizeField,
    OutputFormat,
    Prompt,
    SafetyTolerance,
    Seed,
    ShortText,
    Url,
    WireModel,
    ui,
)
from endpoints.price import FAL_PRICE_LIST, PriceModel


class FluxProDepthFinetunedInput(WireModel):
    prompt: Prompt = Field(description="The prompt to generate an image from.")
    image_size: ImageSizeField = Field(
        "landscape_4_3", description="The size of the generated image.", json_schema_extra=ui("basic")
    )
    # ≤ 50: fal's FLUX.1 [pro] endpoints and BFL's own flux-pro-1.0-depth API (15–50) both stop at 50. The lower
    # bound stays 1 as before: fal may accept fewer steps than BFL's 15, and refusing them is not ours to do.
    num_inference_steps: int = Field(28, ge=1, le=50, description="The number of inference steps to perform.")
    seed: Seed | None = Field(None, description=SEED_DESCRIPTION, json_schema_extra=SEED_UI)
    # 1–100: BFL's published range for flux-pro-1.0-depth, whose default (15) this endpoint shares.
    guidance_scale: float = Field(15, ge=1, le=100, description=GUIDANCE_DESCRIPTION)
    sync_mode: bool | None = Field(
        None,
        description=(
            "If True, the media will be returned as a data URI and the output data won't be available in the "
            "request history."
        ),
    )
    num_images: int = Field(1, ge=1, le=4, description="The number of images to generate.", json_schema_extra=ui("basic"))
    output_format: OutputFormat = Field("jpeg", description="The format of the generated image.")
    safety_tolerance: SafetyTolerance = Field("2", description=SAFETY_TOLERANCE_DESCRIPTION)
    enhance_prompt: bool | None = Field(None, description="Whether to enhance the prompt for better results.")
    control_image_url: Url = Field(
        description="The control image URL to generate the depth map from.", json_schema_extra=ui("image")
    )
    finetune_id: ShortText = Field(description="References your specific model.")
    finetune_strength: float = Field(
        ge=0,
        le=2,
        description=(
            "Controls finetune influence. Increase this value if your target concept isn't showing up strongly "
            "enough. The optimal setting depends on your finetune and prompt."
        ),
    )


SPEC = EndpointSpec(
    id="fal-ai/flux-pro/v1/depth-finetuned",
    api_name="flux_pro_depth_finetuned",
    title="FLUX.1 [pro] Depth Fine-tuned — Image to Image",
    tab_label="[pro] Depth Fine-tuned ⚠",
    provider="fal",
    description="Depth-controlled generation with your own FLUX.1 [pro] fine-tune: a control image sets the layout.",
    input_model=FluxProDepthFinetunedInput,
    seed_document="000_b358525c10bdee3f.txt",
    status="deprecated",
    status_note="fal marks this endpoint deprecated: \"This model is no longer supported.\" Live calls may fail.",
    # The seed's example omits `finetune_strength`, which the same seed marks required; 1.0 completes it.
    example={
        "prompt": "A blackhole in space.",
        "image_size": "landscape_4_3",
        "num_inference_steps": 28,
        "guidance_scale": 15,
        "num_images": 1,
        "output_format": "jpeg",
        "safety_tolerance": "2",
        "control_image_url": "https://fal.media/files/penguin/vt-SeIOweN7_oYBsvGO6t.png",
        "finetune_id": "",
        "finetune_strength": 1.0,
    },
    notes=("The seed's own example leaves out the required finetune_strength; the example here adds 1.0.",),
    roles={
        "prompt": "prompt",
        "seed": "seed",
        "steps": "num_inference_steps",
        "guidance": "guidance_scale",
        "size": "image_size",
        "count": "num_images",
        "image": "control_image_url",
    },
    # fal price list, read 2026-11: $0.05/MP (the endpoint is deprecated upstream, see protocols.md).
    price=PriceModel("megapixel", 0.05, source=FAL_PRICE_LIST, read_on="2026-11"),
)
