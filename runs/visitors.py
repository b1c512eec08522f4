"""Who a visitor is, for budgets and runs at once: a Hugging Face user name, or the address the nearest trusted proxy
saw (never an entry the visitor wrote), IPv6 counted per /64."""

from __future__ import annotations

import ipaddress


def _address(raw: str) -> str | None:
    text = raw.strip()
    if not text:
        return None
    candidates = [text]
    if text.startswith("[") and "]" in text:  # [v6]:port
        candidates.append(text[1 : text.index("]")])
    elif text.count(":") == 1:  # v4:port
        candidates.append(text.split(":")[0])
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            # One IPv6 visitor usually holds a whole /64: count it as one address, or budgets are easy to dodge.
            return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
        return str(address)
    return "".join(ch for ch in text if ch.isprintable() and not ch.isspace())[:100] or None




def client_address(client_host: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """The visitor's address as the nearest trusted proxy saw it, never an entry the visitor wrote.

    Each proxy appends the address of whoever connected to it, so a visitor may write any entries at the *left* of
    ``X-Forwarded-For`` but never at the right: with ``trusted_proxies`` proxies in front, the visitor's address is
    the entry that many hops from the right (the right-most one behind one proxy). Without a trusted proxy, or when
    the header holds fewer entries than that (the request did not come through them), the socket's address."""
    if trusted_proxies > 0:
        entries = [entry.strip() for entry in (forwarded_for or "").split(",")]
        entries = [entry for entry in entries if entry]
        if len(entries) >= trusted_proxies:
            return _address(entries[-trusted_proxies])
    return _address(client_host or "")


def visitor_id(
    username: str | None, client_host: str | None, forwarded_for: str | None, trusted_proxies: int = 0
) -> str:
    """Who a visitor is, for budgets and runs at once: ``hf:<username>`` when signed in to Hugging Face, else
    ``ip:<address>`` with ``client_address`` (the address the trusted proxy appended to ``X-Forwarded-For``, or
    the socket's), else ``ip:unknown``. IPv6 addresses count per /64."""
    if username and username.strip():
        return f"hf:{username.strip()}"
    address = client_address(client_host, forwarded_for, trusted_proxies)
    return f"ip:{address}" if address else "ip:unknown"
