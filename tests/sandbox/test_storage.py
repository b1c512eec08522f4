"""fal storage: CDN token and upload, the older initiate + PUT flow, serving files, the bounded store."""

from __future__ import annotations

import pytest

from sandbox.storage import FileStore, new_file_name
from tests.sandbox.support import I2I, KEY, png_bytes, stats, submit, wait_done


async def test_token_upload_and_serve(sbx, client):
    token = await client.post(
        f"{sbx.fal_rest_url}/storage/auth/token", params={"storage_type": "fal-cdn-v3"}, json={}, headers=KEY
    )
    assert token.status_code == 200
    body = token.json()
    assert body["token_type"] == "Bearer" and body["base_url"] == f"{sbx.url}/fal/cdn" and body["expires_at"]
    data = png_bytes()
    upload = await client.post(
        f"{body['base_url']}/files/upload",
        content=data,
        headers={
            "Content-Type": "image/png",
            "X-Fal-File-Name": "my cat.png",
            "Authorization": f"Bearer {body['token']}",
        },
    )
    assert upload.status_code == 200
    access_url = upload.json()["access_url"]
    assert access_url.startswith(f"{sbx.url}/fal/cdn/files/") and access_url.endswith("my_cat.png")
    served = await client.get(access_url)
    assert served.status_code == 200 and served.content == data and served.headers["content-type"] == "image/png"
    counters = await stats(client, sbx)
    assert counters["uploads"] == 1 and counters["upload_bytes"] == len(data)

    submitted = await submit(client, sbx, I2I, {"prompt": "p", "image_url": access_url, "num_inference_steps": 10})
    assert "error" not in await wait_done(client, submitted["status_url"])


async def test_upload_rejects_tokens_it_did_not_issue(sbx, client):
    assert (await client.post(f"{sbx.fal_rest_url}/storage/auth/token", json={})).status_code == 401
    for auth in ("Bearer made-up", "Key sandbox-key", ""):
        response = await client.post(
            f"{sbx.url}/fal/cdn/files/upload",
            content=b"x",
            headers={"Authorization": auth, "Content-Type": "text/plain"},
        )
        assert response.status_code == 401
    assert (await client.get(f"{sbx.url}/fal/cdn/files/missing.png")).status_code == 404


async def test_initiate_and_put_flow(sbx, client):
    initiated = await client.post(
        f"{sbx.fal_rest_url}/storage/upload/initiate",
        params={"storage_type": "gcs"},
        json={"file_name": "depth.jpg", "content_type": "image/jpeg"},
        headers=KEY,
    )
    assert initiated.status_code == 200
    upload_url, file_url = initiated.json()["upload_url"], initiated.json()["file_url"]
    assert (await client.get(file_url)).status_code == 404
    assert (await client.put(upload_url.split("?")[0] + "?signature=wrong", content=b"abc")).status_code == 403
    assert (
        await client.put(upload_url, content=b"jpeg bytes", headers={"Content-Type": "image/jpeg"})
    ).status_code == 200
    served = await client.get(file_url)
    assert served.content == b"jpeg bytes" and served.headers["content-type"] == "image/jpeg"
    assert (await client.put(upload_url, content=b"again")).status_code == 403  # the URL is single-use
    assert (await stats(client, sbx))["uploads"] == 1


def test_file_store_evicts_least_recently_used():
    store = FileStore(max_bytes=10)
    store.put("a", b"aaaa", "text/plain")
    store.put("b", b"bbbb", "text/plain")
    assert store.get("a") is not None  # a is now the most recent
    store.put("c", b"cccc", "text/plain")
    assert store.get("b") is None and store.get("a") is not None and store.get("c") is not None
    assert store.total_bytes == 8
    with pytest.raises(ValueError):
        store.put("huge", b"x" * 11, "text/plain")


def test_new_file_names_are_unique_and_safe():
    names = {new_file_name("../../etc/pass wd", "text/plain") for _ in range(5)}
    assert len(names) == 5 and all(name.endswith("_pass_wd") and "/" not in name for name in names)
    assert new_file_name(None, "image/png").endswith("_upload.png")
