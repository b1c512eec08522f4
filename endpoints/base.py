"""What an endpoint is, and the schema pieces the FLUX endpoints share.

An endpoint declaration knows nothing of Gradio or HTTP. Its pydantic models are the single source of truth for
the form (components/form.py), the provider JSON (``to_wire``) and the sandbox's validation.

UI hints travel in the JSON schema under the ``x-ui`` key so the form builder can read them from
``model_json_schema()`` alone:

- ``"image"``: a URL field that takes an image (upload or URL),
- ``"textarea"``: multi-line text (prompts),
- ``"basic"``: an optional field worth showing outside the "Advanced" section,
- ``"number"``: a bounded number to type in a box, not to slide (a seed: 0..2³²−1 is too wide for a slider).

Hostile input is refused here, before anything is billed or encoded (every input model derives from
``WireModel``, nested ones included):

- every number is bounded, by the provider's published range where there is one, else by a bound argued in a
  comment beside the field; NaN and ±Infinity are refused everywhere (``must be a finite number``);
- seeds are ``Seed``: 0 ≤ seed ≤ 2³²−1, an unsigned 32-bit integer (2⁶⁴ used to be accepted, billed, and then
  could not be shown; JavaScript loses integers above 2⁵³);
- text that is not valid Unicode (a lone surrogate such as ``"\\ud800"``, which cannot be encoded as UTF-8 JSON)
  is refused in every string field, including list items and dictionary keys;
- prompts take at most ``PROMPT_MAX_CHARS`` characters; URL fields (``Url``) at most ``URL_MAX_CHARS``, or
  ``DATA_URI_MAX_CHARS`` for a ``data:`` URI; short identifiers (``ShortText``) at most ``SHORT_TEXT_MAX_CHARS``;
  lists are bounded in length.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from endpoints.price import PriceModel

ProviderName = Literal["fal", "segmind", "bfl"]
UpstreamStatus = Literal["active", "deprecated"]


@cache
def model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model.model_json_schema()``, made once per model: pydantic builds it anew on every call (2-5 ms for an
    endpoint's input), and building the app reads each endpoint's several times (form, API, MCP, Models tab).
    Shared between its readers: read it, never change it."""
    return model.model_json_schema()


def ui(*hints: str) -> dict[str, Any]:
    """``json_schema_extra`` carrying form hints (see module docstring)."""
    return {"x-ui": list(hints)}


def _is_valid_text(value: str) -> bool:
    """False for strings holding lone surrogates (``"\\ud800"``): they have no UTF-8 encoding, so JSON fails."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(value: Any) -> None:
    """Raise ``invalid_text`` if ``value`` is, or directly holds (list items, dict keys and values), bad text."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, Mapping):
        items = [*value.keys(), *value.values()]
    else:
        return
    if any(isinstance(item, str) and not _is_valid_text(item) for item in items):
        raise PydanticCustomError("invalid_text", "contains characters that are not valid text")


class WireModel(BaseModel):
    """Base of every input model: unknown fields are rejected, unset optionals are not sent.

    NaN and ±Infinity are refused in every float (``allow_inf_nan=False``; nested models derive from this class
    too), and every string field is checked for text that cannot be encoded (see module docstring).
    """

    model_config = ConfigDict(extra="forbid", use_enum_values=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_invalid_text(cls, value: Any) -> Any:
        _check_text(value)
        return value

    def to_wire(self) -> dict[str, Any]:
        """The JSON body the provider expects: optional fields left unset are omitted, never sent as null."""
        return self.model_dump(mode="json", exclude_none=True)


#: Seeds are unsigned 32-bit integers on every endpoint. Neither the seeds nor ../shared/docs/protocols.md give a
#: range, so this is the "Hostile input" issue's choice; larger seeds were billed and then could not be shown.
SEED_MAX = 2**32 - 1
Seed = Annotated[int, Field(ge=0, le=SEED_MAX)]
#: Form hints of a seed field: typed in a number box (a slider over 0..2³²−1 is useless), shown outside "Advanced".
SEED_UI = ui("basic", "number")

#: A prompt far longer than any model reads (FLUX's T5 encoder reads 512 tokens, ~2,000 characters), with room.
PROMPT_MAX_CHARS = 10_000
#: Plain URLs: 2,048 characters, the practical limit of browsers and CDNs (and of fal's own file URLs by far).
URL_MAX_CHARS = 2_048
#: ``data:`` URIs: 20 MiB of text (a ~15 MB image in base64). ../shared/docs/protocols.md reports fal failing on
#: data URIs from ~3–10 MB; uploading the file is the better path (the app uploads the page's files itself).
DATA_URI_MAX_CHARS = 20 * 2**20
#: Identifiers (a fine-tune id, a Hugging Face variant, a LoRA layer name): far above any real one.
SHORT_TEXT_MAX_CHARS = 256


def check_url_length(value: str) -> str:
    if value[:5].lower() == "data:":
        if len(value) > DATA_URI_MAX_CHARS:
            raise PydanticCustomError(
                "data_uri_too_long",
                "a data: URI must be at most {max_mb} MB; upload the file instead",
                {"max_mb": DATA_URI_MAX_CHARS // 2**20},
            )
    elif len(value) > URL_MAX_CHARS:
        raise PydanticCustomError(
            "url_too_long", "must be at most {max_length} characters", {"max_length": URL_MAX_CHARS}
        )
    return value


Prompt = Annotated[str, Field(max_length=PROMPT_MAX_CHARS, json_schema_extra=ui("textarea"))]
#: A URL (http(s) or ``data:``), or an upload's local path that the provider layer uploads first.
Url = Annotated[str, AfterValidator(check_url_length)]
ShortText = Annotated[str, Field(max_length=SHORT_TEXT_MAX_CHARS)]


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
    """Output shared by the fal FLUX endpoints (the sandbox's tests check its responses against it)."""

    images: list[FalImage] = Field(description="The generated image files info.")
    timings: dict[str, float] = Field(default_factory=dict)
    seed: int = Field(description="Seed of the generated image: the one passed in, or the random one used.")
    has_nsfw_concepts: list[bool] = Field(description="Whether the generated images contain NSFW concepts.")
    prompt: str = Field(description="The prompt used for generating the image.")


#: What a field means, for everything that needs more than its name: sweeps map fields across endpoints by role,
#: image metadata writes "Steps" and "CFG scale" from them, the sandbox draws them, estimates read size and count.
#: ``image`` is the one input image (``image_url``, ``control_image``), ``images`` a list of them (``image_urls``).
#: ``size`` is fal's ``image_size`` (a preset or ``{width, height}``); ``width``/``height`` are separate integer fields
#: (Black Forest Labs' API).
Role = Literal[
    "prompt", "negative_prompt", "seed", "steps", "guidance", "size", "width", "height", "count", "image", "images",
    "strength",
]
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True, eq=False)  # identity hash: one object per endpoint
class EndpointSpec:
    """One hosted endpoint: identity, provider, input model, what its fields mean, its price and an example input.

    ``roles`` maps a role (``ROLES``) to the top-level field that plays it; everything that needs a field's meaning
    asks ``field_for(role)`` instead of matching names. ``price`` is the shipped price (None: unknown).
    """

    id: str
    api_name: str
    title: str
    provider: ProviderName
    description: str
    input_model: type[WireModel]
    example: dict[str, Any]
    seed_document: str
    status: UpstreamStatus = "active"
    status_note: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)
    tab_label: str = ""  # a short label for the tab strip; the full title heads the tab
    roles: Mapping[Role, str] = field(default_factory=dict)
    price: PriceModel | None = None

    def __post_init__(self) -> None:
        fields = self.input_model.model_fields
        for role, name in self.roles.items():
            if role not in ROLES:
                raise ValueError(f"{self.id}: unknown role {role!r}; known: {', '.join(ROLES)}")
            if name not in fields:
                raise ValueError(f"{self.id}: role {role!r} names {name!r}, which is not a field of the input")

    def field_for(self, role: Role) -> str | None:
        """The field that plays ``role`` on this endpoint, or None when none does."""
        return self.roles.get(role)

    @property
    def input_schema(self) -> dict[str, Any]:
        """The input model's JSON schema (``model_schema``: made once, never to be changed)."""
        return model_schema(self.input_model)

    @property
    def label(self) -> str:
        return self.tab_label or self.title

    def build_input(self, values: dict[str, Any]) -> WireModel:
        """Validate values (by field name) into this endpoint's input model; raises pydantic's ValidationError."""
        return self.input_model.model_validate(values)
