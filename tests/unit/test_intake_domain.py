"""intake's pure rules: receipt codes, contacts, report checks, fingerprints, and who may see what."""

from datetime import UTC, datetime, timedelta

import pytest

from services.intake.domain.access import ConcernFacts, ReferralFacts, decide_access, sees_receipt_code
from services.intake.domain.concern import ConcernRefused, check_report, fingerprint
from services.intake.domain.contact import classify_contact
from services.intake.domain.directory import Department, Directory
from services.intake.domain.receipts import ALPHABET, is_receipt_code, new_receipt_code, normalise_receipt_code
from services.intake.domain.report import ConcernReport
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import Disclosure, LegalBasis, ReferralStatus, ReferralTarget
from tests.support.intake_harness import concern_body

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
DIRECTORY = Directory()
DIRECTORY.replace(
    [
        Department("holbaek-1", "org-demo", "Ladegårdsparken", "0316", 412),
        Department("hoeng-1", "org-demo", "Høng Vænge", "0326", 74),
        Department("other-1", "org-other", "Elsewhere", "0101", 10),
    ]
)
REPORTER = Principal("cli_reporter", Role.REPORTER, organisation_id="org-demo")


def report(**overrides) -> ConcernReport:
    return ConcernReport.model_validate(concern_body(**({"observed_at": "2025-03-04T07:00:00+01:00"} | overrides)))


def test_receipt_codes_are_short_unambiguous_and_varied() -> None:
    codes = {new_receipt_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == 9 and code[4] == "-" and is_receipt_code(code)
        assert not set(code.replace("-", "")) & set("0O1I")
    assert set("".join(codes).replace("-", "")) == set(ALPHABET)
    assert not is_receipt_code("ABCD-EF01")


@pytest.mark.parametrize(
    ("contact", "channel", "address"),
    [
        ("vicevaert@example.org", "email", "vicevaert@example.org"),
        ("11 22 33 44", "sms", "+4511223344"),
        ("+45 11-22-33-44", "sms", "+4511223344"),
        ("0046 70 123 45 67", "sms", "+46701234567"),
        ("via afdelingskontoret", None, "via afdelingskontoret"),
        ("123", None, "123"),
    ],
)
def test_contact_is_read_as_email_sms_or_neither(contact: str, channel: str | None, address: str) -> None:
    classified = classify_contact(contact)
    assert (classified.channel, classified.address) == (channel, address)


def test_check_report_accepts_a_department_in_scope() -> None:
    department = check_report(report(), DIRECTORY, principal=REPORTER, now=NOW, skew=timedelta(minutes=5))
    assert department.municipality_code == "0316"


@pytest.mark.parametrize(
    ("overrides", "principal", "fields"),
    [
        ({"department_id": "nowhere-1"}, REPORTER, ["department_id"]),
        ({"department_id": "other-1"}, REPORTER, ["department_id"]),  # exists, but another organisation's
        ({"department_id": "hoeng-1"}, Principal("c", Role.CONSULTANT, department_ids=frozenset({"holbaek-1"})),
         ["department_id"]),
        ({"observed_at": "2025-03-04T09:10:00+00:00"}, REPORTER, ["observed_at"]),
        ({"department_id": "x-1", "observed_at": "2026-01-01T00:00:00Z"}, REPORTER, ["department_id", "observed_at"]),
    ],
)  # fmt: skip
def test_check_report_refuses_naming_each_field(overrides, principal, fields) -> None:  # noqa: ANN001
    body = concern_body(observed_at="2025-03-04T07:00:00+01:00") | overrides
    with pytest.raises(ConcernRefused) as refused:
        check_report(ConcernReport.model_validate(body), DIRECTORY, principal=principal, now=NOW,
                     skew=timedelta(minutes=5))  # fmt: skip
    assert [r.field for r in refused.value.refusals] == fields


def test_observed_at_within_the_clock_skew_is_accepted() -> None:
    late = report(observed_at="2025-03-04T09:04:00+00:00")
    assert check_report(late, DIRECTORY, principal=REPORTER, now=NOW, skew=timedelta(minutes=5)).id == "holbaek-1"


def test_fingerprint_tells_bodies_apart_and_needs_the_key() -> None:
    body = concern_body()
    same = fingerprint(ConcernReport.model_validate(body), b"k")
    assert same == fingerprint(ConcernReport.model_validate(dict(body)), b"k")
    assert same != fingerprint(ConcernReport.model_validate(body | {"severity": "high"}), b"k")
    assert same != fingerprint(ConcernReport.model_validate(body), b"other key")


CONCERN = ConcernFacts("org-demo", "holbaek-1", "0316", reporter_client_id="cli_reporter")


def referral(target: ReferralTarget, disclosure: Disclosure, basis: LegalBasis, **kw) -> ReferralFacts:  # noqa: ANN003
    values = {
        "referral_id": f"ref-{target.value}",
        "target": target,
        "department_id": "holbaek-1",
        "municipality_code": "0316",
        "disclosure": disclosure,
        "legal_basis": basis,
        "status": ReferralStatus.REQUESTED,
        "categories": ("mental_health", "loneliness"),
    }
    return ReferralFacts(**(values | kw))


MUNI_FULL = referral(ReferralTarget.MUNICIPALITY, Disclosure.FULL, LegalBasis.CONSENT)
MUNI_ANON = referral(ReferralTarget.MUNICIPALITY, Disclosure.ANONYMOUS, LegalBasis.NONE)
CONSULTANT = referral(ReferralTarget.CONSULTANT, Disclosure.FULL, LegalBasis.NONE)
ASSOCIATION = referral(ReferralTarget.ASSOCIATION, Disclosure.NO_PERSONAL_DETAILS, LegalBasis.NONE,
                       categories=("loneliness",))  # fmt: skip
HOLBAEK = Principal("m", Role.MUNICIPALITY, municipality_code="0316")
KALUNDBORG = Principal("k", Role.MUNICIPALITY, municipality_code="0326")
CONSULTANT_HOLBAEK = Principal("c", Role.CONSULTANT, department_ids=frozenset({"holbaek-1"}))
CONSULTANT_ELSEWHERE = Principal("c2", Role.CONSULTANT, department_ids=frozenset({"roskilde-1"}))
ASSOC = Principal("a", Role.ASSOCIATION, department_ids=frozenset({"holbaek-1"}))


@pytest.mark.parametrize(
    ("principal", "referrals", "disclosure", "basis"),
    [
        (Principal("adm", Role.ADMIN), [], Disclosure.FULL, "admin"),
        (Principal("ops", Role.OPS), [], Disclosure.ANONYMOUS, None),
        (REPORTER, [], Disclosure.FULL, "own_report"),
        (Principal("cli_other", Role.REPORTER, organisation_id="org-demo"), [], None, None),
        (HOLBAEK, [], None, None),
        (HOLBAEK, [MUNI_FULL], Disclosure.FULL, "consent"),
        (HOLBAEK, [MUNI_ANON], Disclosure.ANONYMOUS, None),
        (HOLBAEK, [referral(ReferralTarget.MUNICIPALITY, Disclosure.FULL, LegalBasis.NONE)], Disclosure.ANONYMOUS,
         None),
        (HOLBAEK, [referral(ReferralTarget.MUNICIPALITY, Disclosure.FULL, LegalBasis.CONSENT,
                            status=ReferralStatus.REJECTED)], Disclosure.ANONYMOUS, None),
        (HOLBAEK, [CONSULTANT], None, None),
        (KALUNDBORG, [MUNI_FULL], None, None),
        (CONSULTANT_HOLBAEK, [CONSULTANT], Disclosure.FULL, "housing_social_task"),
        (CONSULTANT_ELSEWHERE, [CONSULTANT], None, None),
        (CONSULTANT_HOLBAEK, [MUNI_FULL], None, None),
        (ASSOC, [ASSOCIATION, MUNI_FULL], Disclosure.NO_PERSONAL_DETAILS, None),
        (ASSOC, [MUNI_FULL], None, None),
    ],
)  # fmt: skip
def test_who_sees_what(principal, referrals, disclosure, basis) -> None:  # noqa: ANN001
    access = decide_access(principal, CONCERN, referrals)
    if disclosure is None:
        assert access is None
        return
    assert access is not None
    assert (access.disclosure, access.basis) == (disclosure, basis)
    assert access.shows_details == (disclosure is Disclosure.FULL)


def test_an_association_sees_only_its_referrals_and_never_health_categories() -> None:
    leaky = referral(ReferralTarget.ASSOCIATION, Disclosure.NO_PERSONAL_DETAILS, LegalBasis.NONE,
                     categories=("loneliness", "mental_health"))  # fmt: skip
    access = decide_access(ASSOC, CONCERN, [leaky, MUNI_FULL])
    assert access is not None
    assert access.categories == frozenset({"loneliness"})
    assert access.referral_ids == frozenset({leaky.referral_id})


def test_a_reporter_sees_referral_statuses_but_not_their_details() -> None:
    access = decide_access(REPORTER, CONCERN, [MUNI_FULL])
    assert access is not None and access.referral_details is False and access.referral_ids is None


def test_a_consultant_sees_its_own_report_without_a_referral_to_it() -> None:
    own = ConcernFacts("org-demo", "holbaek-1", "0316", reporter_client_id=CONSULTANT_HOLBAEK.client_id)
    access = decide_access(CONSULTANT_HOLBAEK, own, [MUNI_FULL])
    assert access is not None and (access.disclosure, access.basis) == (Disclosure.FULL, "own_report")
    assert access.referral_details is False
    moved = ConcernFacts("org-demo", "holbaek-1", "0316", reporter_client_id=CONSULTANT_ELSEWHERE.client_id)
    assert decide_access(CONSULTANT_ELSEWHERE, moved, []) is None  # no longer in its scope


@pytest.mark.parametrize(
    ("principal", "reporter_client_id", "shown"),
    [
        (Principal("ops", Role.OPS), "cli_reporter", True),
        (Principal("adm", Role.ADMIN), None, True),
        (REPORTER, "cli_reporter", True),
        (Principal("cli_other", Role.REPORTER, organisation_id="org-demo"), "cli_reporter", False),
        (Principal("cli_other", Role.REPORTER, organisation_id="org-demo"), None, True),  # its system's inbound
        (Principal("cli_far", Role.REPORTER, organisation_id="org-elsewhere"), None, False),
        (HOLBAEK, "cli_reporter", False),
        (CONSULTANT_HOLBAEK, "cli_reporter", False),
        (CONSULTANT_HOLBAEK, None, False),
        (CONSULTANT_HOLBAEK, CONSULTANT_HOLBAEK.client_id, True),
        (ASSOC, None, False),
    ],
)  # fmt: skip
def test_who_is_shown_the_receipt_code(principal, reporter_client_id, shown) -> None:  # noqa: ANN001
    concern = ConcernFacts("org-demo", "holbaek-1", "0316", reporter_client_id=reporter_client_id)
    assert sees_receipt_code(principal, concern) is shown


def test_a_receipt_code_is_read_as_typed() -> None:
    assert normalise_receipt_code(" k7wx 3mpq ") == normalise_receipt_code("K7WX3MPQ") == "K7WX-3MPQ"
    assert normalise_receipt_code("K7WX-3MP0") is None and normalise_receipt_code("K7WX-3MP") is None
