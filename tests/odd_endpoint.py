"""A throwaway endpoint whose fields have none of the usual names, for tests that check "one module" holds.

Its steps field is ``denoise_steps``, guidance ``cfg``, prompt ``text``, negative prompt ``avoid``, seed ``noise``,
size ``canvas``, count ``batch``: everything that needs a field's meaning must read ``EndpointSpec.roles``. It is
billed like FLUX.2 (first megapixel, then each further one) so estimates show the spec's own price.

``registered()`` adds it to the registry (``endpoints.register``) and takes it out again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from pydantic import Field

from endpoints import register, unregister
from endpoints.base import PROMPT_MAX_CHARS, SEED_UI, EndpointSpec, ImageSizeField, Seed, WireModel
from endpoints.price import PriceModel


class OddNamesInput(WireModel):
    # no textarea hint: the prompt roles alone make these multi-line boxes
    text: str = Field(max_length=PROMPT_MAX_CHARS, description="What to draw.")
    avoid: str | None = Field(None, max_length=PROMPT_MAX_CHARS, description="What not to draw.")
    denoise_steps: int = Field(20, ge=1, le=60, description="Denoising steps.")
    cfg: float = Field(4.0, ge=0.0, le=20.0, description="Classifier-free guidance.")
    noise: Seed | None = Field(None, description="Seed of the starting noise.", json_schema_extra=SEED_UI)
    canvas: ImageSizeField = Field("square", description="The size of the picture.")
    batch: int = Field(1, ge=1, le=4, description="Pictures per run.")
    output_format: str = Field("png", max_length=8, description="Image format.")


ODD_PRICE = PriceModel(
    "megapixel", 0.02, source="test price", read_on="2026-12", extra_unit_price_usd=0.01, counts_input_images=True
)

ODD = EndpointSpec(
    id="test/odd-names",
    api_name="odd_names",
    title="Odd names (test endpoint)",
    tab_label="Odd names",
    provider="fal",
    description="A throwaway endpoint whose fields have none of the usual names.",
    input_model=OddNamesInput,
    example={"text": "a lighthouse at dusk", "denoise_steps": 12, "cfg": 6.0, "noise": 42},
    seed_document="(none: a test endpoint)",
    roles={
        "prompt": "text",
        "negative_prompt": "avoid",
        "steps": "denoise_steps",
        "guidance": "cfg",
        "seed": "noise",
        "size": "canvas",
        "count": "batch",
    },
    price=ODD_PRICE,
)


@contextlib.contextmanager
def registered(spec: EndpointSpec = ODD) -> Iterator[EndpointSpec]:
    """``spec`` in the registry for the duration of the block."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec)
