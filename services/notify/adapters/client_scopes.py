"""A subscriber's scope, read live from the API-client registry (a revoked client's subscriptions stop)."""

from services.notify.domain.scope import SubscriberScope
from shared.auth.principal import Role
from shared.auth.registry import ClientRegistry


class ClientsNotLoaded(Exception):
    """The registry is still loading: the event is retried (nothing is decided on a partial registry)."""


class ClientScopes:
    """client id -> SubscriberScope, or None for an unknown, revoked or expired client."""

    def __init__(self, registry: ClientRegistry):
        self._registry = registry

    def __call__(self, client_id: str) -> SubscriberScope | None:
        if not self._registry.loaded:
            raise ClientsNotLoaded("API clients are still loading")
        record = self._registry.get(client_id)
        if record is None or not record.is_active():
            return None
        return SubscriberScope(Role(record.role), record.municipality_code, frozenset(record.department_ids))
