"""fal storage's routes over the server's ``Storage`` (``sandbox.storage``): the CDN token, both upload flows, and
serving uploaded and generated files. Mounted by ``sandbox.fal_mounts``::

    POST /fal/rest/storage/auth/token?storage_type=fal-cdn-v3  (Key auth)
         -> {token, token_type: "Bearer", base_url: "{base}/fal/cdn", expires_at}
    POST /fal/rest/storage/upload/initiate?storage_type=gcs    (Key auth) {file_name, content_type}
         -> {upload_url, file_url}
    POST /fal/cdn/files/upload                                 (Bearer <issued token>) raw bytes -> {access_url}
    PUT  /fal/cdn/uploads/{name}?signature=...                 the single-use upload_url of the older flow
    GET  /fal/cdn/files/{name}                                 the stored bytes, with their content type
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.faults import FaultSpecError, bad_fault_header
from sandbox.http import bearer_value, json_response, server_base
from sandbox.state import SandboxState
from sandbox.storage import CDN_PREFIX, file_url, new_file_name


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
