"""One form kind per widget kind, and the registry from kind name to kind.

A kind builds its components, reads submitted values into the model's input and writes a model value back into
component values (``components.form_kinds.base.FieldKind``). ``endpoints.schema_fields`` chooses the kind name
for each field; ``components.form`` lays the kinds out; ``components.form_values`` reads a whole submission.

=============  ===========================================================  =========================
kind           components                                                   helper keys
=============  ===========================================================  =========================
text/textarea  Textbox (1 or 3 lines)
dropdown/radio Dropdown / Radio, "default" = leave out for optional enums
slider         Slider (unchecked, never clamped)
number         Number (unchecked; bounds shown in the info)
checkbox       Checkbox (tri-state by omission when the default is None)
image          Image upload + URL box + "Will send: …"                       ``__link`` (a run input)
image_size     hidden JSON value + preset dropdown + width/height            ``__preset/__width/__height``
json           Code (JSON text); lists of objects also get row editors      ``__rows`` (rows' source)
=============  ===========================================================  =========================
"""

from __future__ import annotations

from components.form_kinds.base import OMIT, FieldKind, FieldProblem, FieldWidget
from components.form_kinds.checkbox import CHECKBOX
from components.form_kinds.choice import DROPDOWN, RADIO
from components.form_kinds.image import IMAGE
from components.form_kinds.image_size import IMAGE_SIZE
from components.form_kinds.json_value import JSON
from components.form_kinds.numbers import NUMBER, SLIDER
from components.form_kinds.text import TEXT, TEXTAREA
from endpoints.schema_fields import FieldSpec

KINDS: dict[str, FieldKind] = {
    kind.name: kind
    for kind in (TEXT, TEXTAREA, DROPDOWN, RADIO, SLIDER, NUMBER, CHECKBOX, IMAGE, IMAGE_SIZE, JSON)
}


def kind_of(field: FieldSpec) -> FieldKind:
    """The kind object that edits ``field``."""
    return KINDS[field.kind]


__all__ = ["KINDS", "OMIT", "FieldKind", "FieldProblem", "FieldWidget", "kind_of"]
