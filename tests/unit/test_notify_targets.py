"""SSRF rules on webhook URLs and the addresses they resolve to."""

import ipaddress

import pytest

from services.notify.adapters.resolver import StaticResolver, resolve_target
from services.notify.domain.targets import TargetRefused, check_url, refusal

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.3.4.5", "loopback"),
        ("::1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.0.10", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link_local"),
        ("fe80::1", "link_local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link_local"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
        ("100.64.0.1", "reserved"),  # carrier-grade NAT
        ("0.0.0.0", "not_unicast"),
        ("224.0.0.1", "not_unicast"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_addresses_are_judged_outside_local_mode(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=False) == reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [("127.0.0.1", None), ("10.0.0.1", None), ("169.254.169.254", "link_local"), ("fe80::2", "link_local")],
)
def test_local_mode_allows_loopback_and_private_but_never_link_local(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=True) == reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.dk/x", "scheme_not_allowed"),
        ("ftp://hooks.example.dk/x", "scheme_not_allowed"),
        ("https:///nohost", "url_invalid"),
        ("https://user:secret@hooks.example.dk/x", "credentials_in_url"),
        ("https://hooks.example.dk/x#frag", "url_invalid"),
        ("https://hooks.example.dk:99999/x", "url_invalid"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://" + "a" * 2100 + ".dk/", "url_too_long"),
    ],
)
def test_urls_that_are_refused(url: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        check_url(url, allow_private=False)
    assert refused.value.reason == reason


def test_a_good_url_keeps_its_host_and_default_port() -> None:
    target = check_url("https://Hooks.Kommune.example.dk/webhooks?x=1", allow_private=False)
    assert (target.host, target.port, target.literal_address) == ("hooks.kommune.example.dk", 443, None)
    assert check_url("http://127.0.0.1:8080/w", allow_private=True).port == 8080


RESOLVER = StaticResolver(
    {
        "public.example.dk": ["93.184.216.34"],
        "intern.example.dk": ["10.1.2.3"],
        "metadata.example.dk": ["169.254.169.254"],
        "loop.example.dk": ["127.0.0.1"],
        "mixed.example.dk": ["93.184.216.34", "192.168.1.1"],
    }
)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("intern.example.dk", "private"),
        ("metadata.example.dk", "link_local"),
        ("loop.example.dk", "loopback"),
        ("mixed.example.dk", "private"),  # any bad address refuses the host
        ("unknown.example.dk", "unresolvable"),
    ],
)
async def test_host_names_are_judged_by_every_address_they_resolve_to(host: str, reason: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        await resolve_target(f"https://{host}/hook", RESOLVER, allow_private=False)
    assert refused.value.reason == reason


async def test_a_public_host_resolves_to_its_addresses() -> None:
    target, addresses = await resolve_target("https://public.example.dk/hook", RESOLVER, allow_private=False)
    assert target.host == "public.example.dk" and addresses == [ipaddress.ip_address("93.184.216.34")]
