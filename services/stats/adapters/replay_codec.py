"""The rebuild's fast decoder: msgspec mirrors of the events stats applies, never looser than the contracts.

A replay reads every event ever published, so decoding dominates its cost; pydantic's models are the contract
but take about 2.7 times as long as these mirrors (6.5 against 2.4 µs an event). Each mirror here is at least
as strict as its pydantic model (same fields, `extra` forbidden, the same or tighter patterns, lengths, bounds
and vocabularies, the model validators repeated), so whatever it accepts the contracts accept with the same
values. Whatever it refuses goes to the contracts' own `decode`, which has the last word: a refusal there is
what live dead-letters. tests/unit/test_stats_replay_codec.py holds the mirrors to the models (fields,
examples and mutations).
"""

import re
from collections.abc import Callable
from datetime import datetime
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

import msgspec
from msgspec import Meta

from shared.contracts.envelope import ContractError, decode
from shared.contracts.vocabulary import (
    ActorRole,
    Category,
    ChildrenInHousehold,
    Consent,
    Disclosure,
    Hint,
    IntakeChannel,
    LegalBasis,
    NotificationChannel,
    Outcome,
    ReferralStatus,
    ReferralTarget,
    RejectReason,
    ReporterRole,
    Severity,
    Task,
)

# The patterns of the contracts' id and code types, checked per event in one regular expression over the
# pattern-bound fields joined by \x1f (`_patterns_check`): msgspec would search each field's pattern on its
# own, which took three quarters of the decoding time. No pattern admits \x1f, so a value holding one breaks
# the match. An absent optional field is an empty segment: every patterned type refuses "" before (min_length).
# [0-9], not \d: \d takes other scripts' digits.
_PATTERNS = {
    "entity_id": r"[A-Za-z0-9][A-Za-z0-9._:-]*",
    "subject_key": r"[A-Za-z0-9_-]+",
    "municipality_code": r"[0-9]{4}",
    "code": r"[a-z][a-z0-9_]*",
    "event_type": r"[a-z][a-z_]*(?:\.[a-z][a-z_]*)*\.v[1-9][0-9]*",
}
_SEPARATOR = "\x1f"


class _Pattern:
    """Marks a field whose value must match one of `_PATTERNS` (msgspec ignores this metadata)."""

    def __init__(self, kind: str):
        self.kind = kind


EntityId = Annotated[str, Meta(min_length=1, max_length=128), _Pattern("entity_id")]
SubjectKey = Annotated[str, Meta(min_length=8, max_length=128), _Pattern("subject_key")]
MunicipalityCode = Annotated[str, Meta(min_length=4, max_length=4), _Pattern("municipality_code")]
Code = Annotated[str, Meta(min_length=1, max_length=64), _Pattern("code")]
EventType = Annotated[str, Meta(min_length=1), _Pattern("event_type")]
# The contracts' `Line` (shared/contracts/text.py): no control character. \Z, not $: $ matches before a final \n.
LINE = r"\A[^\x00-\x1f\x7f]*\Z"
EventId = Annotated[str, Meta(min_length=1, max_length=128, pattern=LINE)]
Instant = Annotated[datetime, Meta(tz=True)]
Categories = Annotated[tuple[Category, ...], Meta(min_length=1)]


def _pattern_of(hint: Any) -> tuple[str, bool] | None:
    """The pattern kind of a field's type hint, and whether the field may be None."""
    optional = get_origin(hint) in (Union, UnionType) and type(None) in get_args(hint)
    if optional:
        hint = next(arg for arg in get_args(hint) if arg is not type(None))
    marks = [m for m in getattr(hint, "__metadata__", ()) if isinstance(m, _Pattern)]
    return (marks[0].kind, optional) if marks else None


class Data(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """Base of the data mirrors: every pattern-bound field is checked in one match (see `_PATTERNS`)."""

    _patterns_match: ClassVar[Callable[[Any], bool]] = staticmethod(lambda _: True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._patterns_match = _patterns_check(get_type_hints(cls, include_extras=True))

    def __post_init__(self) -> None:
        if not self._patterns_match():
            raise ValueError("an id or code does not match its pattern")


def _patterns_check(hints: dict[str, Any]) -> Callable[[Any], bool]:
    """A method telling whether the pattern-bound fields of a mirror with these `hints` all match.

    Made from source, the way dataclasses make __init__: the values are joined by one f-string of attribute
    look-ups (a generic getter and join took twice as long), None (absent) as "", which no patterned type lets
    through as a value (min_length)."""
    parts, values = [], []
    for name, hint in hints.items():
        found = _pattern_of(hint)
        if found is not None:
            kind, optional = found
            parts.append(f"(?:{_PATTERNS[kind]})?" if optional else f"(?:{_PATTERNS[kind]})")
            values.append(f"{{self.{name} or ''}}" if optional else f"{{self.{name}}}")
    if not parts:
        return lambda _: True
    namespace = {"match": re.compile(_SEPARATOR.join(parts)).fullmatch}
    # Field names are Python identifiers (they are attributes) and the separator is escaped by repr: no text
    # from outside the class definitions reaches the source.
    source = f"def patterns_match(self):\n    return match(f{_SEPARATOR.join(values)!r}) is not None\n"
    exec(source, namespace)  # noqa: S102
    return namespace["patterns_match"]


class Categorised(Data):
    """A mirror with categories, which are unique (as the contracts' `Categories` validator demands)."""

    categories: Categories

    def __post_init__(self) -> None:
        super().__post_init__()
        # By identity: enum members are singletons, and an Enum's own hash is a Python call per member.
        categories = self.categories
        if len(categories) > 1 and len(set(map(id, categories))) != len(categories):
            raise ValueError("items must be unique")


class ConcernReported(Categorised):
    concern_id: EntityId
    organisation_id: EntityId
    department_id: EntityId
    municipality_code: MunicipalityCode
    subject_key: SubjectKey
    severity: Severity
    consent: Consent
    observed_at: Instant
    reported_at: Instant
    reporter_role: ReporterRole
    channel: IntakeChannel
    has_reporter_contact: bool
    has_resident_details: bool
    legal_basis: LegalBasis | None = None
    source_system: EntityId | None = None
    subject_is_tenancy: bool | None = None
    hints: tuple[Hint, ...] | None = None
    children_in_household: ChildrenInHousehold | None = None
    danger_confirmed: bool | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        hints = self.hints
        if hints is not None and len(hints) > 1 and len(set(map(id, hints))) != len(hints):
            raise ValueError("items must be unique")


class ConcernErased(Data):
    concern_id: EntityId
    subject_key: SubjectKey
    erased_at: Instant


class ReferralCreated(Categorised):
    referral_id: EntityId
    concern_id: EntityId
    subject_key: SubjectKey
    target: ReferralTarget
    recipient_id: EntityId
    organisation_id: EntityId
    department_id: EntityId
    municipality_code: MunicipalityCode
    severity: Severity
    urgent: bool
    repeated: bool
    legal_basis: LegalBasis
    disclosure: Disclosure
    task: Task
    rules_version: Annotated[int, Meta(ge=1)]
    rule_id: Code
    ack_due_at: Instant
    created_at: Instant
    suggested_function: Code | None = None
    replaces_referral_id: EntityId | None = None
    underretning: bool | None = None
    receipt_due_at: Instant | None = None


_REJECTED, _COMPLETED = ReferralStatus.REJECTED, ReferralStatus.COMPLETED
_REJECT_REASONS = frozenset(RejectReason)


class ReferralStatusChanged(Data):
    referral_id: EntityId
    concern_id: EntityId
    target: ReferralTarget
    municipality_code: MunicipalityCode
    department_id: EntityId
    from_status: ReferralStatus
    to_status: ReferralStatus
    changed_by_role: ActorRole
    changed_at: Instant
    reason: Code | None = None
    outcome: Outcome | None = None
    rerouted_to_referral_id: EntityId | None = None
    merged_into_open: bool | None = None
    rerouted_to_target: ReferralTarget | None = None
    rerouted_to_recipient_id: EntityId | None = None
    rerouted_task: Task | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        # The model validator of the contract, word for word in effect.
        rejected = self.to_status is _REJECTED
        if rejected and self.reason is not None and self.reason not in _REJECT_REASONS:
            raise ValueError("reason must be a reject reason when to_status is rejected")
        if (self.to_status is _COMPLETED) != (self.outcome is not None):
            raise ValueError("outcome is required with to_status completed, and only then")


class ReferralSlaBreached(Data):
    referral_id: EntityId
    concern_id: EntityId
    target: ReferralTarget
    recipient_id: EntityId
    municipality_code: MunicipalityCode
    department_id: EntityId
    severity: Severity
    ack_due_at: Instant
    breached_at: Instant
    clock: Literal["acknowledgement", "underretning_receipt"] | None = None


class ReferralEscalated(Data):
    referral_id: EntityId
    concern_id: EntityId
    target: ReferralTarget
    recipient_id: EntityId
    municipality_code: MunicipalityCode
    department_id: EntityId
    severity: Severity
    ack_due_at: Instant
    escalation_contact_id: EntityId
    escalated_at: Instant


class ReferralSuggested(Data):
    suggestion_id: EntityId
    concern_id: EntityId
    hint: Hint
    target: ReferralTarget
    recipient_id: EntityId
    organisation_id: EntityId
    department_id: EntityId
    municipality_code: MunicipalityCode
    rule_id: Code
    suggested_at: Instant


class ReferralSuggestionDecided(Data):
    suggestion_id: EntityId
    concern_id: EntityId
    hint: Hint
    target: ReferralTarget
    recipient_id: EntityId
    department_id: EntityId
    municipality_code: MunicipalityCode
    decision: Literal["confirmed", "dismissed"]
    decided_by_role: ActorRole
    decided_at: Instant
    referral_id: EntityId | None = None


class NotificationDelivered(Data):
    delivery_id: EntityId
    channel: NotificationChannel
    event_id: EventId
    # Only the wire name: the contract also takes the Python name, which here falls back to the contract.
    notified_event_type: EventType = msgspec.field(name="event_type")
    attempts: Annotated[int, Meta(ge=1)]
    latency_ms: Annotated[int, Meta(ge=0)]
    delivered_at: Instant
    subscription_id: EntityId | None = None
    referral_id: EntityId | None = None
    municipality_code: MunicipalityCode | None = None


class NotificationFailed(Data):
    delivery_id: EntityId
    channel: NotificationChannel
    event_id: EventId
    notified_event_type: EventType = msgspec.field(name="event_type")
    attempts: Annotated[int, Meta(ge=1)]
    reason: Code
    final: bool
    failed_at: Instant
    subscription_id: EntityId | None = None
    referral_id: EntityId | None = None
    municipality_code: MunicipalityCode | None = None


MIRRORS: dict[str, type[Data]] = {
    "concern.reported.v1": ConcernReported,
    "concern.erased.v1": ConcernErased,
    "referral.created.v1": ReferralCreated,
    "referral.status_changed.v1": ReferralStatusChanged,
    "referral.sla_breached.v1": ReferralSlaBreached,
    "referral.escalated.v1": ReferralEscalated,
    "referral.suggested.v1": ReferralSuggested,
    "referral.suggestion_decided.v1": ReferralSuggestionDecided,
    "notification.delivered.v1": NotificationDelivered,
    "notification.failed.v1": NotificationFailed,
}
"""Event type -> its data mirror; the field names are checked against the contracts' models by a unit test."""


def _envelope(event_type: str, data: type[Data]) -> type[msgspec.Struct]:
    """The CloudEvents envelope around one event type: `type` is the tag (pinned, as the contract's validator)."""
    return msgspec.defstruct(
        "Envelope",
        [
            ("specversion", Literal["1.0"]),
            ("id", Annotated[str, Meta(min_length=1, max_length=128, pattern=LINE)]),
            ("source", Annotated[str, Meta(min_length=1, max_length=256, pattern=LINE)]),
            ("subject", Annotated[str, Meta(min_length=1, max_length=128, pattern=LINE)]),
            ("time", Instant),
            ("data", data),
            ("datacontenttype", Literal["application/json"], "application/json"),
            ("dataschema", Annotated[str, Meta(min_length=1, max_length=512, pattern=LINE)] | None, None),
        ],
        tag_field="type",
        tag=event_type,
        namespace={"type": event_type},
        forbid_unknown_fields=True,
        frozen=True,
    )


# Decoded as a union: only a union requires the tag (a lone tagged Struct would take an object without `type`).
_ANY = msgspec.json.Decoder(Union[tuple(_envelope(t, data) for t, data in MIRRORS.items())])  # noqa: UP007
_FINE_FRACTION = re.compile(rb"\.[0-9]{7}")
"""Seconds with more than six decimals: msgspec rounds them to the microsecond, pydantic cuts them off."""


def decode_fast(raw: bytes) -> Any:
    """The event through its mirror, or None where a mirror does not take it (the contracts then decide)."""
    if _FINE_FRACTION.search(raw) is None:
        try:
            return _ANY.decode(raw)  # picks the mirror by `type`
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
    return None


def decode_for_replay(raw: bytes | None) -> Any:
    """The event in `raw` (with `.id`, `.type`, `.data`), or None where the contracts refuse it."""
    raw = raw or b""
    event = decode_fast(raw)
    if event is not None:
        return event
    try:
        return decode(raw)
    except ContractError:
        return None
