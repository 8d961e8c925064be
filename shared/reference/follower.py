"""Keeps a ReferenceHolder in step with the reference-data topic, and publishes a snapshot to it (intake)."""

from aiokafka import AIOKafkaProducer

from shared.contracts.errors import ContractError
from shared.contracts.reference import DIRECTORY_KEY, ReferenceDirectory, decode_directory, encode_directory
from shared.contracts.topics import REFERENCE_DATA
from shared.kafka.follower import CompactedFollower
from shared.logging import get_logger
from shared.reference.holder import ReferenceHolder

log = get_logger(__name__)


class ReferenceFollower(CompactedFollower):
    """Reads reference-data from the beginning (no consumer group); the holder gets each valid snapshot."""

    def __init__(self, bootstrap_servers: str, holder: ReferenceHolder, *, client_id: str, topic_prefix: str = ""):
        super().__init__(bootstrap_servers, topic_prefix + REFERENCE_DATA, self._apply_record, client_id=client_id)
        self.holder = holder

    def _apply_record(self, key: bytes | None, value: bytes | None) -> None:
        if key != DIRECTORY_KEY.encode() or value is None:
            return
        try:
            directory = decode_directory(value)
        except ContractError as error:  # keep the snapshot held; the owner's next one replaces the bad one
            log.error("reference_directory_invalid", fields=",".join(error.fields)[:300])
            return
        self.holder.apply(directory)


async def publish_directory(
    producer: AIOKafkaProducer, directory: ReferenceDirectory, *, topic_prefix: str = ""
) -> None:
    """Write the snapshot under the key `directory` and wait for the broker's acknowledgement."""
    await producer.send_and_wait(topic_prefix + REFERENCE_DATA, encode_directory(directory), key=DIRECTORY_KEY.encode())
