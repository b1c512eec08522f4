"""The catalog (endpoints/catalog.py): configuration, fetching documents from FAL_OPENAPI_URL, cache and fallback.

A local HTTP server on 127.0.0.1 stands in for fal's OpenAPI URL.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import endpoints
from endpoints import ENDPOINTS, catalog_endpoints, get_endpoint, install_catalog
from endpoints.catalog import (
    CACHE_SUBDIR,
    ENDPOINTS_ENV,
    FLUX_SET,
    CatalogLoad,
    load_catalog,
    parse_endpoint_ids,
    snapshot_path,
)
from settings import Settings

OPENAPI_URL_ENV = "FAL_OPENAPI_URL"
FETCH_ENV = "PLAYGROUND_OPENAPI_FETCH"
FLUX_2_PRO = "fal-ai/flux-2-pro"


def load_from(env: dict[str, str], **kwargs: Any) -> CatalogLoad:
    """The catalog the app would load with this environment (the app reads it through ``Settings``)."""
    settings = Settings.from_env(env)
    return load_catalog(settings.endpoints, openapi_url=settings.openapi_url, **kwargs)
NEW_ID = "acme/flux-nouveau"  # an endpoint the repository ships no document for


def shipped(endpoint_id: str) -> dict[str, Any]:
    return json.loads(snapshot_path(endpoint_id).read_text(encoding="utf-8"))


def renamed(doc: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """A shipped document served under another endpoint id (paths and metadata follow the id)."""
    text = json.dumps(doc).replace(f"/{old}", f"/{new}").replace(f'"endpointId": "{old}"', f'"endpointId": "{new}"')
    return json.loads(text)


@dataclass
class DocumentServer:
    documents: dict[str, dict[str, Any]]
    failing: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def server() -> Iterator[DocumentServer]:
    state = DocumentServer(documents={})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            endpoint_id = (query.get("endpoint_id") or [""])[0]
            state.requests.append(endpoint_id)
            if endpoint_id in state.failing or endpoint_id not in state.documents:
                self.send_response(500 if endpoint_id in state.failing else 404)
                self.end_headers()
                return
            body = json.dumps(state.documents[endpoint_id]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/api/openapi/queue/openapi.json"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def restore_catalog() -> Iterator[None]:
    before = endpoints.catalog_endpoints()
    yield
    install_catalog(before)


def test_endpoint_ids_from_configuration():
    assert parse_endpoint_ids(None) == (FLUX_SET, [])
    assert parse_endpoint_ids(" ") == (FLUX_SET, [])
    ids, problems = parse_endpoint_ids(f"{NEW_ID}, flux ,{NEW_ID}")
    assert ids == (NEW_ID, *FLUX_SET) and problems == []
    ids, problems = parse_endpoint_ids("not an id,fal-ai/flux-2-pro")
    assert ids == (FLUX_2_PRO,) and problems == [f"{ENDPOINTS_ENV}: 'not an id' is not a fal endpoint id (owner/name) nor 'flux'"]


def test_fetching_is_on_with_a_url_or_a_fal_key_and_can_be_forced():
    def fetching(env: dict[str, str]) -> bool:
        return Settings.from_env(env).fetch_documents()

    assert not fetching({})
    assert fetching({"FAL_KEY": "id:secret"})
    assert fetching({OPENAPI_URL_ENV: "http://127.0.0.1:1/x"})
    assert not fetching({FETCH_ENV: "0", "FAL_KEY": "id:secret"})
    assert fetching({FETCH_ENV: "1"})


def test_the_default_catalog_is_the_shipped_flux_set_without_network():
    result = load_from({}, data_dir=None, fetch=False, seeds=ENDPOINTS)
    assert [s.id for s in result.specs] == list(FLUX_SET) and result.problems == []
    assert set(result.sources.values()) == {"shipped snapshot"}
    names = {s.api_name for s in result.specs} | {s.api_name for s in ENDPOINTS}
    assert len(names) == len(FLUX_SET) + len(ENDPOINTS)  # unique, no clash with the seeds


def test_seed_ids_in_the_list_keep_their_hand_written_modules():
    result = load_from({ENDPOINTS_ENV: "fal-ai/flux-pro,fal-ai/flux/dev/image-to-image,fal-ai/flux-2-pro"},
                          data_dir=None, fetch=False, seeds=ENDPOINTS)  # fmt: skip
    assert [s.id for s in result.specs] == [FLUX_2_PRO] and result.problems == []


def test_a_document_the_repo_does_not_ship_is_fetched_built_and_cached(server: DocumentServer, tmp_path: Path):
    server.documents[NEW_ID] = renamed(shipped(FLUX_2_PRO), FLUX_2_PRO, NEW_ID)
    env = {ENDPOINTS_ENV: NEW_ID, OPENAPI_URL_ENV: server.url}
    result = load_from(env, data_dir=tmp_path, fetch=True, seeds=ENDPOINTS)
    (spec,) = result.specs
    assert spec.id == NEW_ID and spec.api_name == "acme_flux_nouveau" and result.problems == []
    assert result.sources[NEW_ID].startswith("fetched ")
    assert spec.build_input({"prompt": "a lighthouse", "seed": 3}).to_wire()["seed"] == 3
    cached = tmp_path / CACHE_SUBDIR / "acme__flux-nouveau.json"
    assert json.loads(cached.read_text()) == server.documents[NEW_ID]
    # within a day the cache answers, without a request
    server.requests.clear()
    again = load_from(env, data_dir=tmp_path, fetch=True, seeds=ENDPOINTS)
    assert [s.id for s in again.specs] == [NEW_ID] and server.requests == []
    assert again.sources[NEW_ID].startswith("cache ")
    # older than a day: fetched again
    old = time.time() - 2 * 24 * 3600
    os.utime(cached, (old, old))
    load_from(env, data_dir=tmp_path, fetch=True, seeds=ENDPOINTS)
    assert server.requests == [NEW_ID]


def test_a_failed_fetch_falls_back_to_the_snapshot_and_says_so(server: DocumentServer, tmp_path: Path):
    server.failing = {FLUX_2_PRO, NEW_ID}
    env = {ENDPOINTS_ENV: f"{FLUX_2_PRO},{NEW_ID}", OPENAPI_URL_ENV: server.url}
    result = load_from(env, data_dir=tmp_path, fetch=True, seeds=ENDPOINTS)
    assert [s.id for s in result.specs] == [FLUX_2_PRO]
    assert result.sources[FLUX_2_PRO] == "shipped snapshot"
    assert result.problems == [
        f"{FLUX_2_PRO}: fetch failed (ValueError: HTTP 500); using the shipped snapshot",
        f"{NEW_ID}: left out: fetch failed (ValueError: HTTP 500)",
    ]


def test_an_unreachable_url_falls_back_quickly(tmp_path: Path):
    env = {ENDPOINTS_ENV: FLUX_2_PRO, OPENAPI_URL_ENV: "http://127.0.0.1:9/openapi.json"}  # discard port: refused
    started = time.perf_counter()
    result = load_from(env, data_dir=tmp_path, fetch=True, seeds=ENDPOINTS)
    assert time.perf_counter() - started < 10
    assert [s.id for s in result.specs] == [FLUX_2_PRO] and result.sources[FLUX_2_PRO] == "shipped snapshot"
    assert result.problems[0].startswith(f"{FLUX_2_PRO}: fetch failed (ConnectError")


def test_a_fetched_video_model_is_left_out_with_one_line(server: DocumentServer, tmp_path: Path):
    from tests.endpoints.test_openapi import VIDEO_ID, video_document

    server.documents[VIDEO_ID] = video_document()
    env = {ENDPOINTS_ENV: f"{VIDEO_ID},{FLUX_2_PRO}", OPENAPI_URL_ENV: server.url, FETCH_ENV: "1"}
    result = load_from(env, data_dir=tmp_path, fetch=True, seeds=ENDPOINTS)
    assert [s.id for s in result.specs] == [FLUX_2_PRO]
    assert [p for p in result.problems if p.startswith(VIDEO_ID)] == [
        f"{VIDEO_ID}: its output has no images (video): not an image model, left out"
    ]


def test_get_endpoint_finds_the_installed_catalog(server: DocumentServer, tmp_path: Path, restore_catalog: None):
    server.documents[NEW_ID] = renamed(shipped(FLUX_2_PRO), FLUX_2_PRO, NEW_ID)
    result = load_from({ENDPOINTS_ENV: f"{NEW_ID},flux", OPENAPI_URL_ENV: server.url}, data_dir=tmp_path,
                          fetch=True, seeds=ENDPOINTS)  # fmt: skip
    install_catalog(result.specs)
    assert get_endpoint(NEW_ID) is get_endpoint("acme_flux_nouveau") is result.specs[0]
    assert get_endpoint("flux_pro").id == "fal-ai/flux-pro"  # seeds unchanged
    assert len(catalog_endpoints()) == len(FLUX_SET) + 1 and len(ENDPOINTS) == 5
    with pytest.raises(ValueError, match="already taken"):
        install_catalog([*result.specs, result.specs[0]])
    with pytest.raises(KeyError, match="unknown endpoint"):
        get_endpoint("nobody/nothing")
