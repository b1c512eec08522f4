"""Who a visitor is: a forged X-Forwarded-For entry never makes a new visitor."""

from __future__ import annotations

import pytest

from runs.visitors import visitor_id


@pytest.mark.parametrize(
    ("username", "host", "forwarded", "hops", "expected"),
    [
        ("ada", "10.0.0.1", "1.2.3.4", 1, "hf:ada"),  # signed in: the Hugging Face user, whatever the headers
        # One proxy (Spaces): the entry it appended, at the right; whatever the visitor wrote before it is ignored.
        (" ", "10.0.0.1", "1.2.3.4, 10.0.0.9", 1, "ip:10.0.0.9"),
        (None, "10.0.0.1", "6.6.6.6,203.0.113.7", 1, "ip:203.0.113.7"),
        (None, "10.0.0.1", "6.6.6.6, 7.7.7.7 ,203.0.113.7 ", 1, "ip:203.0.113.7"),
        (None, "10.0.0.1", "203.0.113.7:51234", 1, "ip:203.0.113.7"),
        (None, "10.0.0.1", "2001:db8:1:2:aaaa::1", 1, "ip:2001:db8:1:2::/64"),
        (None, "10.0.0.1", "6.6.6.6, [2001:db8:1:2::5]:443", 1, "ip:2001:db8:1:2::/64"),
        # Two proxies: the second entry from the right; the right-most is the first proxy's own address.
        (None, "10.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.5", 2, "ip:203.0.113.7"),
        # Fewer entries than proxies (the request did not come through them), or no header: the socket.
        (None, "10.0.0.1", "6.6.6.6", 2, "ip:10.0.0.1"),
        (None, "10.0.0.1", None, 1, "ip:10.0.0.1"),
        (None, "10.0.0.1", "", 1, "ip:10.0.0.1"),
        (None, "10.0.0.1", " , ", 1, "ip:10.0.0.1"),
        # No proxy trusted (local runs): the header is the visitor's own writing and is ignored.
        (None, "10.0.0.1", "1.2.3.4", 0, "ip:10.0.0.1"),
        (None, "::ffff:192.0.2.1", "1.2.3.4", 0, "ip:192.0.2.1"),
        (None, "2001:db8:1:2:aaaa::1", None, 0, "ip:2001:db8:1:2::/64"),
        (None, "testclient", None, 0, "ip:testclient"),
        (None, None, "1.2.3.4", 0, "ip:unknown"),
        (None, None, None, 1, "ip:unknown"),
    ],
)
def test_visitor_id(username: str | None, host: str | None, forwarded: str | None, hops: int, expected: str) -> None:
    assert visitor_id(username, host, forwarded, hops) == expected


def test_six_forged_first_entries_are_one_visitor() -> None:
    """Behind the Space's proxy a visitor may write any X-Forwarded-For; the proxy appends the real address."""
    forged = {visitor_id(None, "10.0.0.1", f"198.51.100.{i}, 203.0.113.7", 1) for i in range(6)}
    assert forged == {"ip:203.0.113.7"}
