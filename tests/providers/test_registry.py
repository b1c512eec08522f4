"""The provider clients' shared TLS context (``providers/registry.py``)."""

from __future__ import annotations

import ssl

import httpx

from providers.config import ProviderSettings
from providers.registry import build_providers, make_client, tls_context


def context_of(client: httpx.AsyncClient) -> ssl.SSLContext:
    return client._transport._pool._ssl_context  # type: ignore[attr-defined]  # httpx's default transport


async def test_every_client_verifies_certificates_with_one_context_loaded_once():
    default = httpx.create_ssl_context(trust_env=False)  # what httpx gives a client made without one
    shared = tls_context()
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname
    assert shared.cert_store_stats()["x509_ca"] == default.cert_store_stats()["x509_ca"] > 0, "the same CA bundle"
    clients = [make_client(ProviderSettings()) for _ in range(3)]
    try:
        assert all(context_of(client) is shared for client in clients)
    finally:
        for client in clients:
            await client.aclose()
    providers = build_providers(ProviderSettings())
    try:
        made = [value for provider in providers for value in vars(provider).values()
                if isinstance(value, httpx.AsyncClient)]
        assert made and all(context_of(client) is shared for client in made)
    finally:
        await providers.aclose()
