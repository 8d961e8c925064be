"""Each service as its own process on isolated topics and its own database: edge endpoints, auth, dead letters."""

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.auth.principal import Role
from shared.contracts.topics import CONCERN_EVENTS, CONCERN_INBOUND, REFERRAL_EVENTS
from shared.kafka.config import client_config
from shared.kafka.dead_letter_tools import read_dead_letters
from tests.support.polling import eventually
from tests.support.services import ServiceProcess

pytestmark = pytest.mark.e2e

# The topic each service consumes, to feed it one bad message.
CONSUMED = {"intake": CONCERN_INBOUND, "routing": CONCERN_EVENTS, "notify": REFERRAL_EVENTS, "stats": CONCERN_EVENTS}


@pytest.mark.parametrize("service", ["intake", "routing", "notify", "stats"])
async def test_service_process_serves_its_edge_and_dead_letters_garbage(
    service: str, fresh_database, service_env, issue_client, topic_prefix: str, kafka_bootstrap: str
) -> None:
    ops = await issue_client(Role.OPS)
    async with fresh_database(service) as database_url:
        process = ServiceProcess(service, {**service_env, "DATABASE_URL": database_url})
        await asyncio.to_thread(process.start)
        try:
            async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
                assert (await http.get("/healthz")).json() == {"status": "ok"}
                ready = (await http.get("/readyz")).json()
                followers = {} if service == "intake" else {"reference_data": "ok"}  # intake owns the directory
                assert ready["checks"] == {"database": "ok", "kafka": "ok", "api_clients": "ok", **followers}
                assert (await http.get("/docs")).status_code == 200
                assert "/readyz" in (await http.get("/openapi.json")).json()["paths"]
                assert (await http.get("/v1/whoami")).status_code == 401

                async def known() -> bool:
                    response = await http.get("/v1/whoami", headers={"Authorization": f"Bearer {ops.token}"})
                    return response.status_code == 200 and response.json()["role"] == "ops"

                await eventually(known, what="the ops client reaching the service")

                topic = topic_prefix + CONSUMED[service]
                producer = AIOKafkaProducer(**client_config(kafka_bootstrap))
                await producer.start()
                await producer.send_and_wait(topic, b"{not json", key=b"k")
                await producer.stop()

                async def dead_lettered() -> bool:
                    letters = await read_dead_letters(kafka_bootstrap, topic)
                    return any(d.headers.get("dlq-consumer") == f"{service}-service" for d in letters)

                await eventually(dead_lettered, within=60, what=f"{service} dead-lettering the garbage")

                async def counted() -> bool:  # counted once the broker has acknowledged the dead letter
                    metrics = (await http.get("/metrics")).text
                    return 'dead_letters_total{consumer="' + service + '-service"' in metrics

                await eventually(counted, within=10, what=f"{service} counting its dead letter")
                metrics = (await http.get("/metrics")).text
                assert "http_requests_total" in metrics and 'route="/v1/whoami"' in metrics
        finally:
            process.stop()
