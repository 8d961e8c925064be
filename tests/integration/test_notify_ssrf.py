"""SSRF: subscription URLs to loopback, private and link-local targets are refused outside local mode; the
real webhook transport follows no redirect and calls no address the check did not pass at sending time."""

import json
import threading
from datetime import UTC, datetime

import pytest
from starlette.types import Receive, Scope, Send

from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.resolver import StaticResolver
from services.notify.adapters.secrets import SecretBox, new_signing_secret
from services.notify.adapters.webhooks import WebhookSender, WebhookTransport
from services.notify.domain.model import AttemptKind, Channel
from shared.auth.principal import Role
from tests.support.notify_helpers import MASTER_KEY, bearer, notify_settings, running_notify, serving, wait_ready

pytestmark = pytest.mark.integration

TYPES = ["referral.created.v1"]


async def test_private_targets_are_refused_outside_local_mode_and_link_local_always(
    fresh_database, issue_client, kafka_bootstrap: str, topic_prefix: str
) -> None:
    municipality = await issue_client(Role.MUNICIPALITY, municipality_code="0316")
    async with fresh_database("notify") as database_url:
        production = notify_settings(database_url, kafka_bootstrap, topic_prefix, local_dev=False)
        async with running_notify(production) as notify:
            await wait_ready(notify, municipality.token)

            async def subscribe(url: str):
                body = {"url": url, "event_types": TYPES}
                return await notify.post("/v1/subscriptions", json=body, headers=bearer(municipality.token))

            # Literal addresses, and `localhost` through the real system resolver.
            refused = {
                "https://127.0.0.1/hook": "loopback",
                "https://[::1]:8443/hook": "loopback",
                "https://10.20.30.40/hook": "private",
                "https://192.168.1.10/hook": "private",
                "https://169.254.169.254/latest/meta-data": "link-local",
                "https://[fe80::1]/hook": "link-local",
                "https://[::ffff:10.0.0.1]/hook": "private",
                "https://[::10.0.0.1]/hook": "private",  # IPv4-compatible
                "https://[::8.8.8.8]/hook": "reserved",  # IPv4-compatible is deprecated, reserved space
                "https://[64:ff9b:1::a01:203]/hook": "private",  # RFC 8215 local-use NAT64 of 10.1.2.3
                "https://[64:ff9b:1::808:808]/hook": "reserved",  # local-use NAT64 is not globally reachable
                "https://[2001:0:4136:e378:8000:63bf:f5fe:fffe]/hook": "private",  # Teredo, client 10.1.0.1
                "https://[3fff::1]/hook": "reserved",  # documentation (RFC 9637)
                "https://192.0.0.128/hook": "reserved",  # IETF protocol assignments
                "https://localhost/hook": "loopback",
                # Other spellings of loopback the system resolver reads as addresses (inet_aton), and a zone id.
                "https://2130706433/hook": "loopback",
                "https://0x7f.0.0.1/hook": "loopback",
                "https://127.1/hook": "loopback",
                "https://0/hook": "not-unicast",
                "https://[fe80::1%25eth0]/hook": "link-local",
            }
            for url, why in refused.items():
                response = await subscribe(url)
                assert response.status_code == 422, url
                problem = response.json()
                assert problem["errors"][0]["field"] == "url" and why in problem["errors"][0]["problem"], url
                assert url not in response.text  # the refusal does not echo the URL

            # Host names that resolve to such addresses (the resolver port swapped for fixed answers).
            notify.notify_app.state.notify.resolver = StaticResolver(
                {
                    "intern.kommune.example.dk": ["10.1.2.3"],
                    "metadata.example.dk": ["169.254.169.254"],
                    "rebound.example.dk": ["93.184.216.34", "127.0.0.1"],
                    "nat64.example.dk": ["64:ff9b:1::808:808"],
                    "hooks.kommune.example.dk": ["93.184.216.34"],
                }
            )
            for host in (
                "intern.kommune.example.dk",
                "metadata.example.dk",
                "rebound.example.dk",
                "nat64.example.dk",
                "nowhere.example.dk",
            ):
                assert (await subscribe(f"https://{host}/hook")).status_code == 422, host
            assert (await subscribe("http://hooks.kommune.example.dk/hook")).status_code == 422  # https only
            assert (await subscribe("https://user:pw@hooks.kommune.example.dk/hook")).status_code == 422
            created = await subscribe("https://hooks.kommune.example.dk/hook")
            assert created.status_code == 201

            # The name now answers the NAT64 form of the metadata address: enabling checks the URL again.
            notify.notify_app.state.notify.resolver = StaticResolver(
                {"hooks.kommune.example.dk": ["93.184.216.34", "64:ff9b::a9fe:a9fe"]}
            )
            path = f"/v1/subscriptions/{created.json()['id']}/enable"
            enabled = await notify.post(path, headers=bearer(municipality.token))
            assert enabled.status_code == 422 and "link-local" in enabled.json()["errors"][0]["problem"]

        local = notify_settings(database_url, kafka_bootstrap, topic_prefix, local_dev=True)
        async with running_notify(local) as notify:
            await wait_ready(notify, municipality.token)
            headers = bearer(municipality.token)
            link_local = {"url": "https://169.254.169.254/latest", "event_types": TYPES}
            assert (await notify.post("/v1/subscriptions", json=link_local, headers=headers)).status_code == 422
            loopback = {"url": "http://127.0.0.1:9/webhooks", "event_types": TYPES}
            assert (await notify.post("/v1/subscriptions", json=loopback, headers=headers)).status_code == 201


class Counting:
    """A real HTTP server's app: counts requests and answers `status` (with a Location when redirecting)."""

    def __init__(self, status: int, location: str | None = None):
        self.status, self.location, self.requests, self._lock = status, location, 0, threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with self._lock:
            self.requests += 1
        headers = [(b"content-type", b"text/plain")]
        if self.location is not None:
            headers.append((b"location", self.location.encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


BOX = SecretBox(MASTER_KEY)
SUBSCRIPTION = "5b0c7a52-0000-4000-8000-0000000000aa"


def claimed(url: str) -> ClaimedDelivery:
    now = datetime.now(UTC)
    return ClaimedDelivery(
        id="8d0f6a3e-0000-5000-8000-0000000000ab",
        channel=Channel.WEBHOOK,
        target_key=SUBSCRIPTION,
        event_id="evt-ssrf",
        event_type="referral.created.v1",
        event_time=now,
        body=json.dumps({"type": "referral.created.v1", "data": {"referral_id": "r1"}}),
        attempts=1,
        generation=0,
        window_started_at=now,
        subscription_id=SUBSCRIPTION,
        recipient_id=None,
        template=None,
        concern_id=None,
        referral_id="r1",
        municipality_code="0316",
        subscription_url=url,
        subscription_state="active",
        secret_ciphertext=BOX.seal(new_signing_secret(), SUBSCRIPTION),
        client_id="cli_ssrf",
        failing_since=None,
    )


async def test_the_webhook_transport_follows_no_redirect_and_calls_no_address_refused_at_sending_time() -> None:
    inner = Counting(204)
    with serving(inner) as inner_url:
        redirector = Counting(307, location=f"{inner_url}/internal")
        with serving(redirector) as redirector_url:
            port = int(redirector_url.rsplit(":", 1)[1])
            # The name resolved publicly when subscribing; at sending time it answers loopback (DNS rebinding).
            rebound = StaticResolver({"hooks.kommune.example.dk": ["127.0.0.1"]})
            transport = WebhookTransport(max_connections=2)
            try:
                local = WebhookSender(transport, rebound, BOX, allow_private=True, timeout_s=5)
                production = WebhookSender(transport, rebound, BOX, allow_private=False, timeout_s=5)

                redirected = await local.send(claimed(f"{redirector_url}/webhooks"))
                assert (redirected.kind, redirected.reason, redirected.status) == (AttemptKind.RETRY, "http_3xx", 307)
                assert (redirector.requests, inner.requests) == (1, 0)  # the Location was not followed

                refused = await production.send(claimed(f"https://hooks.kommune.example.dk:{port}/webhooks"))
                assert (refused.kind, refused.reason) == (AttemptKind.RETRY, "target_refused")
                assert (redirector.requests, inner.requests) == (1, 0)  # nothing was sent to the loopback address
            finally:
                await transport.aclose()
