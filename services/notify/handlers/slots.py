"""Bookkeeping of the delivery workers: what each target is sending, what waits (leased) to be sent next."""

from collections import deque
from dataclasses import dataclass, field

from services.notify.adapters.deliveries import ClaimedDelivery


def is_email(target_key: str) -> bool:
    """E-mail targets send one at a time, so a person reads them in the order they happened."""
    return target_key.startswith("email:")


@dataclass
class Slots:
    """At most `workers` sending in all and `per_target` per target (1 per e-mail recipient).

    Each target also holds up to `depth` times as many claimed deliveries waiting, so a finished
    request is followed by the next one at once instead of after a round trip to the database;
    their leases are kept alive while they wait (DeliveryQueue.extend_leases).
    """

    workers: int
    per_target: int
    depth: int = 16
    sending: dict[str, str] = field(default_factory=dict)  # delivery id -> target
    ready: dict[str, deque[ClaimedDelivery]] = field(default_factory=dict)

    def limit(self, target_key: str) -> int:
        """How many a target may send at once."""
        return 1 if is_email(target_key) else self.per_target

    def held(self) -> dict[str, int]:
        """Per target: sending plus waiting (both leased by this process)."""
        counts: dict[str, int] = {}
        for target in self.sending.values():
            counts[target] = counts.get(target, 0) + 1
        for target, waiting in self.ready.items():
            counts[target] = counts.get(target, 0) + len(waiting)
        return counts

    def hold_limit(self, target_key: str) -> int:
        """How many a target may hold, sending and waiting."""
        return 2 if is_email(target_key) else self.per_target * self.depth

    def room(self) -> int:
        """How many more deliveries to claim now.

        Never less than `workers`: targets that hold their limit (a hanging endpoint) must not leave
        the others without a claim; the per-target hold limit already bounds what each may take.
        """
        return max(4 * self.workers - sum(self.held().values()), self.workers)

    def running_low(self, target_key: str) -> bool:
        """Whether a target's waiting line is short enough to claim more for it.

        A quarter of the hold limit still waiting: the claim's round trip to a busy database is then
        over before the line runs dry, so the target's slots never sit idle waiting for it.
        """
        return len(self.ready.get(target_key, ())) <= self.limit(target_key) * max(1, self.depth // 4)

    def add(self, claimed: list[ClaimedDelivery]) -> None:
        """Queue claimed deliveries behind those of their target already waiting."""
        for delivery in claimed:
            self.ready.setdefault(delivery.target_key, deque()).append(delivery)

    def startable(self) -> list[ClaimedDelivery]:
        """Take what may start now (oldest first per target) and count it as sending."""
        started = []
        per_target: dict[str, int] = {}
        for target in self.sending.values():
            per_target[target] = per_target.get(target, 0) + 1
        for target, waiting in list(self.ready.items()):
            while waiting and len(self.sending) < self.workers and per_target.get(target, 0) < self.limit(target):
                delivery = waiting.popleft()
                self.sending[delivery.id] = target
                per_target[target] = per_target.get(target, 0) + 1
                started.append(delivery)
            if not waiting:
                del self.ready[target]
        return started

    def done(self, delivery: ClaimedDelivery) -> bool:
        """The delivery's request is over; True when it held a slot."""
        return self.sending.pop(delivery.id, None) is not None
