"""The history as this browser stored it, read back on the server.

The page keeps the history in a ``gr.BrowserState``, which holds its value in memory and writes it whole to
localStorage on every change; it reads localStorage once, when the page opens. Two tabs of one browser would each
write their own list over the other's: a run made in one tab was lost from the stored history as soon as the
other tab recorded a run. So each page listens for the other tabs' writes (the browser's ``storage`` event) and
sends the stored value here; ``stored_entries`` decodes it, and the page's list becomes the stored one
(``history_actions.show_stored``).

Gradio 6.31's format (its BrowserState module, CryptoJS): ``<base64 iv>:<base64 "Salted__" + salt + ciphertext>``,
AES-256-CBC with PKCS#7 padding, the key and iv derived from the passphrase (the secret's SHA-256, in hex) and the
salt by OpenSSL's ``EVP_BytesToKey`` with MD5 (CryptoJS ignores the iv it is given alongside a passphrase). The
secret is not one (``STORAGE_SECRET``): it only obscures the list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

STORAGE_KEY = "flux-playground-history-v1"
# Obscures the stored list (Gradio encrypts BrowserState); fixed so history survives restarts. Not a secret.
STORAGE_SECRET = "flux-playground-history"
SALTED = b"Salted__"
MAX_STORED_CHARS = 8 * 1024 * 1024  # localStorage holds about 5 MB per site: anything longer was not written by it


def _key_and_iv(passphrase: bytes, salt: bytes) -> tuple[bytes, bytes]:
    derived = block = b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase + salt, usedforsecurity=False).digest()
        derived += block
    return derived[:32], derived[32:48]


def stored_entries(stored: Any, secret: str = STORAGE_SECRET) -> list[dict[str, Any]] | None:
    """The list ``stored`` (a BrowserState's localStorage value written with ``secret``) holds, or None when it is
    missing or not such a value (another format, another secret, damaged, not a list of entries)."""
    if not isinstance(stored, str) or len(stored) > MAX_STORED_CHARS or ":" not in stored:
        return None
    try:
        raw = base64.b64decode(stored.split(":", 1)[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(SALTED) or len(raw) < 32 or (len(raw) - 16) % 16:
        return None
    key, iv = _key_and_iv(hashlib.sha256(secret.encode()).hexdigest().encode(), raw[8:16])
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(decryptor.update(raw[16:]) + decryptor.finalize()) + unpadder.finalize()
        value = json.loads(plain)
    except ValueError:  # bad padding (another secret), not UTF-8, not JSON
        return None
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        return None
    return value
