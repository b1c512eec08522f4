"""Which hosts a remote service could reach: the sandbox's answer to "may this URL be fetched?".

The sandbox stands in for fal and Segmind, which run elsewhere: a URL naming the visitor's own machine or network
(loopback, private, link-local, multicast, reserved, unspecified, in any spelling) is something those services
could never read, so the sandbox must not read it either (no SSRF through an image field on a public Space).

Host spellings are read the way browsers and ``inet_aton`` read them (WHATWG URL host parsing): ``127.1``,
``2130706433``, ``0x7f.1``, ``0177.0.0.1``, percent-escapes and full-width digits, ``[::ffff:127.0.0.1]`` and other
IPv6 forms that carry an IPv4 address (mapped, compatible, 6to4, Teredo, NAT64). Names are not resolved here (the
sandbox fetches nothing); names that only ever mean a local machine (``localhost``, ``*.localhost``, ``*.local``,
``*.internal``, single-label names, ...) count as forbidden.
"""

from __future__ import annotations

import ipaddress
import unicodedata
import urllib.parse
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Names that only ever mean this machine or a local network.
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "broadcasthost"})
LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".intranet", ".lan", ".home.arpa", ".corp")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True)
class HostVerdict:
    """``forbidden`` with the reason (``loopback address``, ``local name``, ...), or a public host."""

    host: str
    forbidden: bool
    reason: str  # e.g. "loopback address", "private address", "local name", "public name"


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 host: decimal, ``0x`` hex or ``0``-prefixed octal; None when not a number."""
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        digits, base = part[1:], 8
    else:
        digits, base = part, 10
    if digits == "":
        return 0 if base == 16 else None
    try:
        return int(digits, base)
    except ValueError:
        return None


def _ends_in_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    return last.isdigit() or (last[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in last[2:]))


def parse_ipv4_host(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a URL host means (``127.1``, ``0x7f.1``, ``2130706433``, ...), or None.

    Raises ValueError for a host that must be IPv4 (its last label is a number) but is not a valid one.
    """
    if not host or not _ends_in_number(host):
        return None
    parts = host.split(".")
    if parts[-1] == "":
        parts.pop()
    numbers = [_ipv4_number(part) for part in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise ValueError(f"{host!r} is not a valid IPv4 host")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise ValueError(f"{host!r} is not a valid IPv4 host")
    address = values[-1]
    for index, value in enumerate(values[:-1]):
        address += value * 256 ** (3 - index)
    return ipaddress.IPv4Address(address)


def parse_ip_host(host: str) -> IPAddress | None:
    """The IP address of a URL host in any spelling (brackets optional for IPv6), or None for a name.

    Raises ValueError for a host that looks like an address but is not a valid one.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        return ipaddress.IPv6Address(text.split("%", 1)[0])  # a zone id (fe80::1%eth0) does not change the address
    return parse_ipv4_host(text)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, IPv4-compatible)."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo:
        found.extend(address.teredo)
    if address in _NAT64 or int(address) >> 32 == 0:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def address_problem(address: IPAddress) -> str | None:
    """Why a remote service could not reach ``address`` (``loopback address``, ...), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_problem(address.ipv4_mapped)
    if problem := _own_problem(address):
        return problem
    for embedded in _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []:
        if problem := address_problem(embedded):
            return problem
    return None


def _own_problem(address: IPAddress) -> str | None:
    checks = (
        ("is_unspecified", "unspecified address"),
        ("is_loopback", "loopback address"),
        ("is_link_local", "link-local address"),
        ("is_multicast", "multicast address"),
        ("is_private", "private address"),
        ("is_reserved", "reserved address"),
        ("is_site_local", "site-local address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute, False):
            return reason
    return None if address.is_global else "non-public address"


def normalise_host(host: str) -> str:
    """Lower case, percent-escapes decoded, full-width and other compatibility characters folded, no final dot."""
    text = unicodedata.normalize("NFKC", urllib.parse.unquote(host)).strip().lower()
    text = text.replace("\u3002", ".").replace("\uff0e", ".").replace("\uff61", ".")  # ideographic full stops
    return text[:-1] if text.endswith(".") and not text.endswith("..") else text


def classify_host(host: str | None) -> HostVerdict:
    """Whether a remote service could reach ``host`` (a URL's host, possibly bracketed IPv6)."""
    raw = host or ""
    text = normalise_host(raw)
    if not text:
        return HostVerdict(raw, True, "missing host")
    try:
        address = parse_ip_host(text)
    except ValueError:
        return HostVerdict(raw, True, "malformed address")
    if address is not None:
        problem = address_problem(address)
        return HostVerdict(raw, problem is not None, problem or "public address")
    if text in LOCAL_NAMES or text.endswith(LOCAL_SUFFIXES):
        return HostVerdict(raw, True, "local name")
    if "." not in text:
        return HostVerdict(raw, True, "single-label (local) name")
    return HostVerdict(raw, False, "public name")


def is_loopback_host(host: str | None) -> bool:
    """True for hosts that mean this machine (the sandbox serves only on those)."""
    text = normalise_host(host or "")
    if text in LOCAL_NAMES - {"broadcasthost"} or text.endswith(".localhost"):
        return True
    try:
        address = parse_ip_host(text)
    except ValueError:
        return False
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback
