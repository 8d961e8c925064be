"""SSRF protection for webhook URLs: the rules on the URL and on every address its host resolves to."""

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

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


def _embedded_ipv4(address: IpAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: IpAddress, *, allow_private: bool) -> str | None:
    """Why a webhook may not go to this address (a reason code), or None when it may."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal(embedded, allow_private=allow_private)
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
    if not address.is_global:
        return "reserved"
    return None


def check_addresses(addresses: list[IpAddress], *, allow_private: bool) -> None:
    """Refuse when the host has no address, or when ANY of its addresses is refused (a host may round-robin)."""
    if not addresses:
        raise TargetRefused("unresolvable", "host does not resolve")
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            raise TargetRefused(reason, f"resolves to a {reason.replace('_', '-')} address, which is not allowed")
