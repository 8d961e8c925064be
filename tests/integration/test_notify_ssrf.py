"""SSRF: subscription URLs to loopback, private and link-local targets are refused outside local mode."""

import pytest

from services.notify.adapters.resolver import StaticResolver
from shared.auth.principal import Role
from tests.support.notify_helpers import bearer, notify_settings, running_notify, wait_ready

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
                "https://localhost/hook": "loopback",
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
                    "hooks.kommune.example.dk": ["93.184.216.34"],
                }
            )
            for host in (
                "intern.kommune.example.dk",
                "metadata.example.dk",
                "rebound.example.dk",
                "nowhere.example.dk",
            ):
                assert (await subscribe(f"https://{host}/hook")).status_code == 422, host
            assert (await subscribe("http://hooks.kommune.example.dk/hook")).status_code == 422  # https only
            assert (await subscribe("https://user:pw@hooks.kommune.example.dk/hook")).status_code == 422
            assert (await subscribe("https://hooks.kommune.example.dk/hook")).status_code == 201

        local = notify_settings(database_url, kafka_bootstrap, topic_prefix, local_dev=True)
        async with running_notify(local) as notify:
            await wait_ready(notify, municipality.token)
            headers = bearer(municipality.token)
            link_local = {"url": "https://169.254.169.254/latest", "event_types": TYPES}
            assert (await notify.post("/v1/subscriptions", json=link_local, headers=headers)).status_code == 422
            loopback = {"url": "http://127.0.0.1:9/webhooks", "event_types": TYPES}
            assert (await notify.post("/v1/subscriptions", json=loopback, headers=headers)).status_code == 201
