"""Who may receive which referral events: the subscriber's scope against the event's (a pure `matches()`)."""

from dataclasses import dataclass

from shared.contracts.vocabulary import ClientRole, ReferralTarget

REFERRAL_EVENT_TYPES = frozenset(
    {"referral.created.v1", "referral.status_changed.v1", "referral.sla_breached.v1", "referral.escalated.v1"}
)
"""The event types a subscription or the feed carries (DESIGN.md: referral-events is read by notify)."""

# A subscriber sees the referrals addressed to its own kind of recipient, within its own scope:
# a municipality never sees a referral meant for the consultant or an association, and vice versa.
_TARGET_OF_ROLE = {
    ClientRole.MUNICIPALITY: ReferralTarget.MUNICIPALITY,
    ClientRole.CONSULTANT: ReferralTarget.CONSULTANT,
    ClientRole.ASSOCIATION: ReferralTarget.ASSOCIATION,
}
SUBSCRIBER_ROLES = frozenset(_TARGET_OF_ROLE)
"""Roles that may subscribe: those that receive referrals."""
FEED_ROLES = SUBSCRIBER_ROLES | {ClientRole.OPS, ClientRole.ADMIN}
"""Roles that may read the feed; ops and admin read all of it, for support."""


@dataclass(frozen=True)
class SubscriberScope:
    """The scope of a subscriber's API client: its role and a municipality code or departments."""

    role: ClientRole
    municipality_code: str | None = None
    department_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EventScope:
    """What decides who may see a referral event: its type, target kind, municipality and department."""

    event_type: str
    target: str
    municipality_code: str
    department_id: str


def allowed_event_types(role: ClientRole) -> frozenset[str]:
    """The event types a client of this role may subscribe to (none for roles that receive no referrals)."""
    return REFERRAL_EVENT_TYPES if role in SUBSCRIBER_ROLES else frozenset()


def matches(scope: SubscriberScope, event: EventScope) -> bool:
    """True when a subscriber with `scope` may receive `event`."""
    if event.event_type not in REFERRAL_EVENT_TYPES:
        return False
    if scope.role in (ClientRole.OPS, ClientRole.ADMIN):
        return True
    target = _TARGET_OF_ROLE.get(scope.role)
    if target is None or event.target != target:
        return False
    if scope.role is ClientRole.MUNICIPALITY:
        return scope.municipality_code is not None and event.municipality_code == scope.municipality_code
    return event.department_id in scope.department_ids


@dataclass(frozen=True)
class FeedFilter:
    """The same rule as `matches`, as column values a database can filter on (None: any)."""

    target: str | None
    municipality_code: str | None
    department_ids: frozenset[str] | None


def feed_filter(scope: SubscriberScope) -> FeedFilter:
    """What a subscriber's feed is restricted to."""
    if scope.role in (ClientRole.OPS, ClientRole.ADMIN):
        return FeedFilter(None, None, None)
    target = _TARGET_OF_ROLE[scope.role]
    if scope.role is ClientRole.MUNICIPALITY:
        return FeedFilter(target, scope.municipality_code or "", None)
    return FeedFilter(target, None, scope.department_ids)
