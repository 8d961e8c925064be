"""The stats service's own metrics: business gauges refreshed from the projections, and consumer lag."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Gauge

from services.stats.domain.costs import UnitCosts
from shared.contracts.topics import CONCERN_EVENTS, CONCERN_INBOUND, NOTIFICATION_EVENTS, REFERRAL_EVENTS
from shared.kafka.config import client_config, partitions_of
from shared.logging import get_logger

log = get_logger(__name__)

# No municipality, department or category labels: /metrics is unauthenticated, and figures by municipality or
# department are the stats API's (scoped, small counts withheld).
CONCERNS = Gauge("stats_concerns", "Concerns reported, all time (by municipality: the stats API).")
REFERRALS = Gauge("stats_referrals", "Referrals by recipient type and current state.", ["target", "status"])
SLA_BREACHED = Gauge("stats_referrals_sla_breached", "Referrals that breached their acknowledgement SLA.", ["target"])
ESCALATIONS = Gauge("stats_referral_escalations", "Escalations of referrals, all time.", ["target"])
OUTCOMES = Gauge("stats_outcome_concerns", "Concerns with a completed referral, by outcome.", ["outcome"])
COSTS_AVOIDED = Gauge("stats_costs_avoided_estimate_dkk", "ESTIMATE of costs avoided (outcomes x unit costs), DKK.")
REPEAT_TENANCIES = Gauge("stats_repeat_tenancies", "Tenancies with 3+ concerns within 90 days, all time.")
DELIVERIES = Gauge(
    "stats_deliveries", "Notifications by channel and state (delivered, failed, retrying).", ["channel", "state"]
)
ACK_MEDIAN = Gauge(
    "stats_ack_median_hours", "Median hours to acknowledgement, last 90 days (by municipality: the stats API)."
)
CONSUMER_LAG = Gauge("kafka_consumer_group_lag", "Records not yet consumed by a consumer group.", ["group", "topic"])
REFRESHED = Gauge("stats_business_metrics_refreshed_timestamp_seconds", "When the business gauges were refreshed.")

CONSUMERS = {
    "intake-service": (CONCERN_INBOUND,),
    "intake-service-referrals": (REFERRAL_EVENTS,),
    "routing-service": (CONCERN_EVENTS,),
    "notify-service": (REFERRAL_EVENTS,),
    "stats-service": (CONCERN_EVENTS, REFERRAL_EVENTS, NOTIFICATION_EVENTS),
}
"""The platform's consumer groups and the topics they read, for the lag gauge (labels without the topic prefix)."""


async def refresh_business(pool: asyncpg.Pool, unit_costs: UnitCosts) -> None:
    """Set the business gauges from the projections (label sets that disappeared are dropped, not left stale)."""
    async with pool.acquire() as conn:
        concerns = await conn.fetchval("SELECT coalesce(sum(concerns), 0) FROM concern_counts")
        referrals = await conn.fetch("SELECT target, status, count(*) n FROM referrals GROUP BY 1, 2")
        clocks = await conn.fetch(
            "SELECT target, count(*) FILTER (WHERE sla_breaches > 0) b, sum(escalations) e FROM referrals GROUP BY 1"
        )
        outcomes = await conn.fetch(
            "SELECT outcome, count(DISTINCT concern_id) n FROM referrals WHERE outcome IS NOT NULL GROUP BY 1"
        )
        repeats = await conn.fetchval("SELECT count(DISTINCT subject_key) FROM concern_facts WHERE repeated")
        deliveries = await conn.fetch(
            "SELECT channel, count(*) FILTER (WHERE delivered_at IS NOT NULL) delivered, "
            "count(*) FILTER (WHERE delivered_at IS NULL AND final_failed) failed, "
            "count(*) FILTER (WHERE delivered_at IS NULL AND NOT final_failed) retrying FROM deliveries GROUP BY 1"
        )
        median = await conn.fetchval(
            "SELECT percentile_cont(0.5) WITHIN GROUP "
            "(ORDER BY extract(epoch FROM acknowledged_at - created_at) / 3600) FROM referrals "
            "WHERE created_at > now() - interval '90 days' AND acknowledged_at IS NOT NULL"
        )
    # No await from here on: a scrape never sees the gauges half cleared.
    for gauge in (REFERRALS, SLA_BREACHED, ESCALATIONS, OUTCOMES, DELIVERIES):
        gauge.clear()
    CONCERNS.set(concerns)
    for row in referrals:
        REFERRALS.labels(row["target"], row["status"]).set(row["n"])
    for row in clocks:
        SLA_BREACHED.labels(row["target"]).set(row["b"])
        ESCALATIONS.labels(row["target"]).set(row["e"])
    by_outcome = {row["outcome"]: row["n"] for row in outcomes}
    for outcome, n in by_outcome.items():
        OUTCOMES.labels(outcome).set(n)
    COSTS_AVOIDED.set(sum(by_outcome.get(o, 0) * cost for o, cost in unit_costs.by_outcome().items()))
    REPEAT_TENANCIES.set(repeats)
    for row in deliveries:
        for state in ("delivered", "failed", "retrying"):
            DELIVERIES.labels(row["channel"], state).set(row[state])
    ACK_MEDIAN.set(float("nan") if median is None else median)


class LagProbe:
    """Lag of every platform consumer group: end offsets minus committed offsets, per topic (one connection kept)."""

    def __init__(self, bootstrap_servers: str, prefix: str):
        self._bootstrap = bootstrap_servers
        self._prefix = prefix
        self._clients: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None

    async def refresh(self) -> None:
        """Set the lag gauge of each group and topic; after a failure the next round reconnects."""
        try:
            await self._refresh()
        except Exception:
            await self.close()
            raise

    async def _refresh(self) -> None:
        if self._clients is None:
            admin = AIOKafkaAdminClient(**client_config(self._bootstrap, client_id="stats-lag"))
            consumer = AIOKafkaConsumer(
                **client_config(self._bootstrap, client_id="stats-lag", enable_auto_commit=False)
            )
            self._clients = (admin, consumer)
            await admin.start()
            await consumer.start()
        admin, consumer = self._clients
        for group, topics in CONSUMERS.items():
            # Broker-side group ids carry the topic prefix (Settings.kafka_group).
            committed = await admin.list_consumer_group_offsets(self._prefix + group)
            for topic in topics:
                partitions = await partitions_of(admin, self._prefix + topic)
                ends = await consumer.end_offsets(partitions) if partitions else {}
                lag = sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())
                CONSUMER_LAG.labels(group, topic).set(max(lag, 0))

    async def close(self) -> None:
        """Close the connections (whatever state they are in)."""
        clients, self._clients = self._clients, None
        if clients is not None:
            admin, consumer = clients
            with contextlib.suppress(Exception):
                await consumer.stop()
            with contextlib.suppress(Exception):
                await admin.close()


@contextlib.asynccontextmanager
async def refreshing(pool: asyncpg.Pool, settings, unit_costs: UnitCosts) -> AsyncIterator[None]:  # noqa: ANN001
    """Refresh the gauges every `business_metrics_interval_s` while the service runs."""

    lag = LagProbe(settings.kafka_bootstrap_servers, settings.topic_prefix)

    async def loop() -> None:
        while True:
            try:
                await refresh_business(pool, unit_costs)
                await lag.refresh()
                REFRESHED.set_to_current_time()
            except Exception as error:  # the gauges are best effort; the next round tries again
                log.warning("business_metrics_failed", error=type(error).__name__)
            await asyncio.sleep(settings.business_metrics_interval_s)

    task = asyncio.create_task(loop(), name="stats-business-metrics")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await lag.close()
