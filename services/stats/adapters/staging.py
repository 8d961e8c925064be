"""The rebuild's ProjectionWriter: the handlers' effects as staging rows, copied to PostgreSQL in bulk."""

from collections.abc import Iterator
from itertools import count
from typing import Any

import asyncpg

from services.stats.domain.calendar import local_day
from services.stats.domain.facts import ConcernFact, StatusChange


class StagingWriter:
    """Collects one row per event effect, numbered in arrival order (ties resolve as they do live)."""

    def __init__(self, seq: Iterator[int] | None = None) -> None:
        self._seq = seq if seq is not None else count()
        self.rows: dict[str, list[tuple[Any, ...]]] = {
            "s_reported": [],
            "s_erased": [],
            "s_created": [],
            "s_status": [],
            "s_clock": [],
            "s_delivery": [],
        }
        self.event_ids: list[tuple[str]] = []

    def size(self) -> int:
        """Rows waiting to be copied."""
        return len(self.event_ids)

    def successor(self) -> "StagingWriter":
        """An empty writer that goes on numbering where this one stopped (for the next batch)."""
        return StagingWriter(self._seq)

    async def flush(self, conn: asyncpg.Connection, schema: str) -> None:
        """COPY the collected rows into the staging tables and start afresh."""
        for table, rows in [*self.rows.items(), ("s_events", self.event_ids)]:
            if rows:
                await conn.copy_records_to_table(table, records=rows, schema_name=schema)
                rows.clear()

    async def record_concern(self, fact: ConcernFact) -> None:
        """Stage a reported concern."""
        self.rows["s_reported"].append(
            (
                next(self._seq),
                fact.concern_id,
                fact.organisation_id,
                fact.department_id,
                fact.municipality_code,
                fact.subject_key,
                fact.severity,
                list(fact.categories),
                fact.reported_at,
                fact.day,
            )
        )

    async def erase_concern(self, concern_id: str, subject_key: str, erased_at: Any) -> None:
        """Stage an erasure."""
        self.rows["s_erased"].append((next(self._seq), concern_id, erased_at))

    async def record_referral(self, data: Any) -> None:
        """Stage a referral's creation."""
        self.rows["s_created"].append(
            (
                next(self._seq),
                data.referral_id,
                data.concern_id,
                str(data.target),
                data.recipient_id,
                data.department_id,
                data.municipality_code,
                [str(c) for c in data.categories],
                str(data.severity),
                data.urgent,
                data.created_at,
                local_day(data.created_at),
            )
        )

    async def record_status_change(self, change: StatusChange) -> None:
        """Stage a lifecycle move."""
        self.rows["s_status"].append(
            (
                next(self._seq),
                change.referral_id,
                change.concern_id,
                change.target,
                change.department_id,
                change.municipality_code,
                change.to_status,
                change.changed_at,
                change.acknowledges,
                change.completes,
                change.outcome if change.completes else None,
            )
        )

    async def count_clock_event(self, data: Any, column: str) -> None:
        """Stage an SLA breach or escalation."""
        self.rows["s_clock"].append(
            (
                next(self._seq),
                column,
                data.referral_id,
                data.concern_id,
                str(data.target),
                data.department_id,
                data.municipality_code,
            )
        )

    async def record_delivery(self, data: Any, *, delivered: bool) -> None:
        """Stage a delivery or a failed attempt."""
        at = data.delivered_at if delivered else data.failed_at
        self.rows["s_delivery"].append(
            (
                next(self._seq),
                data.delivery_id,
                str(data.channel),
                data.municipality_code,
                local_day(at),
                at if delivered else None,
                data.latency_ms if delivered else None,
                0 if delivered else 1,
                (not delivered) and data.final,
            )
        )
