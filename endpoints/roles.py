"""What a field means across endpoints: the role it plays (``EndpointSpec.roles``) and its counterpart elsewhere.

Sweeps over endpoints and images restored onto another endpoint's form carry values by role: ``num_inference_steps``
on one endpoint is ``steps`` on another because both play the ``steps`` role. Fields without a role go to the field
of the same name, unless that field plays another role there.
"""

from __future__ import annotations

from endpoints.base import EndpointSpec, Role


def role_of(spec: EndpointSpec | None, name: str) -> Role | None:
    """The role ``name`` plays on ``spec`` (None: none, or no endpoint known)."""
    if spec is None:
        return None
    return next((role for role, field_name in spec.roles.items() if field_name == name), None)


def counterpart(source: EndpointSpec | None, target: EndpointSpec, name: str) -> str | None:
    """The field of ``target`` that takes ``source``'s field ``name``: the one playing the same role, else the field
    of the same name (unless that one plays another role on ``target``); None when there is none.

    ``source`` None (an endpoint no longer registered) carries every field by name."""
    role = role_of(source, name)
    if role is not None and (dest := target.field_for(role)) is not None:
        return dest
    if name in target.input_model.model_fields and role_of(target, name) in (None, role):
        return name
    return None


def role_words(role: Role) -> str:
    """``negative_prompt`` -> ``negative prompt``, for messages."""
    return role.replace("_", " ")
