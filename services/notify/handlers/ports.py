"""The ports notify's handlers reach the database through: the event unit of work with its repositories, and the
delivery workers' leases and outcome store.

Small Protocols, with the in-memory fakes beside them (as intake's and routing's): `apply_batch`'s unit tests run
against `InMemoryEventUnit`, production against `adapters/unit_of_work.py`'s `PostgresEventUnit`; the workers'
against `InMemoryLeases` and `InMemoryOutcomes`, production against `adapters/deliveries.py`'s `DeliveryQueue`
and `adapters/outcomes.py`'s `PostgresOutcomes`.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.delivery_log import CancelledDelivery
from services.notify.adapters.feed import FeedEntry
from services.notify.adapters.outcomes import Outcome
from services.notify.domain.fanout import REPORTER, SubscriptionView
from services.notify.domain.model import PlannedDelivery
from shared.db.unit_of_work import InMemoryUnit, Unit
from shared.outbox import OutboxRecord


class Subscriptions(Protocol):
    """The webhook subscriptions, as fan-out reads them."""

    async def active(self) -> list[SubscriptionView]:
        """Every active subscription (planners check event type and scope)."""


class ReporterConcerns(Protocol):
    """The concerns whose reporter left a contact: they get status updates until the concern is erased."""

    async def known(self, concern_ids: list[str]) -> set[str]:
        """Which of these concerns have a reporter to tell."""

    async def add(self, reported: dict[str, datetime]) -> None:
        """Remember these concerns (concern id -> reported at); a known one is left as it is."""

    async def forget(self, concern_id: str) -> None:
        """The concern was erased: nothing more goes to its reporter."""


class Deliveries(Protocol):
    """The delivery queue, as the consumer writes it."""

    async def add(self, planned: list[PlannedDelivery]) -> None:
        """Queue new deliveries; one that exists (a replayed event) is left as it is."""

    async def cancel_for_reporter(self, concern_id: str) -> list[CancelledDelivery]:
        """Cancel what is still to be sent to the concern's reporter; returns what was cancelled."""


class Feed(Protocol):
    """The referral event feed."""

    async def append(self, entries: list[FeedEntry]) -> None:
        """Add events at the end of the feed, in order (an event there already is left out); call last."""


class Outbox(Protocol):
    """Events to publish, committed with the change that made them."""

    async def add(self, topic: str, records: list[OutboxRecord]) -> None:
        """Queue the records for `topic`, in order."""


class EventUnitOfWork(Unit, Protocol):
    """One transaction of `apply_batch` (`Unit`): the inbox, what planners read, and every effect."""

    subscriptions: Subscriptions
    reporters: ReporterConcerns
    deliveries: Deliveries
    feed: Feed
    outbox: Outbox

    async def first_deliveries(self, event_ids: list[str]) -> set[str]:
        """Record the ids as applied by this service (the inbox); returns those not recorded before."""


class DeliveryLeases(Protocol):
    """The delivery queue as the workers use it: due deliveries claimed with a lease held by this process."""

    async def claim(
        self, *, limit: int, per_target: int, email_limit: int, busy: dict[str, int], lease_s: float
    ) -> list[ClaimedDelivery]:
        """Up to `limit` due deliveries, oldest first per target, at most `per_target` per target (e-mail:
        `email_limit`) counting the `busy` ones this process holds; leased for `lease_s`."""

    async def extend_leases(self, lease_s: float) -> None:
        """Keep this process's leases alive."""

    async def release(self) -> None:
        """Give back this process's leases (on shutdown)."""


class OutcomeStore(Protocol):
    """Where attempts' outcomes are recorded, with their events, a batch at a time."""

    async def write(self, outcomes: list[Outcome]) -> set[str]:
        """Store the outcomes (each with its event); the delivery ids applied (one missing: its lease was lost)."""

    async def close(self) -> None:
        """Give back what the store holds (its kept connection)."""


@dataclass
class _Tables:
    processed: set[str] = field(default_factory=set)
    subscriptions: dict[str, tuple[SubscriptionView, str]] = field(default_factory=dict)
    """id -> (subscription, state)"""
    reporters: dict[str, datetime] = field(default_factory=dict)
    deliveries: dict[str, tuple[PlannedDelivery, str]] = field(default_factory=dict)
    """id -> (delivery, state)"""
    feed: list[FeedEntry] = field(default_factory=list)
    outbox: list[tuple[str, OutboxRecord]] = field(default_factory=list)


class InMemorySubscriptions:
    """The in-memory fake of Subscriptions; `store` puts one in (as the subscription API would)."""

    def __init__(self, tables: _Tables):
        self._t = tables

    def store(self, subscription: SubscriptionView, state: str = "active") -> None:
        self._t.subscriptions[subscription.id] = (subscription, state)

    async def active(self) -> list[SubscriptionView]:
        return [s for s, state in self._t.subscriptions.values() if state == "active"]


class InMemoryReporters:
    """The in-memory fake of ReporterConcerns."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def known(self, concern_ids: list[str]) -> set[str]:
        return {c for c in concern_ids if c in self._t.reporters}

    async def add(self, reported: dict[str, datetime]) -> None:
        for concern_id, at in reported.items():
            self._t.reporters.setdefault(concern_id, at)

    async def forget(self, concern_id: str) -> None:
        self._t.reporters.pop(concern_id, None)


class InMemoryDeliveries:
    """The in-memory fake of Deliveries, with the same rules as the SQL."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def add(self, planned: list[PlannedDelivery]) -> None:
        for delivery in planned:
            self._t.deliveries.setdefault(delivery.id, (delivery, "pending"))

    async def cancel_for_reporter(self, concern_id: str) -> list[CancelledDelivery]:
        cancelled = []
        for delivery, state in list(self._t.deliveries.values()):
            if state == "pending" and delivery.concern_id == concern_id and delivery.recipient_id == REPORTER:
                self._t.deliveries[delivery.id] = (delivery, "cancelled")
                cancelled.append(
                    CancelledDelivery(delivery.id, delivery.channel.value, delivery.event_id, delivery.event_type,
                                      delivery.referral_id, 0)
                )  # fmt: skip
        return cancelled


class InMemoryFeed:
    """The in-memory fake of Feed: the entries in feed order."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def append(self, entries: list[FeedEntry]) -> None:
        there = {e.event_id for e in self._t.feed}
        for entry in entries:
            if entry.event_id not in there:
                there.add(entry.event_id)
                self._t.feed.append(entry)


class InMemoryOutbox:
    """The in-memory fake of Outbox: (topic, record) in the order they were queued."""

    def __init__(self, tables: _Tables):
        self._t = tables

    async def add(self, topic: str, records: list[OutboxRecord]) -> None:
        self._t.outbox.extend((topic, record) for record in records)


class InMemoryEventUnit(InMemoryUnit):
    """The in-memory fake of EventUnitOfWork: call it for a unit (as `EventDeps.uow`); an error inside rolls back."""

    def __init__(self) -> None:
        super().__init__(_Tables())
        self.subscriptions = InMemorySubscriptions(self.tables)
        self.reporters = InMemoryReporters(self.tables)
        self.deliveries = InMemoryDeliveries(self.tables)
        self.feed = InMemoryFeed(self.tables)
        self.outbox = InMemoryOutbox(self.tables)

    async def first_deliveries(self, event_ids: list[str]) -> set[str]:
        fresh = set(event_ids) - self.tables.processed
        self.tables.processed |= fresh
        return fresh

    def delivery_states(self) -> dict[str, str]:
        """Each queued delivery's state (pending or cancelled)."""
        return {id_: state for id_, (_, state) in self.tables.deliveries.items()}


class InMemoryLeases:
    """The in-memory fake of DeliveryLeases: `due` hands out in order, at most `limit` a claim; records calls."""

    def __init__(self, due: list[ClaimedDelivery]):
        self.due = list(due)
        self.claims: list[dict[str, object]] = []
        self.extended = 0
        self.released = False

    async def claim(
        self, *, limit: int, per_target: int, email_limit: int, busy: dict[str, int], lease_s: float
    ) -> list[ClaimedDelivery]:
        self.claims.append({"limit": limit, "busy": dict(busy)})
        taken, self.due = self.due[:limit], self.due[limit:]
        return taken

    async def extend_leases(self, lease_s: float) -> None:
        self.extended += 1

    async def release(self) -> None:
        self.released = True


class InMemoryOutcomes:
    """The in-memory fake of OutcomeStore: the batches written; `lost` names deliveries whose lease is gone, and
    `failing` is raised by the next write (a database away)."""

    def __init__(self) -> None:
        self.batches: list[list[Outcome]] = []
        self.lost: set[str] = set()
        self.failing: Exception | None = None
        self.closed = False

    @property
    def recorded(self) -> list[Outcome]:
        return [outcome for batch in self.batches for outcome in batch if outcome.delivery.id not in self.lost]

    async def write(self, outcomes: list[Outcome]) -> set[str]:
        if self.failing is not None:
            error, self.failing = self.failing, None
            raise error
        self.batches.append(list(outcomes))
        return {o.delivery.id for o in outcomes} - self.lost

    async def close(self) -> None:
        self.closed = True
