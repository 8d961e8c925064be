"""A NUL in what routing and stats take in, against the real processes: routing's rules, notes and simulations are
a 422 naming the field, and an event whose envelope holds a NUL is dead-lettered by routing and by stats (neither
can store its id), while both go on with the next event."""

import asyncio
import json
import uuid

import httpx
import pytest
import yaml

from services.routing.settings import DEFAULT_RULES
from shared.auth.principal import Role
from shared.contracts.envelope import encode
from shared.contracts.topics import CONCERN_EVENTS, REFERRAL_EVENTS
from shared.kafka.dead_letter_tools import read_dead_letters
from tests.integration.test_control_characters import fields, send_raw
from tests.support.intake_harness import concern_body
from tests.support.polling import eventually
from tests.support.routing_events import concern_event, publish, read_committed
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e


def bearer(client) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": f"Bearer {client.token}"}


async def test_routing_and_stats_refuse_nul_at_their_edge_and_dead_letter_events_holding_one(
    fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str
) -> None:
    admin, ops = bearer(await issue_client(Role.ADMIN)), bearer(await issue_client(Role.OPS))
    async with fresh_database("routing") as routing_db, fresh_database("stats") as stats_db:
        processes = [
            ServiceProcess("routing", {**service_env, "DATABASE_URL": routing_db}),
            ServiceProcess("stats", {**service_env, "DATABASE_URL": stats_db, "BROKER_SESSION_TIMEOUT": "10"}),
        ]
        try:
            await asyncio.gather(*(asyncio.to_thread(p.start, ready_within=120) for p in processes))
            async with httpx.AsyncClient(base_url=processes[0].url, timeout=10) as http:

                async def clients_known() -> bool:
                    return (await http.get("/v1/rules", headers=ops)).status_code == 200

                await eventually(clients_known, what="the clients reaching routing")
                document = yaml.safe_load(DEFAULT_RULES.read_text())
                rule = document["rules"][0]
                for change, field in (
                    ({"name": "Regler\x00"}, "name"),
                    ({"description": "Beskrivelse\x00"}, "description"),
                    ({"rules": [rule | {"description": "x\x00"}, *document["rules"][1:]]}, "rules.0.description"),
                ):
                    answer = await http.put("/v1/rules", json=document | change, headers=admin)
                    assert fields(answer) == [field]
                assert (await http.get("/v1/rules", headers=admin)).json()["version"] == 1
                referral = str(uuid.uuid4())
                moved = await http.post(
                    f"/v1/referrals/{referral}/transitions",
                    json={"to": "received", "note": "Ringet\x00"},
                    headers=admin,
                )
                assert fields(moved) == ["note"]
                simulated = await http.post(
                    "/v1/rules/simulate", json={"concern": concern_body(description="Lugt\x00")}, headers=ops
                )
                assert fields(simulated) == ["concern.description"]

            # An event with a NUL in its id, then a good one: both consumers dead-letter the first, route the next.
            bad = json.loads(encode(concern_event()))
            bad["id"] = f"{uuid.uuid4()}\x00"
            key = f"nul-{uuid.uuid4().hex[:8]}".encode()
            topic = topic_prefix + CONCERN_EVENTS
            await send_raw(kafka_bootstrap, topic, key, json.dumps(bad).encode())
            good = concern_event(categories=("mental_health",), consent="given")
            await publish(kafka_bootstrap, topic, [good])

            async def both_dead_lettered() -> bool:
                letters = [letter for letter in await read_dead_letters(kafka_bootstrap, topic) if letter.key == key]
                return len({letter.headers.get("dlq-consumer") for letter in letters}) == 2  # routing's, stats'

            await eventually(both_dead_lettered, within=90, what="routing and stats dead-lettering the NUL event")
            letters = [letter for letter in await read_dead_letters(kafka_bootstrap, topic) if letter.key == key]
            assert {letter.reason for letter in letters} == {"invalid_envelope"}
            referrals = await read_committed(kafka_bootstrap, topic_prefix + REFERRAL_EVENTS, expected=1)
            assert {e.data.concern_id for e in referrals} == {good.data.concern_id}
            for process in processes:
                assert "unhandled_error" not in process.log_tail(2000), process.log_tail()
        finally:
            for process in processes:
                process.stop()
