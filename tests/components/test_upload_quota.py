"""The hourly upload allowances' bookkeeping (the middleware itself: tests/test_uploads.py, against the app)."""

from __future__ import annotations

from components.upload_quota import MB, UploadLedger, UploadLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_has_its_hour_and_everyone_shares_one():
    clock = Clock()
    ledger = UploadLedger(UploadLimits(per_address=10 * MB, total=15 * MB, window=3600), clock)
    ledger.reserve("a", 8 * MB)
    assert ledger.room("a") == 2 * MB and ledger.room("b") == 7 * MB
    ledger.reserve("b", 7 * MB)
    assert ledger.room("c") == 0
    clock.now += 1800
    ledger.reserve("a", 2 * MB)
    assert ledger.room("a") == 0
    assert round(ledger.retry_after("a", 1 * MB)) == 1800  # once the first 8 MB are an hour old
    clock.now += 1800
    assert ledger.room("a") == 8 * MB and ledger.room("c") == 10 * MB
    assert ledger.retry_after("a", 20 * MB) == 3600  # never fits: the window's length


def test_nothing_sent_is_not_counted():
    ledger = UploadLedger(UploadLimits(per_address=MB, total=MB))
    ledger.reserve("a", 0)
    assert ledger.room("a") == MB


def test_an_upload_is_charged_as_it_starts_and_settled_to_what_came():
    ledger = UploadLedger(UploadLimits(per_address=10 * MB, total=100 * MB))
    entry = ledger.reserve("a", 8 * MB)  # declared
    assert ledger.room("a") == 2 * MB  # a second upload at once sees it
    ledger.grow("a", entry, -5 * MB)  # the client went after 3 MB
    assert ledger.room("a") == 7 * MB
    ledger.grow("a", entry, -50 * MB)  # never below nothing
    assert ledger.room("a") == 10 * MB
