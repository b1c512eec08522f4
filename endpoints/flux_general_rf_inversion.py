"""FLUX.1 [dev] with ControlNets and LoRAs, RF-inversion image to image — seed 003_fe6df67f1ce897b1.txt.

The seed names the nested types; where it omits a field's name, fal's published schema supplies it
(``../shared/docs/protocols.md``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from endpoints.base import (
    GUIDANCE_DESCRIPTION,
    SEED_DESCRIPTION,
    EndpointSpec,
    FalImageOutput,
    ImageSizeField,
    OutputFormat,
    Prompt,
    WireModel,
    ui,
)

LoraScale = float | dict[str, float]
LORA_SCALE_DESCRIPTION = (
    "The scale of the LoRA weight, applied before merging it with the base model. A dictionary "
    '{"layer_name": layer_scale} sets per-layer scales; layers not named keep 1.0.'
)


class LoraWeight(WireModel):
    path: str = Field(description="URL or the path to the LoRA weights.")
    scale: LoraScale = Field(1.0, description=LORA_SCALE_DESCRIPTION)


class ControlLoraWeight(WireModel):
    path: str = Field(description="URL or the path to the LoRA weights.")
    scale: LoraScale = Field(1.0, description=LORA_SCALE_DESCRIPTION)
    control_image_url: str = Field(description="URL of the image to be used as the control image.")
    preprocess: Literal["canny", "depth", "None"] = Field(
        "None", description="Type of preprocessing to apply to the input image."
    )


class ControlNet(WireModel):
    path: str = Field(description="URL or the path to the control net weights.")
    config_url: str | None = Field(None, description="Optional URL to the controlnet config.json file.")
    variant: str | None = Field(None, description="The optional variant if a Hugging Face repo key is used.")
    control_image_url: str = Field(description="URL of the image to be used as the control image.")
    mask_image_url: str | None = Field(None, description="URL of the mask for the control image.")
    mask_threshold: float = Field(0.5, ge=0, le=1, description="Threshold for mask.")
    conditioning_scale: float = Field(1.0, description="The scale of the control net weight.")
    start_percentage: float = Field(
        0.0, ge=0, le=1, description="When to start applying the controlnet, as a fraction of the total timesteps."
    )
    end_percentage: float = Field(
        1.0, ge=0, le=1, description="When to stop applying the controlnet, as a fraction of the total timesteps."
    )


ControlMode = Literal["canny", "tile", "depth", "blur", "pose", "gray", "low-quality"]


class ControlNetUnionInput(WireModel):
    control_image_url: str = Field(description="URL of the image to be used as the control image.")
    mask_image_url: str | None = Field(None, description="URL of the mask for the control image.")
    control_mode: ControlMode = Field(description="Control mode for the control image.")
    conditioning_scale: float = Field(1.0, description="The scale of the control net weight.")
    mask_threshold: float = Field(0.5, ge=0, le=1, description="Threshold for mask.")
    start_percentage: float = Field(0.0, ge=0, le=1, description="When to start applying this control.")
    end_percentage: float = Field(1.0, ge=0, le=1, description="When to stop applying this control.")


class ControlNetUnion(WireModel):
    path: str = Field(description="URL or the path to the control net weights.")
    config_url: str | None = Field(None, description="Optional URL to the controlnet config.json file.")
    variant: str | None = Field(None, description="The optional variant if a Hugging Face repo key is used.")
    controls: list[ControlNetUnionInput] = Field(description="The control images and modes to use for the control net.")


class EasyControlWeight(WireModel):
    control_method_url: str = Field(
        description=(
            "URL to safetensor weights of control method to be applied. Can also be one of canny, depth, hedsketch, "
            "inpainting, pose, seg, subject, ghibli."
        )
    )
    scale: float = Field(1.0, description="Scale for the control method.")
    image_url: str = Field(description="URL of an image to use as a control.")
    image_control_type: Literal["subject", "spatial"] = Field(description="Control type of the image.")


class ImageFillInput(WireModel):
    fill_image_url: str | list[str] = Field(description="URL(s) of the image(s) to fill masked areas with.")


class FluxGeneralRfInversionInput(WireModel):
    prompt: Prompt = Field(description="The prompt to edit the image with.")
    image_size: ImageSizeField | None = Field(
        None, description="The size of the generated image (default: the input image's size).", json_schema_extra=ui("basic")
    )
    num_inference_steps: int = Field(28, ge=1, description="The number of inference steps to perform.")
    seed: int | None = Field(None, description=SEED_DESCRIPTION, json_schema_extra=ui("basic"))
    loras: list[LoraWeight] = Field(
        default_factory=list,
        description="LoRAs to use; any number of them are merged together to generate the final image.",
    )
    control_loras: list[ControlLoraWeight] = Field(
        default_factory=list,
        description="LoRAs that use a control image; any number of them are merged together.",
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
        default_factory=list, description="EasyControl inputs to use for image generation."
    )
    fill_image: ImageFillInput | None = Field(
        None, description="Use an image input to influence the generation. Can be used to fill images in masked areas."
    )
    guidance_scale: float = Field(3.5, ge=0, description=GUIDANCE_DESCRIPTION)
    use_cfg_zero: bool = Field(False, description="Uses CFG-zero init sampling (arXiv 2503.18886).")
    sync_mode: bool = Field(
        False,
        description=(
            "If set to true, the function will wait for the image to be generated and uploaded before returning the "
            "response, so the image comes directly in the response instead of through the CDN."
        ),
    )
    num_images: int = Field(
        1,
        ge=1,
        description="The number of images to generate. This is always set to 1 for streaming output.",
        json_schema_extra=ui("basic"),
    )
    enable_safety_checker: bool = Field(True, description="If set to true, the safety checker will be enabled.")
    reference_image_url: str | None = Field(
        None, description="URL of Image for Reference-Only.", json_schema_extra=ui("image")
    )
    reference_strength: float = Field(
        0.65, description="Strength of reference_only generation. Only used if a reference image is provided."
    )
    reference_start: float = Field(
        0.0, ge=0, le=1, description="The percentage of the total timesteps when the reference guidance is to be started."
    )
    reference_end: float = Field(
        1.0, ge=0, le=1, description="The percentage of the total timesteps when the reference guidance is to be ended."
    )
    base_shift: float = Field(0.5, description="Base shift for the scheduled timesteps.")
    max_shift: float = Field(1.15, description="Max shift for the scheduled timesteps.")
    output_format: OutputFormat = Field("png", description="The format of the generated image.")
    use_beta_schedule: bool = Field(False, description="Specifies whether beta sigmas ought to be used.")
    sigma_schedule: Literal["sgm_uniform"] | None = Field(
        None, description="Sigmas schedule for the denoising process."
    )
    scheduler: Literal["euler", "dpmpp_2m"] = Field("euler", description="Scheduler for the denoising process.")
    image_url: str = Field(description="URL of image to be edited.", json_schema_extra=ui("image"))
    controller_guidance_forward: float = Field(
        0.6, description="The controller guidance (gamma) used in the creation of structured noise."
    )
    controller_guidance_reverse: float = Field(
        0.75,
        description=(
            "The controller guidance (eta) used in the denoising process. Values closer to 1 give an image closer "
            "to the input."
        ),
    )
    reverse_guidance_start: int = Field(0, ge=0, description="Timestep to start guidance during reverse process.")
    reverse_guidance_end: int = Field(8, ge=0, description="Timestep to stop guidance during reverse process.")
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
    output_model=FalImageOutput,
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
)
