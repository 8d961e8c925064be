"""The owner's reference directory for tests: intake's file, as intake publishes it (never a second copy)."""

import functools

from aiokafka import AIOKafkaProducer

from services.intake.adapters.reference_data import read_reference_file
from services.intake.settings import SERVICE_DIR
from services.routing.adapters.directory import with_directory
from services.routing.adapters.rules_store import load_file
from services.routing.domain.document import RulesDocument
from services.routing.settings import DEFAULT_RULES
from shared.contracts.reference import ReferenceDirectory
from shared.kafka.config import producer_config
from shared.reference.follower import publish_directory
from shared.reference.holder import ReferenceHolder

REFERENCE_FILE = SERVICE_DIR / "reference" / "organisations.yaml"
MUNICIPALITIES_FILE = SERVICE_DIR / "reference" / "municipalities.csv"


@functools.cache
def owner_directory() -> ReferenceDirectory:
    """The directory of intake's reference file."""
    return read_reference_file(REFERENCE_FILE, MUNICIPALITIES_FILE)


def owner_holder() -> ReferenceHolder:
    """A holder with the owner's directory, as routing, notify and stats hold it once they have read the topic."""
    return ReferenceHolder(owner_directory())


@functools.cache
def default_rules() -> RulesDocument:
    """Routing's default rules with the owner's directory merged in: the document routing routes with."""
    return with_directory(load_file(DEFAULT_RULES), owner_directory())


async def publish_owner_directory(
    bootstrap: str, topic_prefix: str, directory: ReferenceDirectory | None = None
) -> None:
    """Put the owner's directory on the prefixed reference-data topic (what intake does at start)."""
    producer = AIOKafkaProducer(**producer_config(bootstrap, "tests"))
    await producer.start()
    try:
        await publish_directory(producer, directory or owner_directory(), topic_prefix=topic_prefix)
    finally:
        await producer.stop()
