"""Live projection updates in PostgreSQL: one event, one transaction, the inbox record committed with it.

Every update is order-independent (LEAST/GREATEST, counters, tombstones), so the set-based rebuild in
`rebuild_sql.py` arrives at the same rows whatever the interleaving of the three topics.
"""

from datetime import datetime

import asyncpg

from services.stats.domain.calendar import local_day
from services.stats.domain.facts import REPEAT_THRESHOLD, REPEAT_WINDOW, ConcernFact, StatusChange

PROJECTION_LOCK = 774_001
"""Advisory lock: live updates hold it shared, the rebuild's swap exclusively."""

_REFRESH_REPEATS = """
UPDATE concern_facts c SET repeated = r.n >= $2
FROM (
    SELECT a.concern_id,
           (SELECT count(*) FROM concern_facts o
             WHERE o.subject_key = a.subject_key
               AND o.reported_at BETWEEN a.reported_at - make_interval(secs => $3) AND a.reported_at) AS n
      FROM concern_facts a WHERE a.subject_key = $1
) r
WHERE c.concern_id = r.concern_id AND c.repeated IS DISTINCT FROM (r.n >= $2)
"""


class PostgresProjectionWriter:
    """Writes one event's effect through a connection inside the caller's transaction."""

    def __init__(self, conn: asyncpg.Connection):
        self._conn = conn

    async def record_concern(self, fact: ConcernFact) -> None:
        """A new concern: its fact row, the daily rollups, and the tenancy's repeat flags."""
        erased = await self._conn.fetchval(
            """
            INSERT INTO concern_facts (concern_id, organisation_id, department_id, municipality_code, subject_key,
                                       severity, categories, reported_at, day, erased)
            SELECT $1, $2, $3, $4, CASE WHEN e.concern_id IS NULL THEN $5 END, $6, $7, $8, $9, e.concern_id IS NOT NULL
              FROM (SELECT 1) one LEFT JOIN erasures e ON e.concern_id = $1
            ON CONFLICT (concern_id) DO NOTHING
            RETURNING erased
            """,
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
        if erased is None:
            return  # the same concern under another event id: counted once
        place = (fact.day, fact.department_id, fact.municipality_code)
        # Rows are locked in one order (the table's, then categories sorted): workers side by side cannot deadlock.
        await self._conn.execute(
            """
            INSERT INTO concern_counts VALUES ($1, $2, $3, $4, 1)
            ON CONFLICT (day, department_id, municipality_code, severity)
            DO UPDATE SET concerns = concern_counts.concerns + 1
            """,
            *place,
            fact.severity,
        )
        await self._conn.execute(
            """
            INSERT INTO concern_category_counts
            SELECT $1, $2, $3, category, $5, 1 FROM unnest($4::text[]) category ORDER BY category
            ON CONFLICT (day, department_id, municipality_code, category, severity)
            DO UPDATE SET concerns = concern_category_counts.concerns + 1
            """,
            *place,
            list(fact.categories),
            fact.severity,
        )
        if not erased and fact.subject_key is not None:
            await self._refresh_repeats(fact.subject_key)

    async def erase_concern(self, concern_id: str, subject_key: str, erased_at: datetime) -> None:
        """Forget the concern's tenancy pseudonym; the anonymous counts stay."""
        await self._conn.execute(
            "INSERT INTO erasures VALUES ($1, $2) ON CONFLICT (concern_id) DO NOTHING", concern_id, erased_at
        )
        stored = await self._conn.fetchval(
            "SELECT subject_key FROM concern_facts WHERE concern_id = $1 FOR UPDATE", concern_id
        )
        await self._conn.execute(
            "UPDATE concern_facts SET subject_key = NULL, erased = true, repeated = false WHERE concern_id = $1",
            concern_id,
        )
        for key in {stored or subject_key, subject_key}:
            await self._refresh_repeats(key)

    async def _refresh_repeats(self, subject_key: str) -> None:
        # The window in elapsed seconds, not days: '90 days' in SQL would follow the session's time zone across
        # daylight saving, where the rebuild (in Python) counts 90 x 24 hours.
        await self._conn.execute(_REFRESH_REPEATS, subject_key, REPEAT_THRESHOLD, REPEAT_WINDOW.total_seconds())

    async def record_referral(self, data) -> None:  # noqa: ANN001 - ReferralCreated
        """A new referral; the first creation event wins, later status events only fold in."""
        await self._conn.execute(
            """
            INSERT INTO referrals (referral_id, concern_id, target, recipient_id, department_id, municipality_code,
                                   categories, severity, urgent, created_at, day)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (referral_id) DO UPDATE SET
                recipient_id = EXCLUDED.recipient_id, categories = EXCLUDED.categories, severity = EXCLUDED.severity,
                urgent = EXCLUDED.urgent, created_at = EXCLUDED.created_at, day = EXCLUDED.day
            WHERE referrals.created_at IS NULL
            """,
            data.referral_id,
            data.concern_id,
            data.target,
            data.recipient_id,
            data.department_id,
            data.municipality_code,
            [str(c) for c in data.categories],
            data.severity,
            data.urgent,
            data.created_at,
            local_day(data.created_at),
        )

    async def record_status_change(self, change: StatusChange) -> None:
        """Fold a lifecycle move in: latest state, first answer, first completion and its outcome."""
        await self._conn.execute(
            """
            INSERT INTO referrals (referral_id, concern_id, target, department_id, municipality_code,
                                   status, status_changed_at, acknowledged_at, completed_at, outcome)
            VALUES ($1, $2, $3, $4, $5, $6, $7,
                    CASE WHEN $8 THEN $7::timestamptz END, CASE WHEN $9 THEN $7::timestamptz END, $10)
            ON CONFLICT (referral_id) DO UPDATE SET
                status = CASE WHEN referrals.status_changed_at IS NULL
                                OR EXCLUDED.status_changed_at >= referrals.status_changed_at
                              THEN EXCLUDED.status ELSE referrals.status END,
                status_changed_at = GREATEST(referrals.status_changed_at, EXCLUDED.status_changed_at),
                acknowledged_at = LEAST(referrals.acknowledged_at, EXCLUDED.acknowledged_at),
                completed_at = LEAST(referrals.completed_at, EXCLUDED.completed_at),
                outcome = CASE WHEN EXCLUDED.completed_at IS NOT NULL AND (referrals.completed_at IS NULL
                                    OR EXCLUDED.completed_at < referrals.completed_at)
                               THEN EXCLUDED.outcome ELSE referrals.outcome END
            """,
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

    async def count_clock_event(self, data, column: str) -> None:  # noqa: ANN001 - breach or escalation
        """One more SLA breach or escalation of a referral."""
        if column not in ("sla_breaches", "escalations"):
            raise ValueError(column)
        await self._conn.execute(
            f"""
            INSERT INTO referrals (referral_id, concern_id, target, department_id, municipality_code, {column})
            VALUES ($1, $2, $3, $4, $5, 1)
            ON CONFLICT (referral_id) DO UPDATE SET {column} = referrals.{column} + 1
            """,  # noqa: S608 - column is one of two literals, checked above
            data.referral_id,
            data.concern_id,
            data.target,
            data.department_id,
            data.municipality_code,
        )

    async def record_delivery(self, data, *, delivered: bool) -> None:  # noqa: ANN001 - notification data
        """A delivery succeeded or an attempt failed (finally or not)."""
        at = data.delivered_at if delivered else data.failed_at
        await self._conn.execute(
            """
            INSERT INTO deliveries (delivery_id, channel, municipality_code, day, delivered_at, latency_ms,
                                    failed_attempts, final_failed)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (delivery_id) DO UPDATE SET
                municipality_code = COALESCE(deliveries.municipality_code, EXCLUDED.municipality_code),
                day = LEAST(deliveries.day, EXCLUDED.day),
                latency_ms = CASE WHEN EXCLUDED.delivered_at IS NOT NULL AND (deliveries.delivered_at IS NULL
                                       OR EXCLUDED.delivered_at < deliveries.delivered_at)
                                  THEN EXCLUDED.latency_ms ELSE deliveries.latency_ms END,
                delivered_at = LEAST(deliveries.delivered_at, EXCLUDED.delivered_at),
                failed_attempts = deliveries.failed_attempts + EXCLUDED.failed_attempts,
                final_failed = deliveries.final_failed OR EXCLUDED.final_failed
            """,
            data.delivery_id,
            data.channel,
            data.municipality_code,
            local_day(at),
            at if delivered else None,
            data.latency_ms if delivered else None,
            0 if delivered else 1,
            (not delivered) and data.final,
        )

    async def record_suggestion(self, data) -> None:  # noqa: ANN001 - ReferralSuggested
        """A recipient a hint suggested; its day is the suggestion's (a decision read first kept its own)."""
        await self._conn.execute(
            """
            INSERT INTO suggestions (suggestion_id, concern_id, hint, target, department_id, municipality_code, day,
                                     suggested_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT (suggestion_id) DO UPDATE SET suggested_at = EXCLUDED.suggested_at, day = EXCLUDED.day
            WHERE suggestions.suggested_at IS NULL
            """,
            data.suggestion_id,
            data.concern_id,
            data.hint,
            data.target,
            data.department_id,
            data.municipality_code,
            local_day(data.suggested_at),
            data.suggested_at,
        )

    async def record_suggestion_decision(self, data) -> None:  # noqa: ANN001 - ReferralSuggestionDecided
        """The consultant's decision on a suggestion; the first one counts (a suggestion is decided once)."""
        await self._conn.execute(
            """
            INSERT INTO suggestions (suggestion_id, concern_id, hint, target, department_id, municipality_code, day,
                                     decision, decided_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (suggestion_id) DO UPDATE SET decision = EXCLUDED.decision, decided_at = EXCLUDED.decided_at
            WHERE suggestions.decision IS NULL
            """,
            data.suggestion_id,
            data.concern_id,
            data.hint,
            data.target,
            data.department_id,
            data.municipality_code,
            local_day(data.decided_at),
            data.decision,
            data.decided_at,
        )
