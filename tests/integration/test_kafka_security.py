"""The broker authenticates and authorises: SASL/SCRAM principals and ACLs against a real SASL broker.

The broker is started as `deploy.stack up --kafka-sasl` runs it (same templates, format step, principals and
ACLs from shared/kafka/security.py), in a home of its own. Before, any local process reached the broker
without credentials, wrote an admin client onto `api-clients` and read the raw `concern-inbound` payloads.
"""

import asyncio
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    TopicAuthorizationFailedError,
)

from deploy import broker as broker_files
from deploy import jars
from deploy.config import StackConfig
from deploy.java import find_java
from shared.auth.admin import publish_record
from shared.auth.tokens import new_token, token_hash
from shared.contracts.clients import ApiClientRecord
from shared.contracts.topics import (
    API_CLIENTS,
    CONCERN_EVENTS,
    CONCERN_INBOUND,
    NOTIFICATION_EVENTS,
    REFERENCE_DATA,
    REFERRAL_EVENTS,
    dlq,
)
from shared.kafka import security
from shared.kafka.admin import ensure_topics
from shared.kafka.config import client_config
from tests.support.sasl_broker import SaslBroker, sasl_broker
from tests.support.services import free_port

pytestmark = pytest.mark.integration

EVENT_AND_REGISTRY_TOPICS = (CONCERN_INBOUND, CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS, API_CLIENTS)
HOUSING = security.housing_principal(security.housing_systems()[0])


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    with sasl_broker(tmp_path_factory.mktemp("sasl-broker")) as running:
        yield running


@pytest.fixture(scope="module")
def prefix(broker: SaslBroker) -> str:
    """This module's topics, created (and their ACLs granted) as the admin principal, as `crp topics ensure` does."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    with broker.acting_as(security.ADMIN_PRINCIPAL):
        asyncio.run(ensure_topics(broker.bootstrap, partitions=1, prefix=prefix))
        asyncio.run(security.grant(broker.bootstrap, prefix))
    return prefix


async def _produce(broker: SaslBroker, principal: str, topic: str, password: str | None = None) -> None:
    producer = AIOKafkaProducer(**broker.credentials(principal, password), request_timeout_ms=5000)
    try:
        await producer.start()
        await producer.send_and_wait(topic, b"{}", key=b"k")
    finally:
        await producer.stop()


async def _metadata_error(broker: SaslBroker, principal: str, topic: str) -> int:
    """The error code the broker answers `principal`'s metadata request for `topic` with (0: none)."""
    admin = AIOKafkaAdminClient(**broker.credentials(principal))  # a consumer hides the refusal (never assigns)
    await admin.start()
    try:
        return next(t["error_code"] for t in await admin.describe_topics([topic]) if t["topic"] == topic)
    finally:
        await admin.close()


async def _consume(broker: SaslBroker, principal: str, topic: str, group: str) -> list:
    """Join `group` on `topic` from the beginning and return what one poll brings."""
    consumer = AIOKafkaConsumer(
        **broker.credentials(principal), group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.subscribe([topic])
        for _ in range(6):
            batches = await consumer.getmany(timeout_ms=500)
            if batches:
                return [r for records in batches.values() for r in records]
        return []
    finally:
        await consumer.stop()


async def test_a_client_without_credentials_or_with_a_wrong_password_is_refused(
    broker: SaslBroker, prefix: str
) -> None:
    anonymous = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, request_timeout_ms=5000)
    try:
        with pytest.raises(KafkaConnectionError):
            await anonymous.start()
    finally:
        await anonymous.stop()
    with pytest.raises(KafkaConnectionError):
        await _produce(broker, "routing", prefix + CONCERN_INBOUND, password="not-the-password")


async def test_only_the_admin_principal_and_intake_write_the_token_registry(broker: SaslBroker, prefix: str) -> None:
    """`crp clients create --role admin` as any other local process: no broker, no admin token. intake may: its
    admin-only /v1/clients routes publish there."""
    now = datetime.now(UTC)
    record = ApiClientRecord(
        client_id=f"cli_{uuid.uuid4().hex[:16]}", name="x", role="admin", token_sha256=token_hash(new_token()),
        created_at=now,
    )  # fmt: skip
    with pytest.raises(KafkaConnectionError):  # no credentials at all
        await publish_record(broker.bootstrap, record, topic_prefix=prefix)
    for principal in (*(s for s in security.SERVICE_PRINCIPALS if s != "intake"), HOUSING):
        with broker.acting_as(principal), pytest.raises(TopicAuthorizationFailedError):
            await publish_record(broker.bootstrap, record, topic_prefix=prefix)
    for principal in (security.ADMIN_PRINCIPAL, "intake"):
        with broker.acting_as(principal):
            await publish_record(broker.bootstrap, record, topic_prefix=prefix)


@pytest.mark.parametrize("service", security.SERVICE_PRINCIPALS)
async def test_a_service_writes_only_its_own_topics(broker: SaslBroker, prefix: str, service: str) -> None:
    own = security.SERVICE_TOPICS[service]["write"]
    for topic in (t for t in EVENT_AND_REGISTRY_TOPICS if t not in own):
        with pytest.raises(TopicAuthorizationFailedError):
            await _produce(broker, service, prefix + topic)
    await _produce(broker, service, prefix + own[0])  # and its own it does write


@pytest.mark.parametrize("service", security.SERVICE_PRINCIPALS)
async def test_a_service_reads_no_other_services_input_and_joins_no_other_group(
    broker: SaslBroker, prefix: str, service: str
) -> None:
    group = f"{prefix}{service}-service"
    await _produce(broker, HOUSING, prefix + CONCERN_INBOUND)
    if service == "intake":  # the raw payloads are intake's alone
        assert await _consume(broker, service, prefix + CONCERN_INBOUND, group)
    elif service == "stats":  # it sees the topic's offsets (its lag gauge), never a record
        with pytest.raises(TopicAuthorizationFailedError):
            await _consume(broker, service, prefix + CONCERN_INBOUND, group)
    else:  # the broker does not even describe the topic to it, and nothing arrives
        assert await _metadata_error(broker, service, prefix + CONCERN_INBOUND) == TopicAuthorizationFailedError.errno
        assert await _consume(broker, service, prefix + CONCERN_INBOUND, group) == []
    other = next(s for s in security.SERVICE_PRINCIPALS if s != service)
    readable = security.SERVICE_TOPICS[service]["read"][0]
    with pytest.raises(GroupAuthorizationFailedError):
        await _consume(broker, service, prefix + readable, f"{prefix}{other}-service")


async def test_a_housing_system_only_writes_concern_inbound(broker: SaslBroker, prefix: str) -> None:
    await _produce(broker, HOUSING, prefix + CONCERN_INBOUND)
    for topic in (CONCERN_EVENTS, REFERRAL_EVENTS, API_CLIENTS, REFERENCE_DATA, dlq(CONCERN_INBOUND)):
        with pytest.raises(TopicAuthorizationFailedError):
            await _produce(broker, HOUSING, prefix + topic)
    with pytest.raises((TopicAuthorizationFailedError, GroupAuthorizationFailedError)):
        await _consume(broker, HOUSING, prefix + CONCERN_INBOUND, f"{prefix}{HOUSING}")


def test_a_broker_formatted_without_sasl_gets_its_credentials_and_keeps_its_topics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`up --kafka-sasl` on a home whose broker ran in plaintext (every stack before): no new storage needed."""
    monkeypatch.setenv("KAFKA_HEAP_OPTS", "-Xmx256m -Xms256m")
    # The plaintext broker is reached without credentials, whatever stack's credentials this shell holds.
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    plain = StackConfig(home=tmp_path, kafka_port=free_port(), partitions=1)
    plain.logs.mkdir(parents=True)
    java, libs = find_java(), jars.fetch()
    broker_files.write_config(plain)
    broker_files.format_storage(plain, java, libs)
    process = subprocess.Popen(
        broker_files.command(plain, java, libs), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )  # noqa: S603
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                asyncio.run(ensure_topics(plain.bootstrap_servers, partitions=1, prefix="before."))
                break
            except Exception:  # noqa: BLE001 - still starting
                assert time.monotonic() < deadline, "the plaintext broker did not start"
                time.sleep(1)
    finally:
        process.terminate()
        process.wait(60)
    with sasl_broker(tmp_path) as running, running.acting_as(security.ADMIN_PRINCIPAL):
        assert "before.concern-inbound" in asyncio.run(_topics(running.bootstrap))
    assert (broker_files.data_dir(plain) / broker_files.SASL_MARKER).exists()


async def _topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(**client_config(bootstrap))
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()
