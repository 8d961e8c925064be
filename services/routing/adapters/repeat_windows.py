"""The repeat-windows table: the fast path of the repeat rule, a Faust table keyed by subject key.

The table is co-partitioned with concern-events (both keyed by subject key), so a worker holds the windows of
exactly the subjects whose events it consumes. PostgreSQL (`subject_concerns`) stays the durable truth: a
subject missing from the table (or whose window does not reach back far enough) is read from it, in the
transaction that routes the concern. The table is written only after that transaction commits, and is
emptied at every rebalance: windows written by a worker are only trusted while it owns the subject's partition.
It has no changelog on purpose (see the routing README, "Repeats").
"""

from collections.abc import Iterable, MutableMapping
from datetime import datetime
from typing import Protocol

from services.routing import metrics
from services.routing.domain.repeats import Window


class TableLike(Protocol):
    """What the cache needs of a Faust table: its store (`table.data`, a mutable mapping)."""

    @property
    def data(self) -> MutableMapping: ...


class RepeatWindows:
    """Windows by subject key, valid for one partition assignment (generation)."""

    def __init__(self, table: TableLike, *, max_subjects: int = 200_000):
        self._table = table
        self._max = max_subjects
        self.generation = 0

    def covering(self, keys: Iterable[str], since: dict[str, datetime]) -> dict[str, Window]:
        """Copies of the windows that cover each key's `since`; keys not returned must be read from PostgreSQL."""
        store = self._table.data
        found: dict[str, Window] = {}
        for key in keys:
            window = store.get(key)
            if window is not None and window.covers(since[key]):
                found[key] = Window(window.complete_after, dict(window.concerns))
        metrics.REPEAT_WINDOW_LOOKUPS.labels("hit").inc(len(found))
        metrics.REPEAT_WINDOW_LOOKUPS.labels("miss").inc(len(since) - len(found))
        return found

    def keep(self, generation: int, windows: dict[str, Window], dropped: Iterable[str] = ()) -> bool:
        """After a commit: store the batch's windows (pruned) and drop `dropped`; not if a rebalance came between."""
        if generation != self.generation:
            return False
        store = self._table.data
        for key in dropped:
            store.pop(key, None)
        for key, window in windows.items():
            store.pop(key, None)  # re-inserted last: the least recently used subjects are evicted first
            store[key] = window.pruned()
        while len(store) > self._max:
            store.pop(next(iter(store)), None)
        metrics.REPEAT_WINDOW_SUBJECTS.set(len(store))
        return True

    def forget_all(self) -> None:
        """A rebalance: other workers may have routed these subjects meanwhile; start afresh."""
        self.generation += 1
        self._table.data.clear()
        metrics.REPEAT_WINDOW_SUBJECTS.set(0)
