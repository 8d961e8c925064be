"""Client settings that every producer and consumer of the platform shares."""

import os
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

SASL_MECHANISM = "SCRAM-SHA-512"
SECURE_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")


def security_config(env: dict[str, str] | None = None) -> dict[str, Any]:
    """How this process authenticates to the broker, from its environment (every Kafka client of the platform).

    `KAFKA_SECURITY_PROTOCOL` (PLAINTEXT, the default, or SASL_PLAINTEXT / SASL_SSL), `KAFKA_SASL_MECHANISM`
    (SCRAM-SHA-512), and the principal's `KAFKA_USERNAME` / `KAFKA_PASSWORD`. A SASL protocol without a
    username or password is a configuration error, not a silent fall back to no authentication.
    """
    env = os.environ if env is None else env
    protocol = env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").strip().upper() or "PLAINTEXT"
    if protocol == "PLAINTEXT":
        return {}
    if protocol not in SECURE_PROTOCOLS:
        raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol}: use PLAINTEXT, SASL_PLAINTEXT or SASL_SSL")
    username, password = env.get("KAFKA_USERNAME", ""), env.get("KAFKA_PASSWORD", "")
    if not username or not password:
        raise ValueError(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_USERNAME and KAFKA_PASSWORD")
    config: dict[str, Any] = {
        "security_protocol": protocol,
        "sasl_mechanism": env.get("KAFKA_SASL_MECHANISM", SASL_MECHANISM),
        "sasl_plain_username": username,
        "sasl_plain_password": password,
    }
    if protocol == "SASL_SSL":
        from aiokafka.helpers import create_ssl_context

        config["ssl_context"] = create_ssl_context(cafile=env.get("KAFKA_SSL_CAFILE") or None)
    return config


def faust_credentials(env: dict[str, str] | None = None) -> Any:
    """The same principal as Faust's `broker_credentials` (None without SASL)."""
    config = security_config(env)
    if not config:
        return None
    import faust

    return faust.SASLCredentials(
        username=config["sasl_plain_username"],
        password=config["sasl_plain_password"],
        mechanism=config["sasl_mechanism"],
        ssl_context=config.get("ssl_context"),
    )


def client_config(bootstrap_servers: str, **options: Any) -> dict[str, Any]:
    """Any aiokafka client's arguments: the address, this process's credentials, then `options`."""
    return {"bootstrap_servers": bootstrap_servers, **security_config(), **options}


def producer_config(bootstrap_servers: str, client_id: str) -> dict[str, Any]:
    """Idempotent producer, acks from all in-sync replicas: no duplicates, no loss on broker failover."""
    return {
        **security_config(),
        "bootstrap_servers": bootstrap_servers,
        "client_id": client_id,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 30_000,
    }


def consumer_config(bootstrap_servers: str, group_id: str, client_id: str) -> dict[str, Any]:
    """Manual commits after the effect is durable; start from the beginning for a new group."""
    return {
        **security_config(),
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": 200,
    }


async def partitions_of(where: AIOKafkaAdminClient | str, *topics: str) -> list[TopicPartition]:
    """The partitions of `topics`, topic by topic, from fresh cluster metadata (none for a topic that does not exist).

    `where` is a started admin client (a process that asks again and again keeps one) or the bootstrap servers (a
    short-lived admin client with this process's credentials: one connection, a few tens of ms with SASL). One
    metadata request names just these topics, through the admin client's public `describe_topics`: metadata of the
    whole cluster cost tens of milliseconds per call on a broker with a few thousand topics. Asking never creates
    a topic: every broker of the platform runs with `auto.create.topics.enable=false` (deploy/kafka/, compose), and
    no service principal may create a platform topic (shared/kafka/security.py)."""
    if not topics:
        return []
    if isinstance(where, str):
        admin = AIOKafkaAdminClient(**client_config(where, client_id="crp-metadata"))
        await admin.start()
        try:
            return await partitions_of(admin, *topics)
        finally:
            await admin.close()
    described = {t["topic"]: t for t in await where.describe_topics(list(dict.fromkeys(topics)))}
    found = {name: t for name, t in described.items() if t["error_code"] == 0}  # unknown or refused: left out
    return [
        TopicPartition(topic, p)
        for topic in topics
        for p in sorted(partition["partition"] for partition in found.get(topic, {}).get("partitions", ()))
    ]
