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


def test_two_tabs_keep_both_runs_when_one_echoes_the_others_write_first():
    """The order a server log showed (test_two_tabs_whose_runs_end_together_keep_both, 1 failure in 3-12 runs):
    both tabs' steps read an empty stored list; tab B showed (and so wrote back) A's list before its own step
    returned, then B's step wrote [its run]. A took the echo as its run stored, and B's list replaced it."""
    from types import SimpleNamespace

    import gradio as gr

    from components.history_actions import add_record, show_stored
    from components.history_state import ALL, filtered
    from tests.components.test_history_state import ended_at

    view = SimpleNamespace(ctx=None, files=SimpleNamespace(placeholder="placeholder.png"))
    empty = stored_as_gradio_does([])

    def ids(listing: list) -> list[str]:
        return [entry["id"] for entry in filtered(listing, ALL)]

    def shown(before: list, seen: object, stored: list) -> tuple[list, object]:
        out = show_stored(view, stored_as_gradio_does(stored), before, ALL, True, seen)
        return before if out[0] == gr.skip() else out[0], seen if out[-1] == gr.skip() else out[-1]

    run_a, run_b = ended_at(1, 200.0), ended_at(2, 200.2)
    a_out = add_record(view, [], run_a["record"], ALL, None, empty)  # A's step: nothing stored yet
    a_list, a_seen = a_out[0], a_out[3]
    b_out = add_record(view, [], run_b["record"], ALL, None, empty)  # B's step, sent before A's write
    b_list, _ = shown([], None, a_list)  # ... but B shows A's write first, and writes it back
    a_list, a_seen = shown(a_list, a_seen, b_list)  # A gets that echo
    b_list = b_out[0]  # B's step returns: [B's run], written
    a_list, a_seen = shown(a_list, a_seen, b_list)  # A gets it
    assert ids(a_list) == ["run-2", "run-1"]
    b_list, _ = shown(b_list, b_out[3], a_list)  # B gets A's list back: both tabs agree
    assert ids(b_list) == ["run-2", "run-1"] and shown(a_list, a_seen, b_list)[0] == a_list


def test_a_sync_sent_before_a_delete_answered_does_not_undo_it():
    """The page deleted run 1; a sync of the other tab's write (which still had run 1) was sent before the delete's
    answer, with the page's list from before it: run 1 came back and its mark was lost for both tabs (a review).
    The page's deletes are kept on the server (``seen``), which the sync reads as it runs."""
    from types import SimpleNamespace

    import gradio as gr

    from components.history_actions import delete, show_stored
    from components.history_state import ALL, deleted_ids, filtered
    from tests.components.test_history_state import ended_at

    view = SimpleNamespace(ctx=None, files=SimpleNamespace(placeholder="placeholder.png"))
    before = [ended_at(1, 200.0), ended_at(0, 100.0)]
    out = delete(view, before, "run-1", ALL, [], {"ids": ["run-1"], "own": []})
    seen = out[7]
    assert [e["id"] for e in filtered(out[0], ALL)] == ["run-0"]
    other_tab = stored_as_gradio_does(before)  # written before the other tab saw the delete
    synced = show_stored(view, other_tab, before, ALL, True, seen)  # sent with the page's list from before
    listing = synced[0]
    assert listing != gr.skip() and [e["id"] for e in filtered(listing, ALL)] == ["run-0"]
    assert deleted_ids(listing) == ["run-1"], "the mark goes on with the list the page writes"
