"""What an endpoint is, and the schema pieces the FLUX endpoints share.

An endpoint declaration knows nothing of Gradio or HTTP. Its pydantic models are the single source of truth for
the form (components/form.py), the provider JSON (``to_wire``) and the sandbox's validation.

UI hints travel in the JSON schema under the ``x-ui`` key so the form builder can read them from
``model_json_schema()`` alone:

- ``"image"``: a URL field that takes an image (upload or URL),
- ``"textarea"``: multi-line text (prompts),
- ``"basic"``: an optional field worth showing outside the "Advanced" section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ProviderName = Literal["fal", "segmind"]
UpstreamStatus = Literal["active", "deprecated"]


def ui(*hints: str) -> dict[str, Any]:
    """``json_schema_extra`` carrying form hints (see module docstring)."""
    return {"x-ui": list(hints)}


class WireModel(BaseModel):
    """Base of every input model: unknown fields are rejected, unset optionals are not sent."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body the provider expects: optional fields left unset are omitted, never sent as null."""
        return self.model_dump(mode="json", exclude_none=True)


ImageSizePreset = Literal["square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"]

#: Pixel sizes of fal's presets (fal docs, "Image Sizes").
IMAGE_SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}

#: fal's published ImageSize accepts 1..14142 per side.
IMAGE_SIDE_MAX = 14142


class ImageSize(WireModel):
    """Custom image size, for when no preset fits."""

    width: int = Field(512, ge=1, le=IMAGE_SIDE_MAX, description="The width of the generated image.")
    height: int = Field(512, ge=1, le=IMAGE_SIDE_MAX, description="The height of the generated image.")


ImageSizeField = ImageSizePreset | ImageSize

OutputFormat = Literal["jpeg", "png"]
SafetyTolerance = Literal["1", "2", "3", "4", "5", "6"]

Prompt = Annotated[str, Field(json_schema_extra=ui("textarea"))]

SEED_DESCRIPTION = (
    "The same seed and the same prompt given to the same version of the model will output the same image every time."
)
GUIDANCE_DESCRIPTION = (
    "The CFG (Classifier Free Guidance) scale is a measure of how close you want the model to stick to your prompt "
    "when looking for a related image to show you."
)
SYNC_MODE_DESCRIPTION = (
    "If set to true, the function will wait for the image to be generated and uploaded before returning the "
    "response. This will increase the latency of the function but it allows you to get the image directly in the "
    "response without going through the CDN."
)
SAFETY_TOLERANCE_DESCRIPTION = (
    "The safety tolerance level for the generated image. 1 being the most strict and 5 being the most permissive. "
    "API only."
)


class FalImage(BaseModel):
    url: str
    width: int | None = None
    height: int | None = None
    content_type: str = "image/jpeg"


class FalImageOutput(BaseModel):
    """Output shared by the fal FLUX endpoints."""

    images: list[FalImage] = Field(description="The generated image files info.")
    timings: dict[str, float] = Field(default_factory=dict)
    seed: int = Field(description="Seed of the generated image: the one passed in, or the random one used.")
    has_nsfw_concepts: list[bool] = Field(description="Whether the generated images contain NSFW concepts.")
    prompt: str = Field(description="The prompt used for generating the image.")


@dataclass(frozen=True, eq=False)  # identity hash: one object per endpoint
class EndpointSpec:
    """One hosted endpoint: identity, provider, models and the seed document's example input."""

    id: str
    api_name: str
    title: str
    provider: ProviderName
    description: str
    input_model: type[WireModel]
    output_model: type[BaseModel] | None
    example: dict[str, Any]
    seed_document: str
    status: UpstreamStatus = "active"
    status_note: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    tab_label: str = ""  # a short label for the tab strip; the full title heads the tab

    @property
    def label(self) -> str:
        return self.tab_label or self.title

    def build_input(self, values: dict[str, Any]) -> WireModel:
        """Validate values (by field name) into this endpoint's input model; raises pydantic's ValidationError."""
        return self.input_model.model_validate(values)
