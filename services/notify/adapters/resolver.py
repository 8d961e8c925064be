"""Resolving a webhook host to its addresses (the port), over the system resolver or an in-memory fake."""

import asyncio
import functools
import ipaddress
import socket
from typing import Protocol

from services.notify.domain.targets import IpAddress, WebhookTarget, check_addresses, check_url


class Resolver(Protocol):
    """Every address a host name resolves to; an empty list when it does not resolve."""

    async def resolve(self, host: str, port: int) -> list[IpAddress]: ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo), as the HTTP client itself would use."""

    def __init__(self, timeout_s: float = 5.0):
        self._timeout_s = timeout_s

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        """All A and AAAA answers; an empty list on a resolver error or timeout."""
        try:
            async with asyncio.timeout(self._timeout_s):
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError, UnicodeError):
            return []
        found: list[IpAddress] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
        return found


class StaticResolver:
    """Fake Resolver for unit tests: a fixed map of names to addresses."""

    def __init__(self, names: dict[str, list[str]]):
        self._names = {name: [ipaddress.ip_address(a) for a in addresses] for name, addresses in names.items()}

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        """The configured addresses, or none."""
        return list(self._names.get(host, []))


# The URL rules depend on the URL's text alone, so their verdict on an accepted URL is kept (a refusal
# raises and is never cached); the addresses are resolved and checked again on every attempt.
_checked_url = functools.lru_cache(maxsize=4096)(check_url)


async def resolve_target(url: str, resolver: Resolver, *, allow_private: bool) -> tuple[WebhookTarget, list[IpAddress]]:
    """Check the URL and every address its host resolves to now; raises TargetRefused."""
    target = _checked_url(url, allow_private=allow_private)
    if target.literal_address is not None:
        return target, [target.literal_address]
    addresses = await resolver.resolve(target.host, target.port)
    check_addresses(addresses, allow_private=allow_private)
    return target, addresses
