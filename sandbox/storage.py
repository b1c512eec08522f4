"""fal storage in memory: the CDN token, both upload flows, and serving uploaded and generated files.

Routes (mounted by ``sandbox.app``)::

    POST /fal/rest/storage/auth/token?storage_type=fal-cdn-v3  (Key auth)
         -> {token, token_type: "Bearer", base_url: "{base}/fal/cdn", expires_at}
    POST /fal/rest/storage/upload/initiate?storage_type=gcs    (Key auth) {file_name, content_type}
         -> {upload_url, file_url}
    POST /fal/cdn/files/upload                                 (Bearer <issued token>) raw bytes -> {access_url}
    PUT  /fal/cdn/uploads/{name}?signature=...                 the single-use upload_url of the older flow
    GET  /fal/cdn/files/{name}                                 the stored bytes, with their content type
"""

from __future__ import annotations

import mimetypes
import re
import secrets
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.faults import FaultSpecError, bad_fault_header
from sandbox.http import bearer_value, json_response, server_base

if TYPE_CHECKING:
    from sandbox.state import SandboxState

CDN_PREFIX = "/fal/cdn"
FILES_PREFIX = f"{CDN_PREFIX}/files/"
TOKEN_LIFETIME = timedelta(hours=1)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str


class FileStore:
    """Files by name, in memory, bounded by total bytes: the least recently used go first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.total_bytes = 0
        self._files: OrderedDict[str, StoredFile] = OrderedDict()

    def put(self, name: str, data: bytes, content_type: str) -> None:
        if len(data) > self.max_bytes:
            raise ValueError(f"file of {len(data)} bytes exceeds the sandbox store ({self.max_bytes} bytes)")
        if old := self._files.pop(name, None):
            self.total_bytes -= len(old.data)
        self._files[name] = StoredFile(data, content_type)
        self.total_bytes += len(data)
        while self.total_bytes > self.max_bytes:
            _, evicted = self._files.popitem(last=False)
            self.total_bytes -= len(evicted.data)

    def get(self, name: str) -> StoredFile | None:
        found = self._files.get(name)
        if found is not None:
            self._files.move_to_end(name)
        return found

    def clear(self) -> None:
        self._files.clear()
        self.total_bytes = 0

    def __len__(self) -> int:
        return len(self._files)


def new_file_name(file_name: str | None, content_type: str) -> str:
    """A unique, URL-safe name that keeps the client's file name (or an extension for the content type)."""
    safe = _UNSAFE.sub("_", (file_name or "").rsplit("/", 1)[-1]).strip("._")[:100]
    if not safe:
        safe = "upload" + (mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin")
    return f"{uuid.uuid4().hex[:16]}_{safe}"


def file_url(base: str, name: str) -> str:
    return f"{base}{FILES_PREFIX}{name}"


def file_name_from_url(url: str, base: str) -> str | None:
    """The store name when ``url`` is one of this sandbox's file URLs, else None."""
    prefix = f"{base}{FILES_PREFIX}"
    return url[len(prefix) :].split("?", 1)[0] if url.startswith(prefix) else None


class Storage:
    """The store plus the credentials of both upload flows."""

    def __init__(self, max_bytes: int) -> None:
        self.files = FileStore(max_bytes)
        self._tokens: dict[str, datetime] = {}
        self._pending: dict[str, tuple[str, str]] = {}  # name -> (signature, content_type)

    def clear(self) -> None:
        self.files.clear()
        self._tokens.clear()
        self._pending.clear()

    def issue_token(self) -> tuple[str, datetime]:
        token = "sbx-cdn-" + secrets.token_urlsafe(24)
        expires = datetime.now(UTC) + TOKEN_LIFETIME
        self._tokens[token] = expires
        return token, expires

    def token_valid(self, token: str) -> bool:
        expires = self._tokens.get(token)
        return expires is not None and expires > datetime.now(UTC)

    def initiate(self, file_name: str | None, content_type: str) -> tuple[str, str]:
        """(name, signature) for a PUT to the upload URL."""
        name = new_file_name(file_name, content_type)
        signature = secrets.token_urlsafe(16)
        self._pending[name] = (signature, content_type)
        return name, signature

    def take_pending(self, name: str, signature: str) -> str | None:
        """The content type declared at initiate time, once, when the signature matches."""
        pending = self._pending.get(name)
        if pending is None or not secrets.compare_digest(pending[0], signature):
            return None
        del self._pending[name]
        return pending[1]


def _key_missing(request: Request) -> Response | None:
    if not bearer_value(request, "Key"):
        return json_response({"detail": "Missing or malformed Authorization header: expected 'Key <FAL_KEY>'"}, 401)
    return None


def storage_rest_routes(state: SandboxState) -> list[Route]:
    async def guarded(request: Request) -> Response | None:
        try:
            fault = await state.faults.before("upload", state.faults.plans(request))
        except FaultSpecError as exc:
            return bad_fault_header(exc, "upload")
        return fault or _key_missing(request)

    async def auth_token(request: Request) -> Response:
        if refused := await guarded(request):
            return refused
        token, expires = state.storage.issue_token()
        return json_response(
            {
                "token": token,
                "token_type": "Bearer",
                "base_url": f"{server_base(request)}{CDN_PREFIX}",
                "expires_at": expires.isoformat(),
            }
        )

    async def initiate(request: Request) -> Response:
        if refused := await guarded(request):
            return refused
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("content_type", ""), str):
            return json_response({"detail": "Expected a JSON object {file_name, content_type}"}, 422)
        content_type = body.get("content_type") or "application/octet-stream"
        file_name = body.get("file_name") if isinstance(body.get("file_name"), str) else None
        name, signature = state.storage.initiate(file_name, content_type)
        base = server_base(request)
        return json_response(
            {"upload_url": f"{base}{CDN_PREFIX}/uploads/{name}?signature={signature}", "file_url": file_url(base, name)}
        )

    return [
        Route("/storage/auth/token", auth_token, methods=["POST"]),
        Route("/storage/upload/initiate", initiate, methods=["POST"]),
    ]


def cdn_routes(state: SandboxState) -> list[Route]:
    async def faulted(request: Request, family: str) -> Response | None:
        try:
            return await state.faults.before(family, state.faults.plans(request))
        except FaultSpecError as exc:
            return bad_fault_header(exc, family)

    def store(data: bytes, name: str, content_type: str) -> Response | None:
        try:
            state.storage.files.put(name, data, content_type)
        except ValueError as exc:
            return json_response({"detail": str(exc)}, 413)
        state.stats.uploads += 1
        state.stats.upload_bytes += len(data)
        return None

    async def upload(request: Request) -> Response:
        if refused := await faulted(request, "upload"):
            return refused
        if not state.storage.token_valid(bearer_value(request, "Bearer")):
            return json_response({"detail": "Invalid or expired CDN token: get one from /storage/auth/token"}, 401)
        content_type = request.headers.get("content-type") or "application/octet-stream"
        name = new_file_name(request.headers.get("x-fal-file-name"), content_type)
        if refused := store(await request.body(), name, content_type):
            return refused
        return json_response({"access_url": file_url(server_base(request), name)})

    async def put_upload(request: Request) -> Response:
        if refused := await faulted(request, "upload"):
            return refused
        name = request.path_params["name"]
        declared = state.storage.take_pending(name, request.query_params.get("signature", ""))
        if declared is None:
            return json_response({"detail": "Unknown upload URL or bad signature"}, 403)
        if refused := store(await request.body(), name, request.headers.get("content-type") or declared):
            return refused
        return Response(status_code=200)

    async def serve(request: Request) -> Response:
        if refused := await faulted(request, "file"):
            return refused
        found = state.storage.files.get(request.path_params["name"])
        if found is None:
            return json_response({"detail": "File not found (the sandbox keeps files in memory only)"}, 404)
        return Response(found.data, media_type=found.content_type, headers={"Cache-Control": "no-store"})

    return [
        Route("/files/upload", upload, methods=["POST"]),
        Route("/uploads/{name:path}", put_upload, methods=["PUT"]),
        Route("/files/{name:path}", serve, methods=["GET"]),
    ]
