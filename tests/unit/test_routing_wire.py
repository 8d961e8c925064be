"""wire.created_record writes referral.created.v1 byte for byte as the contract's models do, for every rule."""

import itertools
from datetime import UTC, datetime

import pytest

from services.routing.adapters.wire import created_record
from services.routing.domain.facts import ConcernFacts
from services.routing.domain.referral import Referral, from_plan
from services.routing.domain.routing import Unroutable, decide
from services.routing.handlers.concerns import created_envelope
from shared.contracts.envelope import decode, encode
from shared.contracts.referrals import ReferralCreated
from shared.contracts.vocabulary import Category, ChildrenInHousehold, Consent, Hint, LegalBasis, Severity
from tests.support.reference import default_rules, owner_holder

pytestmark = pytest.mark.unit
RULES = default_rules()
SOURCE = "/services/routing"
PLACES = {"holbaek-1": "0316", "kalundborg-1": "0326", "hoeng-1": "0326"}


def _facts(n: int, categories, severity, consent, basis, department, repeated) -> ConcernFacts:
    return ConcernFacts(
        concern_id=f"c-{n}",
        organisation_id="org-demo",
        department_id=department,
        municipality_code=PLACES.get(department, "0316"),
        subject_key=f"sk_test{n:08d}",
        categories=frozenset(categories),
        severity=severity,
        consent=consent,
        legal_basis=basis,
        reported_at=datetime(2026, 3, 4, 9, tzinfo=UTC),
        repeated=repeated,
        # Every hint now and then (triage's codes), and each answer about children in the household; the same for
        # concerns 2k and 2k + 1 (the remembered decisions take those as the same facts).
        hints=frozenset({HINTS[n // 2 % len(HINTS)]}) if n // 2 % 3 == 0 else frozenset(),
        children_in_household=CHILDREN[n // 2 % len(CHILDREN)],
        danger_confirmed=n // 2 % 2 == 0,
    )


HINTS = list(Hint)
CHILDREN = [*ChildrenInHousehold, None]


def _referrals() -> list[Referral]:
    """Every category alone and in pairs, at each severity, consent and basis, in each department, repeated or not."""
    made: list[Referral] = []
    singles = [(c,) for c in Category]
    pairs = list(itertools.combinations(Category, 2))
    bases = (None, LegalBasis.VITAL_INTEREST, LegalBasis.STATUTORY_DUTY)
    for n, (categories, severity, consent, basis, department, repeated) in enumerate(
        itertools.product(singles + pairs, Severity, Consent, bases, PLACES, (False, True))
    ):
        if n % 5:  # a fifth of the product still covers every rule, in a second or two
            continue
        facts = _facts(n, categories, severity, consent, basis, department, repeated)
        try:
            plans = decide(facts, RULES)
        except Unroutable:
            continue
        now = datetime(2026, 11, 20, 16, 59, 59, n % 1_000_000, tzinfo=UTC)  # microseconds, and a Friday evening
        replaces = f"ref-old-{n}" if n % 2 else None
        made += [from_plan(p, facts, rules_version=3, now=now, replaces=replaces) for p in plans]
    return made


REFERRALS = _referrals()


def test_the_referrals_cover_every_rule_target_and_optional_field() -> None:
    # Every rule but those whose referral another rule for the same recipient always makes (merged plans).
    assert len({r.rule_id for r in REFERRALS}) >= len(RULES.rules) - 2
    assert {r.target for r in REFERRALS} == {"municipality", "consultant", "association"}
    assert {r.suggested_function is None for r in REFERRALS} == {True, False}
    assert {r.replaces_referral_id is None for r in REFERRALS} == {True, False}
    assert {r.repeated for r in REFERRALS} == {True, False}
    assert {r.underretning for r in REFERRALS} == {True, False}
    assert {r.receipt_due_at is None for r in REFERRALS} == {True, False}


def test_the_bytes_are_the_contract_s_own_encoding() -> None:
    for referral in REFERRALS:
        envelope = created_envelope(referral, SOURCE)
        record = created_record(referral, SOURCE)
        assert record.payload == encode(envelope), referral.rule_id
        assert (record.key, record.event_id, record.event_type) == (envelope.subject, envelope.id, envelope.type)


def test_the_bytes_decode_under_the_contract_to_the_referral() -> None:
    referral = REFERRALS[len(REFERRALS) // 2]
    event = decode(created_record(referral, SOURCE).payload)
    assert isinstance(event.data, ReferralCreated)
    assert event.data.referral_id == referral.referral_id and event.data.categories == referral.categories
    assert event.data.ack_due_at == referral.ack_due_at and event.time == referral.created_at


@pytest.mark.parametrize("name", ["", "c-1|municipality|municipality-0316", "æøå|ÆØÅ|🏠", "x" * 500, "a|b|replaces:c"])
def test_the_fast_uuid5_is_python_s_uuid5(name: str) -> None:
    import uuid

    from services.routing.domain import ids

    assert ids.uuid5_text(name) == str(uuid.uuid5(ids.NAMESPACE, name))


def test_referral_and_event_ids_are_unchanged_by_the_fast_uuid5() -> None:
    # Ids already stored and published must come out the same (pinned from uuid.uuid5 before the change):
    # a redelivered concern must find its referrals.
    from services.routing.domain import ids

    assert ids.referral_id("c-1", "municipality", "municipality-0316") == "4ba46564-1c05-5a05-bfbb-9d2fce3f4e37"
    assert ids.event_id("x", "created") == "2d6c2c98-07e6-536c-ad29-22daf86a2632"


def test_remembered_decisions_are_decide_s_own_and_follow_the_rules_version() -> None:
    from services.routing.handlers.deps import RulesInForce

    rules = RulesInForce(owner_holder())
    combos = itertools.product(
        [(c,) for c in Category] + list(itertools.combinations(Category, 2))[::5],
        Severity,
        Consent,
        (None, LegalBasis.VITAL_INTEREST),
        [*PLACES, "nowhere-9"],
        (False, True),
    )
    unroutable = 0
    for n, combo in enumerate(combos):
        for attempt in range(2):  # the second time from memory, for another concern with the same facts
            facts = _facts(2 * n + attempt, *combo)
            try:
                expected = tuple(decide(facts, RULES))
            except Unroutable as error:
                with pytest.raises(Unroutable) as raised:
                    rules.decide(1, RULES, facts)
                assert raised.value.reason == error.reason
                unroutable += 1
                continue
            assert rules.decide(1, RULES, facts) == expected
    assert unroutable > 0  # some places have no recipients
    assert len(rules._decisions) == n + 1  # one decision per combination, for two concerns each

    # A new version is decided afresh: the same facts under a document without the association.
    facts = _facts(0, (Category.LONELINESS,), Severity.LOW, Consent.NOT_ASKED, None, "holbaek-1", False)
    before = rules.decide(1, RULES, facts)
    without = RULES.model_copy(update={"associations": {}})
    after = rules.decide(2, without, facts)
    assert {p.target for p in before} != {p.target for p in after}
    assert after == tuple(decide(facts, without))
