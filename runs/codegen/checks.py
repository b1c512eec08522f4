"""Checking a record before any code is made from it: a record can come from outside (an image dropped on "Open
image", an edited history), so whatever does not fit its endpoint is refused by field (``RecordRefused``)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from endpoints.base import EndpointSpec
from providers.base import PreparedRequest
from providers.data_uris import field_name
from providers.local_files import image_fields
from runs.codegen.literals import python_literal
from runs.codegen.parts import spec_or_none
from runs.codegen.services import FILES_SENT_AS, protocol_of
from runs.record import RunRecord


class RecordRefused(ValueError):
    """A record that does not fit its endpoint (a forged or edited one): no code is made from it."""

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an RFC 9110 token

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def shown(text: Any, limit: int = 60) -> str:
    """A name or value from a record as a message may show it: a quoted literal, cut short, on one line (what is
    not text shows as its type: a forged record may hold anything there)."""
    text = text if isinstance(text, str) else f"<{type(text).__name__}>"
    return python_literal(text if len(text) <= limit else text[:limit] + "…")


def check_record(record: RunRecord) -> EndpointSpec:
    """The record's endpoint, once everything code is made from fits it; else ``RecordRefused`` naming the field.

    Field names of the input, the request body, the file parts and the uploads must be the endpoint's; the input
    and the body must pass its input model (a field sent as a file part is the only one that may be missing); the
    request must name the record's provider and endpoint, go to an http(s) URL ending with the endpoint id (no
    query, no user name), and carry only well-formed headers.
    """
    spec = spec_or_none(record.endpoint_id)
    if spec is None:
        raise RecordRefused(f"endpoint_id: {shown(record.endpoint_id)} is not one of this app's endpoints")
    if record.api_name != spec.api_name:
        raise RecordRefused(f"api_name: {shown(record.api_name)} is not the API name of {spec.id}")
    if record.provider != spec.provider or not protocol_of(record.provider):
        raise RecordRefused(f"provider: {shown(record.provider)} does not serve {spec.id}")
    request = record.request
    files = _checked_files(spec, request) if request is not None else set()
    _check_values(spec, record.input, "input", may_miss=files)
    if request is None:
        return spec
    if request.provider != record.provider:
        raise RecordRefused(f"request.provider: {shown(request.provider)} is not the run's provider")
    if request.endpoint_id != spec.id:
        raise RecordRefused(f"request.endpoint_id: {shown(request.endpoint_id)} is not {spec.id}")
    _check_url(request.url, "request.url")
    target = urlsplit(request.url)
    if target.query or target.fragment or "@" in target.netloc or not target.path.endswith("/" + spec.id):
        # what the providers send to: <base>/<endpoint id>, nothing more (another path bills another model)
        raise RecordRefused(f"request.url: {shown(request.url)} is not a request URL of {spec.id}")
    for name, value in request.headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise RecordRefused(f"request.headers: {shown(name)} is not a header name")
        if not isinstance(value, str) or not value.isprintable():
            raise RecordRefused(f"request.headers: the value of {shown(name)} is not printable text")
    if request.body_kind not in ("json", "multipart") or (
            files and FILES_SENT_AS.get(protocol_of(request.provider)) != request.body_kind):
        raise RecordRefused(f"request.body_kind: {shown(request.body_kind)} does not fit the request's files")
    if files & set(request.body):
        raise RecordRefused(f"request.files: {shown(min(files & set(request.body)))} is also in the body")
    _check_values(spec, request.body, "request.body", may_miss=files)
    sent = dict(_text_leaves(request.body))
    for where, url in request.uploads.items():
        if not isinstance(where, str) or sent.get(where) != url:
            raise RecordRefused(f"request.uploads: {shown(where)} is not a field of the body holding that URL")
        _check_url(url, f"request.uploads[{shown(where)}]")
    return spec


def _check_values(spec: EndpointSpec, values: Mapping[str, Any], where: str, *, may_miss: set[str]) -> None:
    fields = spec.input_model.model_fields
    for name in values:
        if name not in fields:
            raise RecordRefused(f"{where}: {shown(name)} is not a field of {spec.id}")
    try:
        spec.input_model.model_validate(dict(values))
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            if error["type"] == "missing" and len(loc) == 1 and loc[0] in may_miss:
                continue
            path = field_name(loc) if loc else "(input)"
            raise RecordRefused(f"{where}: {shown(path)}: {error['msg'][:200]}") from None


def _checked_files(spec: EndpointSpec, request: PreparedRequest) -> set[str]:
    """The fields sent as file parts, once each part describes a file of one of the endpoint's image fields."""
    images = set(image_fields(spec))
    seen: set[str] = set()
    for part in request.files:
        if not isinstance(part.field, str) or part.field not in images or part.field in seen:
            raise RecordRefused(f"request.files: {shown(part.field)} is not an image field of {spec.id}")
        seen.add(part.field)
        if not (isinstance(part.file_name, str) and isinstance(part.content_type, str)
                and type(part.size) is int and part.size >= 0
                and isinstance(part.sha256, str) and _SHA256.match(part.sha256)):
            raise RecordRefused(f"request.files: the part {shown(part.field)} is not a file description")
    return seen


def _check_url(url: Any, where: str) -> None:
    ok = isinstance(url, str) and url.isprintable() and not any(c.isspace() for c in url)
    if ok:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.netloc)
    if not ok:
        raise RecordRefused(f"{where}: {shown(url)} is not an http(s) URL")


def _text_leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, str]]:
    """(``field_name`` of the path, text) for every string in a JSON body: where an upload's URL may sit."""
    if isinstance(value, str) and path:
        yield field_name(path), value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _text_leaves(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_leaves(item, (*path, index))
