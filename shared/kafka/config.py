"""Client settings that every producer and consumer of the platform shares."""

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.cluster import ClusterMetadata
from aiokafka.protocol.metadata import MetadataRequest


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


async def partitions_of(consumer: AIOKafkaConsumer, *topics: str) -> list[TopicPartition]:
    """The partitions of `topics`, topic by topic, from fresh cluster metadata (none for a topic that does not exist).

    One metadata request names just these topics and never creates one: metadata of the whole cluster cost tens
    of milliseconds per call on a broker with a few thousand topics (a stats rebuild asked three times)."""
    client = consumer._client  # noqa: SLF001 - the consumer's own connections; consumer.topics() drops partitions
    node = client.get_random_node()
    if node is None:  # no broker known yet: the client's own full fetch bootstraps it
        cluster = await client.fetch_all_metadata()
    else:
        response = await client.send(node, MetadataRequest(list(topics), allow_auto_topic_creation=False))
        cluster = ClusterMetadata()
        cluster.need_all_topic_metadata = True  # an unknown topic is simply left out, not logged as an error
        cluster.update_metadata(response)
    return [TopicPartition(topic, p) for topic in topics for p in sorted(cluster.partitions_for_topic(topic) or ())]
