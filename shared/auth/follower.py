"""Keeps a ClientRegistry in step with the api-clients topic: a full read at start, then follows."""

import asyncio

from shared.auth.registry import ClientRegistry
from shared.contracts.clients import decode_api_client
from shared.contracts.errors import ContractError
from shared.contracts.topics import API_CLIENTS
from shared.kafka.follower import CompactedFollower
from shared.logging import get_logger

log = get_logger(__name__)


class ApiClientsFollower(CompactedFollower):
    """Reads api-clients from the beginning (no consumer group) and keeps applying new records."""

    def __init__(
        self, bootstrap_servers: str, registry: ClientRegistry, client_id: str = "api-clients", topic_prefix: str = ""
    ):
        super().__init__(
            bootstrap_servers, topic_prefix + API_CLIENTS, self._apply_record, client_id=client_id,
            on_caught_up=self._loaded,
        )  # fmt: skip
        self.registry = registry

    def _loaded(self) -> None:
        self.registry.loaded = True
        log.info("api_clients_loaded", clients=len(self.registry.records()))

    def _apply_record(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            record = decode_api_client(value) if value is not None else None
        except ContractError:
            log.error("api_client_record_invalid")
            return
        self.registry.apply(key.decode(), record)


async def load_registry(bootstrap_servers: str, timeout: float = 30.0, topic_prefix: str = "") -> ClientRegistry:
    """A one-shot, fully loaded registry (for the CLI)."""
    follower = ApiClientsFollower(bootstrap_servers, ClientRegistry(), client_id="crp-cli", topic_prefix=topic_prefix)
    follower.start()
    try:
        await asyncio.wait_for(follower.caught_up.wait(), timeout)
    finally:
        await follower.stop()
    return follower.registry
