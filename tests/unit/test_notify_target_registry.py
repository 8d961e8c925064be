"""The SSRF checker against the IANA IPv4 and IPv6 Special-Purpose Address Registries, block by block.

Each row is a registry entry: its block, its name and its "Globally Reachable" column (True, False, or None
where the registry says N/A). Outside local mode every block that is not globally reachable is refused at
its first, last and middle address; blocks that embed an IPv4 address are judged by the address they carry.
"""

import ipaddress

import pytest

from services.notify.domain.targets import TargetRefused, check_url, embedded_ipv4, refusal

pytestmark = pytest.mark.unit

# https://www.iana.org/assignments/iana-ipv4-special-registry (as of 2025)
IPV4_SPECIAL_PURPOSE = [
    ("0.0.0.0/8", '"This network"', False),
    ("0.0.0.0/32", '"This host on this network"', False),
    ("10.0.0.0/8", "Private-Use", False),
    ("100.64.0.0/10", "Shared Address Space", False),
    ("127.0.0.0/8", "Loopback", False),
    ("169.254.0.0/16", "Link Local", False),
    ("172.16.0.0/12", "Private-Use", False),
    ("192.0.0.0/24", "IETF Protocol Assignments", False),
    ("192.0.0.0/29", "IPv4 Service Continuity Prefix", False),
    ("192.0.0.8/32", "IPv4 dummy address", False),
    ("192.0.0.9/32", "Port Control Protocol Anycast", True),
    ("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", True),
    ("192.0.0.170/32", "NAT64/DNS64 Discovery", False),
    ("192.0.0.171/32", "NAT64/DNS64 Discovery", False),
    ("192.0.2.0/24", "Documentation (TEST-NET-1)", False),
    ("192.31.196.0/24", "AS112-v4", True),
    ("192.52.193.0/24", "AMT", True),
    ("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", None),
    ("192.168.0.0/16", "Private-Use", False),
    ("192.175.48.0/24", "Direct Delegation AS112 Service", True),
    ("198.18.0.0/15", "Benchmarking", False),
    ("198.51.100.0/24", "Documentation (TEST-NET-2)", False),
    ("203.0.113.0/24", "Documentation (TEST-NET-3)", False),
    ("240.0.0.0/4", "Reserved", False),
    ("255.255.255.255/32", "Limited Broadcast", False),
]

# https://www.iana.org/assignments/iana-ipv6-special-registry (as of 2025)
IPV6_SPECIAL_PURPOSE = [
    ("::1/128", "Loopback Address", False),
    ("::/128", "Unspecified Address", False),
    ("::ffff:0:0/96", "IPv4-mapped Address", False),
    ("64:ff9b::/96", "IPv4-IPv6 Translat.", True),
    ("64:ff9b:1::/48", "IPv4-IPv6 Translat.", False),
    ("100::/64", "Discard-Only Address Block", False),
    ("100:0:0:1::/64", "Dummy IPv6 Prefix", False),
    ("2001::/23", "IETF Protocol Assignments", False),
    ("2001::/32", "TEREDO", None),
    ("2001:1::1/128", "Port Control Protocol Anycast", True),
    ("2001:1::2/128", "Traversal Using Relays around NAT Anycast", True),
    ("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", True),
    ("2001:2::/48", "Benchmarking", False),
    ("2001:3::/32", "AMT", True),
    ("2001:4:112::/48", "AS112-v6", True),
    ("2001:10::/28", "Deprecated (previously ORCHID)", None),
    ("2001:20::/28", "ORCHIDv2", True),
    ("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", True),
    ("2001:db8::/32", "Documentation", False),
    ("2002::/16", "6to4", None),
    ("2620:4f:8000::/48", "Direct Delegation AS112 Service", True),
    ("3fff::/20", "Documentation", False),
    ("5f00::/16", "Segment Routing (SRv6) SIDs", False),
    ("fc00::/7", "Unique-Local", False),
    ("fe80::/10", "Link-Local Unicast", False),
]

NOT_GLOBALLY_REACHABLE = [
    (block, name) for block, name, reachable in IPV4_SPECIAL_PURPOSE + IPV6_SPECIAL_PURPOSE if reachable is False
]

# Not special-purpose blocks, but outside the unicast the registries describe: never a webhook's target.
MULTICAST = [("224.0.0.0/4", "IPv4 multicast"), ("ff00::/8", "IPv6 multicast")]

REAL_GLOBAL_ADDRESSES = [
    "1.1.1.1",  # Cloudflare's resolver
    "8.8.8.8",  # Google's resolver
    "193.163.102.58",  # a Danish public address (DK Hostmaster's range)
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",  # 2001:4860::/32 is outside IETF's 2001::/23
    "2a00:1450:400f:80d::200e",
    "64:ff9b::8.8.8.8",  # NAT64's well-known prefix is globally reachable, and so is what it carries
    "2002:808:808::1",  # 6to4 of a global IPv4 address
]


def first_last_middle(block: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    network = ipaddress.ip_network(block)
    return sorted({network[0], network[network.num_addresses // 2], network[-1]})


@pytest.mark.parametrize(("block", "name"), NOT_GLOBALLY_REACHABLE + MULTICAST)
def test_every_block_that_is_not_globally_reachable_is_refused_at_its_ends_and_middle(block: str, name: str) -> None:
    for address in first_last_middle(block):
        assert refusal(address, allow_private=False) is not None, (block, name, str(address))
        literal = f"[{address}]" if address.version == 6 else str(address)
        with pytest.raises(TargetRefused):
            check_url(f"https://{literal}/hook", allow_private=False)


@pytest.mark.parametrize("address", REAL_GLOBAL_ADDRESSES)
def test_real_global_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=False) is None
    literal = f"[{address}]" if ":" in address else address
    assert check_url(f"https://{literal}/hook", allow_private=False).literal_address == ipaddress.ip_address(address)


def test_the_registry_tables_are_whole_and_the_data_is_well_formed() -> None:
    for block, _name, reachable in IPV4_SPECIAL_PURPOSE + IPV6_SPECIAL_PURPOSE:
        assert reachable in (True, False, None)
        ipaddress.ip_network(block)  # strict: a block is its network address
    assert len(IPV4_SPECIAL_PURPOSE) == 25 and len(IPV6_SPECIAL_PURPOSE) == 25


def _nat64_local_use(ipv4: str, prefix_length: int) -> ipaddress.IPv6Address:
    """RFC 6052 section 2.2: the IPv4 address around the reserved bits 64-71, under a prefix in 64:ff9b:1::/48."""
    v4 = ipaddress.IPv4Address(ipv4).packed
    prefix = bytearray(ipaddress.IPv6Address("64:ff9b:1::").packed)
    if prefix_length == 96:
        prefix[12:16] = v4
    else:
        start = prefix_length // 8
        before = 8 - start
        prefix[start:8] = v4[:before]
        prefix[9 : 9 + 4 - before] = v4[before:]
    return ipaddress.IPv6Address(bytes(prefix))


def _teredo(server: str, client: str) -> ipaddress.IPv6Address:
    """RFC 4380: 2001:0::/32, the server's IPv4 address, flags, and the client's port and address inverted."""
    value = (0x20010000 << 96) | (int(ipaddress.IPv4Address(server)) << 64) | (0x8000 << 48) | (0x63BF << 32)
    return ipaddress.IPv6Address(value | (~int(ipaddress.IPv4Address(client)) & 0xFFFFFFFF))


INNER = {"loopback": "127.0.0.1", "private": "10.1.2.3", "link_local": "169.254.169.254", "reserved": "100.64.0.1"}


def embeddings(ipv4: str) -> dict[str, ipaddress.IPv6Address]:
    """The IPv6 addresses that carry this IPv4 address, one per kind of embedding."""
    packed = int(ipaddress.IPv4Address(ipv4))
    found = {
        "ipv4-mapped": ipaddress.IPv6Address(f"::ffff:{ipv4}"),
        "ipv4-compatible": ipaddress.IPv6Address(f"::{ipv4}"),
        "6to4": ipaddress.IPv6Address((0x2002 << 112) | (packed << 80) | 1),
        "teredo-client": _teredo("65.54.227.120", ipv4),
        "teredo-server": _teredo(ipv4, "8.8.8.8"),
        "nat64-well-known": ipaddress.IPv6Address(f"64:ff9b::{ipv4}"),
    }
    for length in (48, 56, 64, 96):
        found[f"nat64-local-use/{length}"] = _nat64_local_use(ipv4, length)
    return found


@pytest.mark.parametrize("kind", sorted(INNER))
def test_every_embedding_is_unwrapped_and_judged_by_the_ipv4_address_it_carries(kind: str) -> None:
    for embedding, address in embeddings(INNER[kind]).items():
        assert ipaddress.IPv4Address(INNER[kind]) in embedded_ipv4(address), (embedding, str(address))
        reason = refusal(address, allow_private=False)
        # The gravest reason is named; an embedding outside 2000::/3's global space is itself private or reserved.
        assert reason == kind or (kind == "reserved" and reason == "private"), (embedding, str(address), reason)


def test_in_local_mode_an_embedded_link_local_address_is_still_refused_and_loopback_allowed() -> None:
    for embedding, address in embeddings("169.254.169.254").items():
        assert refusal(address, allow_private=True) == "link_local", (embedding, str(address))
    for embedding, address in embeddings("127.0.0.1").items():
        assert refusal(address, allow_private=True) is None, (embedding, str(address))


def test_the_gaps_of_issue_18() -> None:
    """RFC 8215's local NAT64 prefix and IPv4-compatible ::a.b.c.d went through with a global address inside."""
    for address in ("64:ff9b:1::808:808", "64:ff9b:1:808:8:800::", "::8.8.8.8", "::1.1.1.1"):
        assert refusal(ipaddress.ip_address(address), allow_private=False) is not None, address
        with pytest.raises(TargetRefused):
            check_url(f"https://[{address}]/hook", allow_private=False)
