"""Reading back the history a page stored (Gradio's BrowserState format). The format itself is checked against
Gradio's own page in ``tests/test_history_browser.py`` (two tabs, and every test reading the stored list)."""

from __future__ import annotations

import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from components.history_storage import MAX_STORED_CHARS, STORAGE_SECRET, stored_entries


def stored_as_gradio_does(value: object, secret: str = STORAGE_SECRET) -> str:
    """What Gradio's BrowserState writes: ``<iv>:<OpenSSL "Salted__" base64>`` (CryptoJS, passphrase mode)."""
    passphrase, salt = hashlib.sha256(secret.encode()).hexdigest().encode(), os.urandom(8)
    derived = block = b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase + salt, usedforsecurity=False).digest()
        derived += block
    padder = padding.PKCS7(128).padder()
    plain = padder.update(json.dumps(value).encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).encryptor()
    body = b"Salted__" + salt + encryptor.update(plain) + encryptor.finalize()
    return base64.b64encode(os.urandom(16)).decode() + ":" + base64.b64encode(body).decode()


def test_a_stored_list_reads_back():
    entries = [{"id": "b", "seed": 2}, {"id": "a", "seed": 1, "label": "é ✓"}]
    assert stored_entries(stored_as_gradio_does(entries)) == entries
    assert stored_entries(stored_as_gradio_does([])) == []


def test_anything_else_reads_as_nothing():
    good = stored_as_gradio_does([{"id": "a"}])
    assert stored_entries(stored_as_gradio_does([{"id": "a"}], secret="another")) is None
    for stored in (None, "", 42, "no colon", "x:not base64!", "x:" + base64.b64encode(b"plain text").decode(),
                   good[:-8] + "A" * 8, good.split(":")[0] + ":" + good.split(":")[1][:-4],
                   stored_as_gradio_does({"id": "a"}), stored_as_gradio_does([1, 2]), stored_as_gradio_does("text"),
                   "x:" + "A" * MAX_STORED_CHARS):
        assert stored_entries(stored) is None, stored


def test_a_record_goes_into_the_list_as_stored_when_its_step_was_sent():
    """Two tabs' runs ending together: this page's step carries what the other tab has just stored, and the record
    goes into that list, not into the older one the page sent (which lost the other tab's run); with nothing
    readable stored, into the page's own list as before."""
    from types import SimpleNamespace

    from components.history_actions import add_record
    from components.history_state import ALL
    from tests.components.test_history_state import ended_at, record

    view = SimpleNamespace(ctx=None, files=SimpleNamespace(placeholder="placeholder.png"))
    other_tabs = [ended_at(1, 200.0)]
    listing = add_record(view, [], record(2), ALL, None, stored_as_gradio_does(other_tabs))[0]
    assert [entry["id"] for entry in listing] == ["run-2", "run-1"]
    assert [entry["id"] for entry in add_record(view, [], record(2), ALL, None, "not stored")[0]] == ["run-2"]
