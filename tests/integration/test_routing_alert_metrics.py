"""On the real PostgreSQL: the gauges and counters the on-call alerts read (deploy/prometheus/rules) follow the
referrals: an acute referral past its due time is counted as overdue until acknowledged, and each SLA breach is
counted for the referral's municipality."""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from services.routing.domain.clock import FakeClock
from services.routing.handlers import scheduler
from services.routing.handlers.concerns import apply_concern_events
from services.routing.handlers.transitions import Move, move_referral
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import ReferralStatus
from tests.integration.test_routing_store import routing_deps
from tests.support.routing_events import concern_event

pytestmark = pytest.mark.integration
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # Monday 09:00 in Copenhagen
HOLBAEK = Principal("holbaek-1", Role.MUNICIPALITY, municipality_code="0316")


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_overdue_acute_referral_is_counted_until_acknowledged_and_its_breach_names_the_municipality(
    fresh_database,
) -> None:
    clock = FakeClock(T0)
    async with fresh_database("routing") as url, routing_deps(url, clock) as deps:
        acute = concern_event(categories=("rent_arrears",), severity="acute", reported_at=T0)
        await apply_concern_events(deps, [acute])
        referral = await deps.pool.fetchrow(
            "SELECT referral_id, target, ack_due_at FROM referrals WHERE concern_id = $1 AND target = 'municipality'",
            acute.data.concern_id,
        )
        target = referral["target"]
        breaches_before = _sample("routing_sla_breaches_total", target=target, severity="acute", municipality="0316")
        await scheduler.tick(deps)
        assert _sample("routing_ack_overdue_referrals", target=target, severity="acute") == 0

        clock.advance(referral["ack_due_at"] - T0 + timedelta(minutes=1))
        await scheduler.tick(deps)
        assert _sample("routing_ack_overdue_referrals", target=target, severity="acute") >= 1
        assert (
            _sample("routing_sla_breaches_total", target=target, severity="acute", municipality="0316")
            == breaches_before + 1
        )

        await move_referral(deps, HOLBAEK, referral["referral_id"], Move(ReferralStatus.RECEIVED))
        await scheduler.tick(deps)
        assert _sample("routing_ack_overdue_referrals", target=target, severity="acute") == 0
