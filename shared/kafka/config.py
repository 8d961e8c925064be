"""Client settings that every producer and consumer of the platform shares."""

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition


def producer_config(bootstrap_servers: str, client_id: str) -> dict[str, Any]:
    """Idempotent producer, acks from all in-sync replicas: no duplicates, no loss on broker failover."""
    return {
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
        "bootstrap_servers": bootstrap_servers,
        "group_id": group_id,
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": 200,
    }


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of `topic` from fresh cluster metadata (empty when the topic does not exist)."""
    # consumer.topics() fetches metadata but drops the partition map; the client keeps it.
    cluster = await consumer._client.fetch_all_metadata()  # noqa: SLF001
    return [TopicPartition(topic, p) for p in sorted(cluster.partitions_for_topic(topic) or ())]
