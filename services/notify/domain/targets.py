"""SSRF protection for webhook URLs: the rules on the URL and on every address its host resolves to."""

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """A webhook target the platform will not call; `reason` is a machine code, the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class WebhookTarget:
    """A checked URL's parts: where to connect, and what to send as Host and TLS server name."""

    url: str
    scheme: str
    host: str
    port: int
    literal_address: IpAddress | None


def check_url(url: str, *, allow_private: bool) -> WebhookTarget:
    """Refuse what is not an https URL with a host (http too in local development); no credentials in it."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused("url_too_long", f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("url_invalid", "is not a valid URL") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused("scheme_not_allowed", "must use https")
    if not parts.hostname:
        raise TargetRefused("url_invalid", "must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("credentials_in_url", "must not carry credentials; the signature authenticates us")
    if parts.fragment:
        raise TargetRefused("url_invalid", "must not have a fragment")
    host = parts.hostname
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_addresses([literal], allow_private=allow_private)
    default_port = 443 if parts.scheme == "https" else 80
    return WebhookTarget(url=url, scheme=parts.scheme, host=host, port=port or default_port, literal_address=literal)


# RFC 6052 prefixes whose addresses carry an IPv4 address a translator (NAT64) on the path would connect to:
# the well-known /96 and the /48 for local use (RFC 8215), which a network may split into longer prefixes.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d (RFC 4291 2.5.5.1)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")

# `ipaddress`'s tables are those of this Python's release; the IANA special-purpose registries have moved on.
# Blocks the registry says are not globally reachable but which `is_global` still calls global:
_NOT_GLOBALLY_REACHABLE = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments (RFC 6890; its two anycast /32s too)
    ipaddress.ip_network("3fff::/20"),  # documentation (RFC 9637)
)
# IETF-reserved space (`is_reserved`: ::/8, 4000::/3 ...) is refused, for it holds the deprecated ::a.b.c.d,
# 64:ff9b:1::/48, 5f00::/16 and 100:0:0:1::/64 that `is_global` misses, but for the one block in it the
# registry says is globally reachable: NAT64's well-known prefix (its IPv4 address is judged on its own).
_GLOBAL_IN_RESERVED = (_NAT64_WELL_KNOWN,)


def _rfc6052_ipv4(address: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address at RFC 6052's place for a prefix of this length (bits 64-71 are skipped)."""
    octets = address.packed
    if prefix_length == 96:
        return ipaddress.IPv4Address(octets[12:16])
    start = prefix_length // 8
    around_u = octets[start:8] + octets[9 : 9 + 4 - (8 - start)]
    return ipaddress.IPv4Address(around_u)


def embedded_ipv4(address: IpAddress) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address inside an IPv6 address that a tunnel or translator would carry the request to:
    IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d, 6to4 2002::/16, Teredo 2001::/32 (server and
    client), NAT64 64:ff9b::/96 and 64:ff9b:1::/48 (at each RFC 6052 prefix length it may be split into)."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1, which are IPv6's own
        found.append(ipaddress.IPv4Address(int(address)))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64_WELL_KNOWN:
        found.append(_rfc6052_ipv4(address, 96))
    if address in _NAT64_LOCAL_USE:
        # The prefix length is the network's choice: each layout is judged, but for the 0.x.x.x that a layout
        # which does not apply reads from the zeros (outside local mode the block itself is refused anyway).
        layouts = (_rfc6052_ipv4(address, length) for length in (48, 56, 64, 96))
        found.extend(candidate for candidate in layouts if candidate not in _THIS_NETWORK)
    return found


def _own_refusal(address: IpAddress, *, allow_private: bool) -> str | None:
    """Why this address itself is refused, by `ipaddress`'s own properties (and the registry's newer blocks)."""
    # Link-local covers cloud metadata endpoints (169.254.169.254): refused even in local development.
    if address.is_link_local:
        return "link_local"
    if address.is_multicast or address.is_unspecified:
        return "not_unicast"
    if allow_private:
        return None
    if address.is_loopback:
        return "loopback"
    if address.is_private:
        return "private"
    if not address.is_global or any(address in block for block in _NOT_GLOBALLY_REACHABLE):
        return "reserved"
    if address.is_reserved and not any(address in block for block in _GLOBAL_IN_RESERVED):
        return "reserved"
    return None


_GRAVEST_FIRST = ("link_local", "not_unicast", "loopback", "private", "reserved")


def refusal(address: IpAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not go to this address (a reason code), or None when it may: the address itself and
    every IPv4 address embedded in it (the one a tunnel or translator would reach) are judged; the gravest
    reason is named."""
    reasons = {_own_refusal(candidate, allow_private=allow_private) for candidate in (address, *embedded_ipv4(address))}
    return next((reason for reason in _GRAVEST_FIRST if reason in reasons), None)


def check_addresses(addresses: list[IpAddress], *, allow_private: bool) -> None:
    """Refuse when the host has no address, or when ANY of its addresses is refused (a host may round-robin)."""
    if not addresses:
        raise TargetRefused("unresolvable", "host does not resolve")
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            raise TargetRefused(reason, f"resolves to a {reason.replace('_', '-')} address, which is not allowed")
