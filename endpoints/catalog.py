"""The model catalog: fal endpoints built from their OpenAPI documents (``endpoints.openapi``), by configuration.

``PLAYGROUND_ENDPOINTS`` lists fal endpoint ids separated by commas; ``flux`` stands for the shipped FLUX set
(``FLUX_SET``), and is the default. The five seed endpoints keep their hand-written modules and always stay: an id
of theirs in the list is skipped.

Where each document comes from, at start-up (``load_catalog``, called before the event loop starts):

1. the cache under the data dir (``<data dir>/openapi/``), when it is less than a day old;
2. else, when fetching is on, ``FAL_OPENAPI_URL?endpoint_id=<id>`` (default fal's queue OpenAPI URL), in parallel,
   each with bounded timeouts and a bound on the whole; a good answer is cached;
3. when the fetch fails (or fetching is off): the cache of any age (fal's own document, newer than a snapshot), else
   the shipped snapshot (``endpoints/openapi_docs``); a document not shipped and not fetchable is left out.

Fetching is on when ``PLAYGROUND_OPENAPI_FETCH`` says so (``1``/``0``); by default when ``FAL_OPENAPI_URL`` is set
or a fal key is configured (a sandbox-only app stays offline and uses the snapshots).

A document that cannot be used (no images in its output, a bad ``$ref``, a missing path...) leaves its endpoint out
with one log line naming it; the rest of the catalog is unaffected.

Prices: ``SHIPPED_PRICES`` below, from fal's published prices (``../shared/docs/protocols.md``, "Published prices
(2026)"), each with its source; an endpoint with no published price has none (``price=None``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from endpoints.base import EndpointSpec
from endpoints.openapi import DocumentError, Overrides, api_name_for, spec_from_openapi
from endpoints.price import FAL_PRICE_LIST, PriceModel

log = logging.getLogger(__name__)

ENDPOINTS_ENV = "PLAYGROUND_ENDPOINTS"
DEFAULT_OPENAPI_URL = "https://fal.ai/api/openapi/queue/openapi.json"
SNAPSHOT_DIR = Path(__file__).parent / "openapi_docs"
CACHE_SUBDIR = "openapi"
MAX_AGE_SECONDS = 24 * 3600  # a cached document older than a day is fetched again
#: Per request: 5 s to connect, 10 s to read a document (~10–60 KB). The whole fetch stops after 20 s, so a
#: black-holed network delays start-up by at most that.
FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
FETCH_TOTAL_SECONDS = 20.0
MAX_DOCUMENT_BYTES = 5 * 2**20  # fal's largest image documents are well under 1 MB
MAX_CATALOG_SIZE = 100  # ids in PLAYGROUND_ENDPOINTS beyond this are refused (each is a form and a document)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)+$")

#: The shipped FLUX set (``PLAYGROUND_ENDPOINTS=flux``, the default), in the order a picker lists them.
FLUX_SET: tuple[str, ...] = (
    "fal-ai/flux-2-pro",
    "fal-ai/flux-2-flex",
    "fal-ai/flux-2",
    "fal-ai/flux-2/klein/4b",
    "fal-ai/flux-2/lora/edit",
    "fal-ai/flux-pro/kontext",
    "fal-ai/flux-pro/kontext/max",
    "fal-ai/flux-kontext/dev",
    "fal-ai/flux-pro/v1.1",
    "fal-ai/flux-pro/v1.1-ultra",
    "fal-ai/flux/dev",
    "fal-ai/flux/schnell",
    "fal-ai/flux-lora",
)

_PROTOCOLS = "fal's published prices"  # ../shared/docs/protocols.md, "Published prices (2026)"
_UNCONFIRMED = "third-party price listing, unconfirmed"

#: The shipped prices of catalog endpoints: fal's published prices as of 2026 (``../shared/docs/protocols.md``,
#: "Published prices (2026)"; those marked unconfirmed there come from third-party listings).
SHIPPED_PRICES: dict[str, PriceModel] = {
    "fal-ai/flux/schnell": PriceModel("megapixel", 0.003, source=_UNCONFIRMED, read_on="2026"),
    "fal-ai/flux/dev": PriceModel("megapixel", 0.025, source=_PROTOCOLS, read_on="2026"),
    "fal-ai/flux-lora": PriceModel("megapixel", 0.035, source=_UNCONFIRMED, read_on="2026"),
    "fal-ai/flux-pro/v1.1": PriceModel("megapixel", 0.04, source=_PROTOCOLS, read_on="2026"),
    "fal-ai/flux-pro/v1.1-ultra": PriceModel("image", 0.06, source=_PROTOCOLS, read_on="2026"),
    "fal-ai/flux-pro/kontext": PriceModel("image", 0.04, source=_PROTOCOLS, read_on="2026"),
    "fal-ai/flux-pro/kontext/max": PriceModel("image", 0.08, source=_PROTOCOLS, read_on="2026"),
    "fal-ai/flux-kontext/dev": PriceModel("megapixel", 0.025, source=_PROTOCOLS, read_on="2026"),
    # The first megapixel $0.03, each further one $0.015, the input images' megapixels counted too.
    "fal-ai/flux-2-pro": PriceModel(
        "megapixel", 0.03, source=_PROTOCOLS, read_on="2026", extra_unit_price_usd=0.015, counts_input_images=True
    ),
    # $0.05 per megapixel "on both input and output side" (fal's flux-2-flex llms.txt).
    "fal-ai/flux-2-flex": PriceModel(
        "megapixel", 0.05, source=FAL_PRICE_LIST + " (fal-ai/flux-2-flex llms.txt)", read_on="2026",
        counts_input_images=True,
    ),
}  # fmt: skip
# fal-ai/flux-2, fal-ai/flux-2/klein/4b and fal-ai/flux-2/lora/edit: no fal price in the material read (price=None;
# with a key, fal's pricing API supplies one).

#: Per-endpoint corrections to what a document says (roles, titles). Empty today: fal's names follow convention.
OVERRIDES: dict[str, Overrides] = {}


def snapshot_path(endpoint_id: str, folder: Path = SNAPSHOT_DIR) -> Path:
    """``fal-ai/flux-2-pro`` -> ``<folder>/fal-ai__flux-2-pro.json``."""
    return folder / (endpoint_id.replace("/", "__") + ".json")


def shipped_ids(folder: Path = SNAPSHOT_DIR) -> tuple[str, ...]:
    """Every endpoint with a shipped snapshot."""
    return tuple(sorted(p.stem.replace("__", "/") for p in folder.glob("*.json")))


def parse_endpoint_ids(raw: str | None) -> tuple[tuple[str, ...], list[str]]:
    """(ids in order, problems) from ``PLAYGROUND_ENDPOINTS`` (``flux`` expands to ``FLUX_SET``; empty: ``flux``)."""
    tokens = [t.strip() for t in (raw or "").split(",") if t.strip()] or ["flux"]
    ids: list[str] = []
    problems: list[str] = []
    for token in tokens:
        if token.lower() == "flux":
            ids += FLUX_SET
        elif _ID.match(token) and len(token) <= 200:
            ids.append(token)
        else:
            problems.append(f"{ENDPOINTS_ENV}: {token[:80]!r} is not a fal endpoint id (owner/name) nor 'flux'")
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_CATALOG_SIZE:
        problems.append(f"{ENDPOINTS_ENV}: {len(unique)} endpoints; the first {MAX_CATALOG_SIZE} are kept")
        unique = unique[:MAX_CATALOG_SIZE]
    return tuple(unique), problems


@dataclass(frozen=True)
class Document:
    endpoint_id: str
    body: Mapping[str, Any]
    source: str  # "fetched 2026-12-03", "cache 2026-12-02", "shipped snapshot"


@dataclass
class CatalogLoad:
    """What ``load_catalog`` found: the specs, and one line per endpoint left out (or fallback taken)."""

    specs: tuple[EndpointSpec, ...] = ()
    problems: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def _read_json(path: Path) -> Mapping[str, Any] | None:
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            return None
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return body if isinstance(body, Mapping) else None


def _day(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp))


async def _fetch_one(client: httpx.AsyncClient, base_url: str, endpoint_id: str) -> Mapping[str, Any]:
    async with client.stream("GET", base_url, params={"endpoint_id": endpoint_id}) as response:
        if response.status_code != 200:
            raise ValueError(f"HTTP {response.status_code}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:
                raise ValueError(f"document larger than {MAX_DOCUMENT_BYTES // 2**20} MB")
            chunks.append(chunk)
    body = json.loads(b"".join(chunks))
    if not isinstance(body, Mapping):
        raise TypeError("not a JSON object")
    return body


async def _fetch_all(base_url: str, ids: Iterable[str], transport: httpx.AsyncBaseTransport | None) -> dict[str, Any]:
    """{id: document or the exception}, all within ``FETCH_TOTAL_SECONDS``."""
    ids = list(ids)
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=True, transport=transport) as client:
        tasks = {i: asyncio.create_task(_fetch_one(client, base_url, i)) for i in ids}
        done, pending = await asyncio.wait(tasks.values(), timeout=FETCH_TOTAL_SECONDS)
        for task in pending:
            task.cancel()
        for endpoint_id, task in tasks.items():
            if task in done:
                exc = task.exception()
                results[endpoint_id] = exc if exc is not None else task.result()
            else:
                results[endpoint_id] = TimeoutError(f"no answer within {FETCH_TOTAL_SECONDS:g} s")
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    return results


def _write_cache(path: Path, body: Mapping[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning("catalog: could not cache %s: %s", path.name, exc)


def load_documents(
    ids: Iterable[str],
    *,
    cache_dir: Path | None,
    base_url: str | None,
    snapshot_dir: Path = SNAPSHOT_DIR,
    transport: httpx.AsyncBaseTransport | None = None,
    now: float | None = None,
) -> tuple[dict[str, Document], list[str]]:
    """Each endpoint's document (see the module docstring for the order); ``base_url`` None: no fetching."""
    now = time.time() if now is None else now
    ids = list(ids)
    docs: dict[str, Document] = {}
    problems: list[str] = []
    to_fetch: list[str] = []
    for endpoint_id in ids:
        cached = snapshot_path(endpoint_id, cache_dir) if cache_dir else None
        if cached is not None and cached.exists() and now - cached.stat().st_mtime < MAX_AGE_SECONDS:
            body = _read_json(cached)
            if body is not None:
                docs[endpoint_id] = Document(endpoint_id, body, f"cache {_day(cached.stat().st_mtime)}")
                continue
        to_fetch.append(endpoint_id)
    fetched: dict[str, Any] = {}
    if base_url and to_fetch:
        fetched = asyncio.run(_fetch_all(base_url, to_fetch, transport))
    for endpoint_id in to_fetch:
        result = fetched.get(endpoint_id)
        if isinstance(result, Mapping):
            docs[endpoint_id] = Document(endpoint_id, result, f"fetched {_day(now)}")
            if cache_dir is not None:
                _write_cache(snapshot_path(endpoint_id, cache_dir), result)
            continue
        why = f"fetch failed ({type(result).__name__}: {str(result)[:120]})" if result is not None else ""
        cached = snapshot_path(endpoint_id, cache_dir) if cache_dir else None
        body = _read_json(cached) if cached is not None and cached.exists() else None
        if body is not None and cached is not None:
            docs[endpoint_id] = Document(endpoint_id, body, f"cache {_day(cached.stat().st_mtime)}")
        elif (shipped := _read_json(snapshot_path(endpoint_id, snapshot_dir))) is not None:
            docs[endpoint_id] = Document(endpoint_id, shipped, "shipped snapshot")
        else:
            reason = why or "no shipped document, and fetching is off"
            problems.append(f"{endpoint_id}: left out: {reason}")
            continue
        if why:
            problems.append(f"{endpoint_id}: {why}; using the {docs[endpoint_id].source}")
    return docs, problems


def build_specs(
    docs: Mapping[str, Document], taken_api_names: Iterable[str] = (), taken_ids: Iterable[str] = ()
) -> CatalogLoad:
    """Specs from documents, in the given order; a bad document leaves its endpoint out with one line."""
    result = CatalogLoad()
    names = set(taken_api_names)
    skip = set(taken_ids)
    specs: list[EndpointSpec] = []
    for endpoint_id, doc in docs.items():
        if endpoint_id in skip:
            continue
        name = api_name_for(endpoint_id)
        base, n = name, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        try:
            spec = spec_from_openapi(
                doc.body,
                endpoint_id,
                api_name=name,
                price=SHIPPED_PRICES.get(endpoint_id),
                overrides=OVERRIDES.get(endpoint_id),
                source=doc.source,
            )
        except DocumentError as exc:
            result.problems.append(str(exc))
            continue
        except (
            RecursionError,
            ValueError,
            TypeError,
            AttributeError,
            KeyError,
        ) as exc:  # a document the converter did not foresee
            result.problems.append(f"{endpoint_id}: left out: the document could not be read ({type(exc).__name__})")
            log.debug("catalog: %s", endpoint_id, exc_info=True)
            continue
        names.add(name)
        specs.append(spec)
        result.sources[endpoint_id] = doc.source
    result.specs = tuple(specs)
    return result


def load_catalog(
    endpoints: str | None,
    *,
    openapi_url: str | None = None,
    data_dir: Path | None,
    fetch: bool,
    seeds: Iterable[EndpointSpec] = (),
    transport: httpx.AsyncBaseTransport | None = None,
) -> CatalogLoad:
    """The configured catalog (see the module docstring). Blocking: call it at start-up, outside the event loop."""
    seeds = list(seeds)
    ids, problems = parse_endpoint_ids(endpoints)
    seed_ids = {s.id for s in seeds}
    ids = tuple(i for i in ids if i not in seed_ids)
    base_url = (openapi_url or DEFAULT_OPENAPI_URL) if fetch else None
    cache_dir = data_dir / CACHE_SUBDIR if data_dir is not None else None
    docs, doc_problems = load_documents(ids, cache_dir=cache_dir, base_url=base_url, transport=transport)
    result = build_specs(docs, (s.api_name for s in seeds), seed_ids)
    result.problems[:0] = [*problems, *doc_problems]
    for line in result.problems:
        log.warning("%s", line)
    return result


def shipped_catalog(seeds: Iterable[EndpointSpec] = ()) -> tuple[EndpointSpec, ...]:
    """The default catalog with no network and no cache: the FLUX set from its shipped snapshots."""
    return load_catalog(None, data_dir=None, fetch=False, seeds=seeds).specs
