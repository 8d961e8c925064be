"""Who may receive which referral events, for subscriptions and the feed alike."""

import pytest

from services.notify.domain.scope import (
    EventScope,
    SubscriberScope,
    allowed_event_types,
    feed_filter,
    matches,
)
from shared.auth.principal import Role

pytestmark = pytest.mark.unit

HOLBAEK = SubscriberScope(Role.MUNICIPALITY, municipality_code="0316")
CONSULTANT = SubscriberScope(Role.CONSULTANT, department_ids=frozenset({"holbaek-1", "hoeng-1"}))
ASSOCIATION = SubscriberScope(Role.ASSOCIATION, department_ids=frozenset({"holbaek-1"}))


def event(
    target: str = "municipality", code: str = "0316", department: str = "holbaek-1", kind: str = "referral.created.v1"
):
    return EventScope(kind, target, code, department)


def test_a_municipality_sees_only_its_own_municipalitys_referrals_to_municipalities() -> None:
    assert matches(HOLBAEK, event())
    assert not matches(HOLBAEK, event(code="0326", department="hoeng-1"))
    assert not matches(HOLBAEK, event(target="consultant"))
    assert not matches(HOLBAEK, event(target="association"))
    assert not matches(SubscriberScope(Role.MUNICIPALITY), event())  # no code, nothing


def test_consultants_and_associations_see_their_departments_referrals_to_them() -> None:
    assert matches(CONSULTANT, event(target="consultant", code="0326", department="hoeng-1"))
    assert not matches(CONSULTANT, event(target="consultant", department="holbaek-2"))
    assert not matches(CONSULTANT, event(target="municipality"))
    assert matches(ASSOCIATION, event(target="association"))
    assert not matches(ASSOCIATION, event(target="consultant"))


def test_roles_without_referrals_subscribe_to_nothing_and_see_nothing() -> None:
    assert allowed_event_types(Role.REPORTER) == frozenset()
    assert allowed_event_types(Role.OPS) == frozenset()
    assert "referral.escalated.v1" in allowed_event_types(Role.MUNICIPALITY)
    assert not matches(
        SubscriberScope(Role.REPORTER, department_ids=frozenset({"holbaek-1"})), event(target="consultant")
    )
    assert not matches(HOLBAEK, event(kind="concern.reported.v1"))


def test_the_feed_filter_says_the_same_as_matches() -> None:
    assert feed_filter(HOLBAEK).target == "municipality" and feed_filter(HOLBAEK).municipality_code == "0316"
    assert feed_filter(CONSULTANT).department_ids == {"holbaek-1", "hoeng-1"}
    assert feed_filter(SubscriberScope(Role.OPS)) == feed_filter(SubscriberScope(Role.ADMIN))
    assert feed_filter(SubscriberScope(Role.OPS)).target is None
