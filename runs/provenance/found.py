"""What the format readers (PNG, JPEG, WebP) find in an image, before it is parsed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Found:
    parameters: str | None = None  # the A1111 text
    record_text: str | None = None  # the run record's JSON
    notes: list[str] = field(default_factory=list)  # what could not be read, in a person's words
