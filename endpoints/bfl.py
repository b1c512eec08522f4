"""Black Forest Labs' own API (``POST https://api.bfl.ai/v1/<model>``): the FLUX models BFL sells directly.

Fields, bounds and defaults are BFL's (docs.bfl.ai API reference, read 2026-12; summarised in
../shared/docs/protocols.md "Black Forest Labs direct API"):

- common: ``prompt``, ``seed``, ``safety_tolerance`` (an integer, 0 strictest; 0–6 on FLUX.1, 0–5 on FLUX.2;
  default 2), ``output_format`` (``jpeg``/``png``), ``prompt_upsampling``;
- FLUX1.1 [pro]: ``width``/``height`` 256–1440, multiples of 32 (default 1024×768), ``image_prompt``;
- FLUX1.1 [pro] Ultra: ``aspect_ratio`` (21:9 … 9:21, default 16:9), ``raw``, ``image_prompt`` and
  ``image_prompt_strength`` (0–1, default 0.1);
- FLUX.1 Kontext [pro]/[max]: ``input_image`` (a URL or base64; the editing input), ``aspect_ratio``;
- FLUX.2 [pro]/[flex]/[max]: ``width``/``height`` multiples of 16 and at most 4 MP, ``input_image`` …
  ``input_image_8``; [flex] adds ``steps`` 1–50 (default 50) and ``guidance`` 1.5–10 (default 4.5).

Webhooks (``webhook_url``, ``webhook_secret``) are left out: a playground follows its own jobs. Prices are BFL's
(1 credit = $0.01): per image on FLUX.1, and on FLUX.2 per megapixel of output plus input, the first megapixel at
one rate and each further one at another.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from endpoints.base import DATA_URI_MAX_CHARS, SEED_UI, EndpointSpec, Prompt, Seed, WireModel, check_url_length, ui
from endpoints.price import PriceModel

BFL_PRICE_LIST = "BFL pricing page"
READ_ON = "2026-12"

AspectRatio = Literal["21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16", "9:21"]
OutputFormat = Literal["jpeg", "png"]

SEED_TEXT = "Optional seed for reproducibility."
UPSAMPLING_TEXT = "Whether to perform upsampling on the prompt. If active, automatically modifies the prompt for more creative generation."
SAFETY_TEXT = "Tolerance level for input and output moderation. Between 0 and {top}, 0 being most strict, {top} being least strict."
FORMAT_TEXT = "Output format for the generated image. Can be 'jpeg' or 'png'."
#: FLUX.2 sizes: multiples of 16, at most 4 MP (4,194,304 px); 64 px is the smallest side BFL's examples use.
FLUX2_SIDE_MIN, FLUX2_SIDE_MAX, FLUX2_MAX_PIXELS = 64, 4096, 4 * 1024 * 1024


_BASE64 = re.compile(r"[A-Za-z0-9+/\r\n]+={0,2}")


#: How the base64 of a JPEG, a PNG and a WebP (RIFF) file begins.
IMAGE_BASE64_STARTS = ("/9j/", "iVBORw0KGgo", "UklGR")


def is_plain_base64(value: object) -> bool:
    """An image given as BFL's own inline form: plain base64 of a JPEG, PNG or WebP file (never a URL, a data: URI
    or an upload's path, not even one without a dot: ``/tmp/gradio/<hash>/image``)."""
    return (isinstance(value, str) and len(value) > URL_MAX_BASE64_HINT and value.startswith(IMAGE_BASE64_STARTS)
            and bool(_BASE64.fullmatch(value[:4096])))


def _url_or_base64(value: str) -> str:
    """BFL's image fields take a URL or the image itself as plain base64 (which is how an upload is sent)."""
    if is_plain_base64(value):
        if len(value) > DATA_URI_MAX_CHARS:
            raise PydanticCustomError("base64_too_long", "an image given as base64 must be at most {max_mb} MB; "
                                      "upload the file instead", {"max_mb": DATA_URI_MAX_CHARS // 2**20})
        return value
    return check_url_length(value)


#: Plain base64 this long is an image, never a URL (a URL has a scheme, so ":" and "."; base64 has neither).
URL_MAX_BASE64_HINT = 64
#: A URL, a ``data:`` URI or plain base64 (BFL's own form of an inline image), or an upload's local path.
UrlOrBase64 = Annotated[str, AfterValidator(_url_or_base64)]


class _BflInput(WireModel):
    prompt: Prompt = Field(description="Text prompt for image generation.")
    seed: Seed | None = Field(None, description=SEED_TEXT, json_schema_extra=SEED_UI)


class FluxPro11Input(_BflInput):
    width: int = Field(1024, ge=256, le=1440, multiple_of=32, description="Width of the generated image in pixels. Must be a multiple of 32.")
    height: int = Field(768, ge=256, le=1440, multiple_of=32, description="Height of the generated image in pixels. Must be a multiple of 32.")
    prompt_upsampling: bool = Field(False, description=UPSAMPLING_TEXT)
    safety_tolerance: int = Field(2, ge=0, le=6, description=SAFETY_TEXT.format(top=6))
    output_format: OutputFormat = Field("jpeg", description=FORMAT_TEXT)
    image_prompt: UrlOrBase64 | None = Field(
        None, description="Optional image to remix (a URL or base64).", json_schema_extra=ui("image")
    )


class FluxPro11UltraInput(_BflInput):
    aspect_ratio: AspectRatio = Field("16:9", description="Aspect ratio of the image between 21:9 and 9:21.")
    raw: bool = Field(False, description="Generate less processed, more natural-looking images.")
    prompt_upsampling: bool = Field(False, description=UPSAMPLING_TEXT)
    safety_tolerance: int = Field(2, ge=0, le=6, description=SAFETY_TEXT.format(top=6))
    output_format: OutputFormat = Field("jpeg", description=FORMAT_TEXT)
    image_prompt: UrlOrBase64 | None = Field(
        None, description="Optional image to remix (a URL or base64).", json_schema_extra=ui("image")
    )
    image_prompt_strength: float = Field(0.1, ge=0, le=1, description="Blend between the prompt and the image prompt.")


class FluxKontextInput(_BflInput):
    input_image: UrlOrBase64 | None = Field(
        None, description="Image to use as reference (a URL or base64). Edits it by the prompt.",
        json_schema_extra=ui("image", "basic"),
    )
    aspect_ratio: AspectRatio | None = Field(None, description="Aspect ratio of the image between 21:9 and 9:21.")
    prompt_upsampling: bool = Field(False, description=UPSAMPLING_TEXT)
    safety_tolerance: int = Field(2, ge=0, le=6, description=SAFETY_TEXT.format(top=6))
    output_format: OutputFormat = Field("png", description=FORMAT_TEXT)


class Flux2Input(_BflInput):
    width: int = Field(1024, ge=FLUX2_SIDE_MIN, le=FLUX2_SIDE_MAX, multiple_of=16, description="Output width in pixels. Must be a multiple of 16.")
    height: int = Field(1024, ge=FLUX2_SIDE_MIN, le=FLUX2_SIDE_MAX, multiple_of=16, description="Output height in pixels. Must be a multiple of 16.")
    input_image: UrlOrBase64 | None = Field(
        None, description="Reference image for editing (a URL or base64).", json_schema_extra=ui("image")
    )
    prompt_upsampling: bool = Field(True, description=UPSAMPLING_TEXT)
    safety_tolerance: int = Field(2, ge=0, le=5, description=SAFETY_TEXT.format(top=5))
    output_format: OutputFormat = Field("jpeg", description=FORMAT_TEXT)

    @model_validator(mode="after")
    def _at_most_4_mp(self) -> Flux2Input:
        if self.width * self.height > FLUX2_MAX_PIXELS:
            raise PydanticCustomError("too_many_pixels", "width × height must be at most 4 MP (4,194,304 pixels)")
        return self


class Flux2FlexInput(Flux2Input):
    steps: int = Field(50, ge=1, le=50, description="Number of inference steps.")
    guidance: float = Field(4.5, ge=1.5, le=10, description="Guidance scale: how closely the image follows the prompt.")


def _spec(
    model: str, title: str, input_model: type[WireModel], example: dict[str, Any], roles: dict[str, str],
    price: PriceModel, description: str,
) -> EndpointSpec:
    return EndpointSpec(
        id=model,
        api_name="bfl_" + model.replace("-", "_").replace(".", "_"),
        title=f"{title} (Black Forest Labs)",
        tab_label=f"{title} · BFL",
        provider="bfl",
        description=description,
        input_model=input_model,
        example=example,
        seed_document="",
        roles=roles,  # type: ignore[arg-type]
        price=price,
    )


def _per_image(usd: float) -> PriceModel:
    return PriceModel("image", usd, source=BFL_PRICE_LIST, read_on=READ_ON)


def _flux2(first: float, extra: float) -> PriceModel:
    return PriceModel("megapixel", first, source=BFL_PRICE_LIST, read_on=READ_ON, extra_unit_price_usd=extra,
                      counts_input_images=True)


PROMPT = "A lighthouse on a rocky coast at dusk, warm light in the windows, waves breaking, cinematic"
SIZED = {"prompt": "prompt", "seed": "seed"}
WH = {"width": "width", "height": "height"}

SPECS: tuple[EndpointSpec, ...] = (
    _spec("flux-pro-1.1", "FLUX1.1 [pro]", FluxPro11Input, {"prompt": PROMPT, "width": 1024, "height": 768},
          {**SIZED, **WH, "image": "image_prompt"}, _per_image(0.04), "BFL's fast FLUX1.1 [pro] text-to-image model."),
    _spec("flux-pro-1.1-ultra", "FLUX1.1 [pro] Ultra", FluxPro11UltraInput, {"prompt": PROMPT, "aspect_ratio": "16:9"},
          {**SIZED, "image": "image_prompt"}, _per_image(0.06), "FLUX1.1 [pro] at up to 4 MP, with a raw mode."),
    _spec("flux-kontext-pro", "FLUX.1 Kontext [pro]", FluxKontextInput, {"prompt": PROMPT},
          {**SIZED, "image": "input_image"}, _per_image(0.04), "Image editing and generation by instruction."),
    _spec("flux-kontext-max", "FLUX.1 Kontext [max]", FluxKontextInput, {"prompt": PROMPT},
          {**SIZED, "image": "input_image"}, _per_image(0.08), "Kontext at its best typography and prompt adherence."),
    _spec("flux-2-pro", "FLUX.2 [pro]", Flux2Input, {"prompt": PROMPT, "width": 1024, "height": 1024},
          {**SIZED, **WH, "image": "input_image"}, _flux2(0.03, 0.015), "FLUX.2 [pro]: generation and multi-reference editing."),
    _spec("flux-2-flex", "FLUX.2 [flex]", Flux2FlexInput, {"prompt": PROMPT, "width": 1024, "height": 1024},
          {**SIZED, **WH, "image": "input_image", "steps": "steps", "guidance": "guidance"}, _flux2(0.05, 0.05),
          "FLUX.2 [flex]: steps and guidance under your control."),
    _spec("flux-2-max", "FLUX.2 [max]", Flux2Input, {"prompt": PROMPT, "width": 1024, "height": 1024},
          {**SIZED, **WH, "image": "input_image"}, _flux2(0.07, 0.03), "FLUX.2 [max]: BFL's highest-quality FLUX.2."),
)
