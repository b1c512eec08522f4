"""FLUX.1 [dev] with ControlNets and LoRAs, RF-inversion image to image — seed 003_fe6df67f1ce897b1.txt.

The seed names the nested types; where it omits a field's name, fal's published schema supplies it
(``../shared/docs/protocols.md``).

Bounds. The seed gives only 0–1 for the reference and ControlNet percentages and mask thresholds, at most one
ControlNet and one ControlNet union, and ≥ 0 for guidance and the reverse-guidance timesteps. The rest is ours,
argued beside each field:

- steps 1–50 and guidance 0–20, as fal publishes for its other FLUX.1 [dev] endpoints;
- images 1–4: the seed's "always set to 1" is for streaming output only, and the app uses the queue; 1–4 is
  fal's range for its other FLUX endpoints;
- reverse-guidance start/end 0–50 (timestep indices: never beyond the 50 steps);
- controller guidance (γ forward, η reverse) 0–1, the RF-Inversion paper's range (arXiv 2410.10792);
- reference strength −3–3; base/max shift 0–5;
- LoRA, control-LoRA and EasyControl scales −4–4, per-layer dictionaries included (at most 1,000 layers);
- ControlNet and ControlNet-union conditioning scales 0–10 (ComfyUI's Apply ControlNet range);
- at most 8 LoRAs, control LoRAs, EasyControls, union controls and fill images.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from endpoints.base import (
    GUIDANCE_DESCRIPTION,
    SEED_DESCRIPTION,
    SEED_UI,
    EndpointSpec,
    ImageSizeField,
    OutputFormat,
    Prompt,
    Seed,
    ShortText,
    Url,
    WireModel,
    ui,
)
from endpoints.price import FAL_PRICE_LIST, PriceModel

#: No published limit: fal merges "any number" of LoRAs. Each one is downloaded and merged before the first step,
#: and 1–3 is the usual count; 8 leaves room without letting one request load dozens. The same bound serves the
#: other lists that have no limit of their own (control LoRAs, EasyControls, union controls, fill images).
MAX_LIST_ITEMS = 8
#: LoRA strength: no published limit. Past ±4 a LoRA only destroys the image (A1111/ComfyUI sliders stop at ±2 to
#: ±10); −4..4 keeps negative weights (pushing a concept away) and over-weighting.
LORA_SCALE_MIN, LORA_SCALE_MAX = -4.0, 4.0
#: Per-layer LoRA scales name transformer layers; FLUX.1 [dev] has a few hundred LoRA-able layers.
MAX_LORA_LAYERS = 1_000
#: ControlNet strength: no published limit; 0–10 is ComfyUI's Apply ControlNet range. Negative has no meaning.
CONDITIONING_SCALE_MAX = 10.0

ScaleValue = Annotated[float, Field(ge=LORA_SCALE_MIN, le=LORA_SCALE_MAX)]
LoraScale = ScaleValue | Annotated[dict[ShortText, ScaleValue], Field(max_length=MAX_LORA_LAYERS)]
LORA_SCALE_DESCRIPTION = (
    "The scale of the LoRA weight, applied before merging it with the base model. A dictionary "
    '{"layer_name": layer_scale} sets per-layer scales; layers not named keep 1.0.'
)


class LoraWeight(WireModel):
    path: Url = Field(description="URL or the path to the LoRA weights.")
    scale: LoraScale = Field(1.0, description=LORA_SCALE_DESCRIPTION)


class ControlLoraWeight(WireModel):
    path: Url = Field(description="URL or the path to the LoRA weights.")
    scale: LoraScale = Field(1.0, description=LORA_SCALE_DESCRIPTION)
    control_image_url: Url = Field(description="URL of the image to be used as the control image.")
    preprocess: Literal["canny", "depth", "None"] = Field(
        "None", description="Type of preprocessing to apply to the input image."
    )


class ControlNet(WireModel):
    path: Url = Field(description="URL or the path to the control net weights.")
    config_url: Url | None = Field(None, description="Optional URL to the controlnet config.json file.")
    variant: ShortText | None = Field(None, description="The optional variant if a Hugging Face repo key is used.")
    control_image_url: Url = Field(description="URL of the image to be used as the control image.")
    mask_image_url: Url | None = Field(None, description="URL of the mask for the control image.")
    mask_threshold: float = Field(0.5, ge=0, le=1, description="Threshold for mask.")
    conditioning_scale: float = Field(
        1.0, ge=0, le=CONDITIONING_SCALE_MAX, description="The scale of the control net weight."
    )
    start_percentage: float = Field(
        0.0, ge=0, le=1, description="When to start applying the controlnet, as a fraction of the total timesteps."
    )
    end_percentage: float = Field(
        1.0, ge=0, le=1, description="When to stop applying the controlnet, as a fraction of the total timesteps."
    )


ControlMode = Literal["canny", "tile", "depth", "blur", "pose", "gray", "low-quality"]


class ControlNetUnionInput(WireModel):
    control_image_url: Url = Field(description="URL of the image to be used as the control image.")
    mask_image_url: Url | None = Field(None, description="URL of the mask for the control image.")
    control_mode: ControlMode = Field(description="Control mode for the control image.")
    conditioning_scale: float = Field(
        1.0, ge=0, le=CONDITIONING_SCALE_MAX, description="The scale of the control net weight."
    )
    mask_threshold: float = Field(0.5, ge=0, le=1, description="Threshold for mask.")
    start_percentage: float = Field(0.0, ge=0, le=1, description="When to start applying this control.")
    end_percentage: float = Field(1.0, ge=0, le=1, description="When to stop applying this control.")


class ControlNetUnion(WireModel):
    path: Url = Field(description="URL or the path to the control net weights.")
    config_url: Url | None = Field(None, description="Optional URL to the controlnet config.json file.")
    variant: ShortText | None = Field(None, description="The optional variant if a Hugging Face repo key is used.")
    controls: list[ControlNetUnionInput] = Field(
        max_length=MAX_LIST_ITEMS,  # 7 control modes; one limit for every open-ended list
        description="The control images and modes to use for the control net.",
    )


class EasyControlWeight(WireModel):
    control_method_url: Url = Field(
        description=(
            "URL to safetensor weights of control method to be applied. Can also be one of canny, depth, hedsketch, "
            "inpainting, pose, seg, subject, ghibli."
        )
    )
    # EasyControl methods are condition LoRAs, so their scale takes the LoRA bounds.
    scale: float = Field(1.0, ge=LORA_SCALE_MIN, le=LORA_SCALE_MAX, description="Scale for the control method.")
    image_url: Url = Field(description="URL of an image to use as a control.")
    image_control_type: Literal["subject", "spatial"] = Field(description="Control type of the image.")


class ImageFillInput(WireModel):
    fill_image_url: Url | Annotated[list[Url], Field(max_length=MAX_LIST_ITEMS)] = Field(
        description="URL(s) of the image(s) to fill masked areas with."
    )


class FluxGeneralRfInversionInput(WireModel):
    prompt: Prompt = Field(description="The prompt to edit the image with.")
    image_size: ImageSizeField | None = Field(
        None, description="The size of the generated image (default: the input image's size).", json_schema_extra=ui("basic")
    )
    # ≤ 50: no published limit; fal's FLUX.1 [dev] endpoints (dev, image-to-image, LoRA) all stop at 50.
    num_inference_steps: int = Field(28, ge=1, le=50, description="The number of inference steps to perform.")
    seed: Seed | None = Field(None, description=SEED_DESCRIPTION, json_schema_extra=SEED_UI)
    loras: list[LoraWeight] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="LoRAs to use (up to 8); they are merged together to generate the final image.",
    )
    control_loras: list[ControlLoraWeight] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="LoRAs that use a control image (up to 8); they are merged together.",
    )
    controlnets: list[ControlNet] = Field(
        default_factory=list,
        max_length=1,
        description="The controlnets to use. Only one controlnet is supported at the moment.",
    )
    controlnet_unions: list[ControlNetUnion] = Field(
        default_factory=list,
        max_length=1,
        description="The controlnet unions to use. Only one controlnet is supported at the moment.",
    )
    easycontrols: list[EasyControlWeight] = Field(
        default_factory=list,
        max_length=MAX_LIST_ITEMS,
        description="EasyControl inputs to use for image generation (up to 8).",
    )
    fill_image: ImageFillInput | None = Field(
        None, description="Use an image input to influence the generation. Can be used to fill images in masked areas."
    )
    # ≤ 20: no published limit here; fal's FLUX.1 [dev] endpoints publish guidance 1–20. The seed's ≥ 0 stays.
    guidance_scale: float = Field(3.5, ge=0, le=20, description=GUIDANCE_DESCRIPTION)
    use_cfg_zero: bool = Field(False, description="Uses CFG-zero init sampling (arXiv 2503.18886).")
    sync_mode: bool = Field(
        False,
        description=(
            "If set to true, the function will wait for the image to be generated and uploaded before returning the "
            "response, so the image comes directly in the response instead of through the CDN."
        ),
    )
    # 1–4: the seed's "always set to 1" applies to streaming output only (the app uses the queue); fal's other
    # FLUX endpoints publish 1–4.
    num_images: int = Field(
        1,
        ge=1,
        le=4,
        description="The number of images to generate. This is always set to 1 for streaming output.",
        json_schema_extra=ui("basic"),
    )
    enable_safety_checker: bool = Field(True, description="If set to true, the safety checker will be enabled.")
    reference_image_url: Url | None = Field(
        None, description="URL of Image for Reference-Only.", json_schema_extra=ui("image")
    )
    # −3..3: no published limit. A multiplier on the reference attention (default 0.65); negative pushes away from
    # the reference, and beyond ±3 only noise is left.
    reference_strength: float = Field(
        0.65,
        ge=-3,
        le=3,
        description="Strength of reference_only generation. Only used if a reference image is provided.",
    )
    reference_start: float = Field(
        0.0, ge=0, le=1, description="The percentage of the total timesteps when the reference guidance is to be started."
    )
    reference_end: float = Field(
        1.0, ge=0, le=1, description="The percentage of the total timesteps when the reference guidance is to be ended."
    )
    # 0–5: no published limit. The scheduler shifts timesteps by exp(mu), mu between base_shift and max_shift
    # (defaults 0.5 and 1.15); exp(5) ≈ 148 is already far past any useful schedule.
    base_shift: float = Field(0.5, ge=0, le=5, description="Base shift for the scheduled timesteps.")
    max_shift: float = Field(1.15, ge=0, le=5, description="Max shift for the scheduled timesteps.")
    output_format: OutputFormat = Field("png", description="The format of the generated image.")
    use_beta_schedule: bool = Field(False, description="Specifies whether beta sigmas ought to be used.")
    sigma_schedule: Literal["sgm_uniform"] | None = Field(
        None, description="Sigmas schedule for the denoising process."
    )
    scheduler: Literal["euler", "dpmpp_2m"] = Field("euler", description="Scheduler for the denoising process.")
    image_url: Url = Field(description="URL of image to be edited.", json_schema_extra=ui("image"))
    # 0–1: the RF-Inversion paper's controller strengths γ and η (arXiv 2410.10792); the seed: "values closer to 1
    # give an image closer to the input".
    controller_guidance_forward: float = Field(
        0.6, ge=0, le=1, description="The controller guidance (gamma) used in the creation of structured noise."
    )
    controller_guidance_reverse: float = Field(
        0.75,
        ge=0,
        le=1,
        description=(
            "The controller guidance (eta) used in the denoising process. Values closer to 1 give an image closer "
            "to the input."
        ),
    )
    # ≤ 50: timestep indices, so never beyond the 50 steps allowed above.
    reverse_guidance_start: int = Field(0, ge=0, le=50, description="Timestep to start guidance during reverse process.")
    reverse_guidance_end: int = Field(8, ge=0, le=50, description="Timestep to stop guidance during reverse process.")
    reverse_guidance_schedule: Literal["constant", "linear_increase", "linear_decrease"] = Field(
        "constant", description="Scheduler for applying reverse guidance."
    )


SPEC = EndpointSpec(
    id="fal-ai/flux-general/rf-inversion",
    api_name="flux_general_rf_inversion",
    title="FLUX.1 [dev] with ControlNets and LoRAs — Image to Image (RF-Inversion)",
    tab_label="[dev] ControlNets + LoRAs",
    provider="fal",
    description=(
        "Edit an image by prompt with RF-inversion on FLUX.1 [dev], with LoRAs, ControlNets, EasyControl and "
        "reference images."
    ),
    input_model=FluxGeneralRfInversionInput,
    seed_document="003_fe6df67f1ce897b1.txt",
    example={
        "prompt": "Wearing glasses",
        "num_inference_steps": 28,
        "controlnets": [],
        "controlnet_unions": [],
        "easycontrols": [],
        "guidance_scale": 3.5,
        "num_images": 1,
        "enable_safety_checker": True,
        "reference_strength": 0.65,
        "reference_end": 1,
        "base_shift": 0.5,
        "max_shift": 1.15,
        "output_format": "png",
        "scheduler": "euler",
        "image_url": "https://storage.googleapis.com/falserverless/flux-general-tests/anime_style.png",
        "controller_guidance_forward": 0.6,
        "controller_guidance_reverse": 0.75,
        "reverse_guidance_end": 8,
        "reverse_guidance_schedule": "constant",
    },
    notes=(
        "The seed also documents an IPAdapter type but lists no input field that takes it; it is not modelled.",
    ),
    roles={
        "prompt": "prompt",
        "seed": "seed",
        "steps": "num_inference_steps",
        "guidance": "guidance_scale",
        "size": "image_size",
        "count": "num_images",
        "image": "image_url",
    },
    # fal price list, read 2026-11: $0.075/MP (FLUX.1 [dev] general endpoint, RF-inversion pipeline).
    price=PriceModel("megapixel", 0.075, source=FAL_PRICE_LIST, read_on="2026-11"),
)
