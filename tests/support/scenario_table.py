"""The scenario table of the end-to-end suite (tests/e2e/test_scenarios.py): small stories of the demo organisation,
the referrals the rules must make of them, and the recipients' answers. Every person in it is made up; the details
are planted so that the suite can look for them where they must never be."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

OBSERVED_AT = datetime.now(UTC) - timedelta(hours=3)  # fixed, so that a retried POST is the same request


@dataclass(frozen=True)
class Person:
    """Planted, clearly fictional personal details: none may leave intake except to a recipient allowed them."""

    resident: str
    phone: str
    address: str
    reporter: str
    contact: str
    description: str

    def planted(self) -> list[str]:
        """Each detail, and the phone number also as bare digits."""
        digits = self.phone.replace("+", "").replace(" ", "")
        return [self.resident, self.phone, digits, self.address, self.reporter, self.contact, self.description]


@dataclass(frozen=True)
class Report:
    """One concern: over HTTP (`system` None) or from a housing system through concern-inbound."""

    department: str
    tenancy: str
    categories: tuple[str, ...]
    severity: str
    consent: str
    reporter_role: str
    person: Person
    legal_basis: str | None = None
    system: str | None = None
    payload: dict[str, Any] | None = None  # the housing system's own format
    children: str | None = None  # children_in_household
    danger_confirmed: bool | None = None
    hints: tuple[str, ...] = ()  # what intake's triage must read in the description (codes only leave intake)

    def body(self) -> dict[str, Any]:
        """The POST /v1/concerns body."""
        p = self.person
        body = {
            "department_id": self.department,
            "tenancy_id": self.tenancy,
            "categories": list(self.categories),
            "severity": self.severity,
            "description": p.description,
            "observed_at": OBSERVED_AT.isoformat(),
            "reporter": {"role": self.reporter_role, "name": p.reporter, "contact": p.contact},
            "resident": {"name": p.resident, "phone": p.phone, "address": p.address},
            "consent": self.consent,
        }
        if self.children is not None:
            body["children_in_household"] = self.children
        if self.danger_confirmed is not None:
            body["danger_confirmed"] = self.danger_confirmed
        return body | ({"legal_basis": self.legal_basis} if self.legal_basis else {})


@dataclass(frozen=True)
class Referral:
    """A referral the rules must make (or a re-route make): to whom, asking what, on which basis."""

    recipient: str
    target: str
    task: str
    basis: str
    disclosure: str
    rule: str
    function: str | None = None
    categories: tuple[str, ...] | None = None  # None: the report's
    severity: str | None = None  # None: the report's
    urgent: bool = False
    repeated: bool = False
    replaces: str | None = None  # the recipient whose rejection re-routed it here
    report: int = -1
    underretning: bool = False  # to the children and youth entry, its receipt due in 6 working days


@dataclass(frozen=True)
class Move:
    """A recipient's answer: POST /v1/referrals/{id}/transitions by `by` (a client), expecting `status`."""

    recipient: str
    by: str
    to: str
    reason: str | None = None
    outcome: str | None = None
    status: int = 200
    rerouted_to: str | None = None
    merged: bool = False  # the re-route went to the recipient's open referral (no second one)
    report: int = -1


@dataclass(frozen=True)
class Scenario:
    """A small story: reports, the referrals they must become, the recipients' answers, the repeat figures."""

    id: str
    story: str
    reports: tuple[Report, ...]
    referrals: tuple[Referral, ...]
    moves: tuple[Move, ...] = ()
    repeats: dict[str, int] = field(default_factory=dict)
    erase: bool = False
    replay_last: bool = False  # send the last report again with the same Idempotency-Key


def person(n: int, resident: str, address: str, reporter: str, description: str) -> Person:
    """Planted details with unique phone numbers and contact addresses per scenario."""
    return Person(
        resident=resident,
        phone=f"+45 71 {40 + n:02d} {n * 7 % 100:02d} {n * 13 % 100:02d}",
        address=address,
        reporter=reporter,
        contact=f"melder.scenarie{n}@example.dk",
        description=description,
    )


HTTP_DEMENTIA = Report(
    "holbaek-1", "12-0104", ("dementia_signs",), "medium", "given", "caretaker",
    person(1, "Preben Fiktivsen Ahorn", "Ahornvej 12, st. tv., 4300 Holbæk", "Jens Viceværtsen Kq",
           "S1-markør: Preben er tre nætter i træk fundet i opgangen uden at kunne finde sin egen dør."),
)  # fmt: skip
HTTP_MENTAL_NO_CONSENT = Report(
    "holbaek-2", "3-0211", ("mental_health",), "high", "not_asked", "resident_representative",
    person(2, "Kirsten Opdigtet Birk", "Birkevej 3, 2. th., 4300 Holbæk", "Ulla Beboerdemokrat Zr",
           "S2-markør: Beboeren har hængt avispapir for alle vinduer og råber ad naboerne om natten."),
)  # fmt: skip
HTTP_NOISE = Report(
    "holbaek-1", "14-0032", ("noise", "neighbour_conflict"), "low", "not_asked", "administration",
    person(3, "Torben Påfundsen Larm", "Ahornvej 14, 1. mf., 4300 Holbæk", "Lone Udlejning Wy",
           "S3-markør: Gentagne klager over høj musik efter midnat og råb mellem to naboer i opgang 14."),
)  # fmt: skip
HTTP_LONELINESS = Report(
    "holbaek-2", "9-0007", ("loneliness", "mental_health"), "low", "given", "caretaker",
    person(4, "Else Digtet Ensom", "Birkevej 9, 3. tv., 4300 Holbæk", "Poul Varmemester Vb",
           "S4-markør: Else sidder hver dag alene i gården og siger, at hun er nedtrykt og ikke ser nogen."),
    hints=("possible_mental_health",),
)  # fmt: skip
INBOUND_A_PERSON = person(
    5,
    "Bodil Konstrueret Restance",
    "Stationsvej 201, 4270 Høng",
    "Mette Administration Qp",
    "S5-markør: Tre måneders restance, breve returneres uåbnede; fogedsag berammet.",
)
INBOUND_A = Report(
    "hoeng-1", "201-0415", ("rent_arrears", "eviction_risk"), "high", "not_asked", "administration", INBOUND_A_PERSON,
    system="ejendomssystem-a", hints=("possible_eviction",),
    payload={
        "afdelingsnr": "HO-201", "lejemaalsnr": "201-0415", "sagstyper": ["RESTANCE", "UDSAET"], "alvor": "3",
        "beskrivelse": INBOUND_A_PERSON.description, "samtykke": "U",
        "indberetter": {"funktion": "ADM", "navn": INBOUND_A_PERSON.reporter, "email": INBOUND_A_PERSON.contact},
        "beboer": {"navn": INBOUND_A_PERSON.resident, "adresse": INBOUND_A_PERSON.address,
                   "telefon": INBOUND_A_PERSON.phone},
    },
)  # fmt: skip
INBOUND_B_PERSON = person(
    6,
    "Arne Fingeret Skovly",
    "Skovlyvej 14, 4400 Kalundborg",
    "Afdelingsbestyrelsen Hx",
    "S6-markør: Arne har glemt at låse sin hoveddør to gange og kender ikke længere naboerne.",
)
INBOUND_B = Report(
    "kalundborg-1", "2202-14", ("dementia_signs",), "medium", "given", "resident_representative", INBOUND_B_PERSON,
    system="beboerapp-b", hints=("possible_dementia",),
    payload={
        "report": {"estateNo": 2202, "unit": "14", "concernTypes": [{"code": "2"}], "urgency": 1,
                   "details": INBOUND_B_PERSON.description, "residentConsent": True},
        "submittedBy": {"kind": "board_member", "displayName": INBOUND_B_PERSON.reporter,
                        "email": INBOUND_B_PERSON.contact},
        "resident": {"name": INBOUND_B_PERSON.resident, "mobile": INBOUND_B_PERSON.phone},
    },
)  # fmt: skip
HTTP_GRETHE = Report(
    "hoeng-1", "HO-3-0102", ("mental_health",), "medium", "given", "caretaker",
    person(7, "Grethe Opfundet Høng", "Bygaden 3, 4270 Høng", "Kim Lokalinspektør Jd",
           "S7-markør: Grethe har ikke været ude i ugevis og taler om, at naboerne overvåger hende."),
    hints=("possible_mental_health",),
)  # fmt: skip
REPEAT_PERSON = person(
    8,
    "Villy Tænkt Samler",
    "Birkevej 5, 4. th., 4300 Holbæk",
    "Hanne Viceværtsen Tm",
    "S8-markør: Lugt i opgangen; lejligheden er fyldt med aviser og poser til loftet.",
)
HTTP_THREAT = Report(
    "holbaek-2", "11-0120", ("threats_or_violence",), "acute", "refused", "caretaker",
    person(9, "Ronni Usand Kniv", "Birkevej 11, kld., 4300 Holbæk", "Bo Viceværtsen Gf",
           "S9-markør: Beboeren truede viceværten med en kniv i kælderen; politiet er tilkaldt."),
    legal_basis="vital_interest", hints=("violence_or_threats",),
)  # fmt: skip
HTTP_SELF_NEGLECT = Report(
    "holbaek-1", "12-0311", ("self_neglect",), "medium", "given", "caretaker",
    person(10, "Inge Påstået Glemt", "Ahornvej 12, 3. th., 4300 Holbæk", "Søren Viceværtsen Lc",
           "S10-markør: Inge virker afkræftet og uplejet, posten hober sig op, og hun handler ikke ind."),
)  # fmt: skip

HTTP_NO_CONSENT_REJECTED = Report(
    "holbaek-2", "7-0142", ("mental_health",), "high", "not_asked", "caretaker",
    person(11, "Karl Udtænkt Afvist", "Birkevej 7, 1. tv., 4300 Holbæk", "Anne Viceværtsen Np",
           "S11-markør: Karl har trukket sig helt og siger, at nogen holder øje med ham."),
)  # fmt: skip
HTTP_NO_CONSENT_MUNICIPALITY_FIRST = Report(
    "holbaek-1", "16-0203", ("mental_health",), "high", "not_asked", "resident_representative",
    person(12, "Lis Konstrueret Omvej", "Ahornvej 16, 2. mf., 4300 Holbæk", "Ib Beboerdemokrat Ks",
           "S12-markør: Lis banker på naboernes døre om natten og siger, at radiatoren taler til hende."),
)  # fmt: skip
# Without consent: an anonymous consultation for the municipality, the consultant to obtain consent (both reports).
_ANONYMOUS = Referral("municipality-0316", "municipality", "act", "none", "anonymous", "mental_health",
                      function="social_psychiatry")  # fmt: skip
_OBTAIN_CONSENT = Referral("consultant-holbaek", "consultant", "obtain_consent", "none", "no_personal_details",
                           "mental_health")  # fmt: skip
_ESCALATION_OBTAINS_CONSENT = Referral("escalation-consultant-holbaek", "consultant", "obtain_consent", "none",
                                       "no_personal_details", "fallback_consultant",
                                       replaces="consultant-holbaek")  # fmt: skip

# Issue 16: what the reporter wrote is read for danger; children in the household are never overlooked.
HTTP_SUICIDE_HINT = Report(
    "holbaek-1", "12-0207", ("loneliness",), "low", "not_asked", "caretaker",
    person(13, "Ruth Opdigtet Mørk", "Ahornvej 12, 2. tv., 4300 Holbæk", "Finn Viceværtsen Rb",
           "S13-markør: Hun siger, hun vil tage sit eget liv; hun orker ikke mere og sidder alene hver dag."),
    hints=("possible_suicide_risk",),
)  # fmt: skip
HTTP_GAS_CONFIRMED = Report(
    "holbaek-2", "4-0109", ("other",), "medium", "not_asked", "caretaker",
    person(15, "Egon Påfundet Gas", "Birkevej 4, st. th., 4300 Holbæk", "Tina Viceværtsen Hm",
           "S15-markør: Der lugter kraftigt af gas i opgangen, og beboeren åbner ikke døren."),
    danger_confirmed=True,
    hints=("possible_fall_or_helpless", "fire_or_gas"),
)  # fmt: skip
INBOUND_CHILDREN_PERSON = person(
    14,
    "Sanne Konstrueret Familie",
    "Ahornvej 18, 1. th., 4300 Holbæk",
    "Driften Holbæk Wk",
    "S14-markør: Lejligheden flyder med affald og madrester; familien har tre børn.",
)
INBOUND_CHILDREN = Report(
    "holbaek-1", "18-0101", ("neglect_of_dwelling",), "medium", "refused", "caretaker", INBOUND_CHILDREN_PERSON,
    system="ejendomssystem-a", children="yes",
    payload={
        "afdelingsnr": "HB-101", "lejemaalsnr": "18-0101", "sagstyper": ["MISL"], "alvor": "2",
        "beskrivelse": INBOUND_CHILDREN_PERSON.description, "samtykke": "N", "boern_i_husstanden": "J",
        "indberetter": {"funktion": "VICEVAERT", "navn": INBOUND_CHILDREN_PERSON.reporter,
                        "email": INBOUND_CHILDREN_PERSON.contact},
        "beboer": {"navn": INBOUND_CHILDREN_PERSON.resident, "adresse": INBOUND_CHILDREN_PERSON.address,
                   "telefon": INBOUND_CHILDREN_PERSON.phone},
    },
)  # fmt: skip

TRIAGE_PHRASES = ("sit eget liv", "orker ikke mere", "lugter kraftigt af gas", "åbner ikke døren", "har tre børn")
"""The words triage reads in those descriptions: not even these fragments (a matched phrase) may leave intake."""


def _repeat(categories: tuple[str, ...]) -> Report:
    return Report(
        "holbaek-2", "5-0063", categories, "low", "given", "caretaker", REPEAT_PERSON, hints=("possible_hoarding",)
    )


SCENARIOS = (
    Scenario(
        "dementia_with_consent",
        "A caretaker in Holbæk reports signs of dementia with the resident's consent: the municipality's single entry "
        "(dementia coordinator) gets the details and takes the case on; the consultant is informed and closes.",
        (HTTP_DEMENTIA,),
        (
            Referral("municipality-0316", "municipality", "act", "consent", "full", "dementia_signs",
                     function="dementia_coordinator"),
            Referral("consultant-holbaek", "consultant", "inform", "consent", "full", "dementia_signs"),
        ),
        (
            Move("municipality-0316", "holbaek", "received"),
            Move("municipality-0316", "holbaek", "accepted"),
            Move("municipality-0316", "holbaek", "in_progress"),
            Move("municipality-0316", "holbaek", "completed", outcome="support_established"),
            Move("consultant-holbaek", "consultant", "received"),
            Move("consultant-holbaek", "consultant", "accepted"),
            Move("consultant-holbaek", "consultant", "in_progress"),
            Move("consultant-holbaek", "consultant", "completed", outcome="no_action_needed"),
        ),
    ),
    Scenario(
        "mental_health_without_consent",
        "A resident representative reports a neighbour in mental distress, consent not asked and no vital interest: "
        "the municipality gets an anonymous consultation, the consultant the task of asking for consent.",
        (HTTP_MENTAL_NO_CONSENT,),
        (
            Referral("municipality-0316", "municipality", "act", "none", "anonymous", "mental_health",
                     function="social_psychiatry"),
            Referral("consultant-holbaek", "consultant", "obtain_consent", "none", "no_personal_details",
                     "mental_health"),
        ),
        (
            Move("municipality-0316", "holbaek", "received"),
            Move("consultant-holbaek", "consultant", "received"),
            Move("consultant-holbaek", "consultant", "accepted"),
            Move("consultant-holbaek", "consultant", "in_progress"),
        ),
    ),
    Scenario(
        "noise_between_neighbours",
        "Lettings report loud music and rows between two neighbours: the consultant's task, nothing for the "
        "municipality; the consultant mediates and closes.",
        (HTTP_NOISE,),
        (Referral("consultant-holbaek", "consultant", "act", "none", "no_personal_details",
                  "neighbour_conflict_noise"),),
        (
            Move("consultant-holbaek", "consultant", "received"),
            Move("consultant-holbaek", "consultant", "accepted"),
            Move("consultant-holbaek", "consultant", "in_progress"),
            Move("consultant-holbaek", "consultant", "completed", outcome="support_established"),
        ),
    ),
    Scenario(
        "loneliness_with_mental_health",
        "A lonely, low-spirited resident: the volunteer association gets the loneliness (never the health category, "
        "never the details), the municipality the mental health with consent.",
        (HTTP_LONELINESS,),
        (
            Referral("association-holbaek-naboskab", "association", "act", "none", "no_personal_details",
                     "loneliness", categories=("loneliness",)),
            Referral("municipality-0316", "municipality", "act", "consent", "full", "mental_health",
                     function="social_psychiatry"),
        ),
        (
            Move("association-holbaek-naboskab", "association", "received"),
            Move("association-holbaek-naboskab", "association", "accepted"),
            Move("municipality-0316", "holbaek", "received"),
        ),
    ),
    Scenario(
        "inbound_rent_arrears_hoeng",
        "The estate system (ejendomssystem A) sends rent arrears with a risk of eviction in Høng: the consultant acts, "
        "Kalundborg's eviction prevention gets the details under its statutory duty and avoids the eviction.",
        (INBOUND_A,),
        (
            Referral("consultant-holbaek", "consultant", "act", "none", "no_personal_details",
                     "rent_arrears_eviction_risk"),
            Referral("municipality-0326", "municipality", "act", "statutory_duty", "full",
                     "rent_arrears_eviction_risk", function="eviction_prevention"),
        ),
        (
            Move("municipality-0326", "kalundborg", "received"),
            Move("municipality-0326", "kalundborg", "accepted"),
            Move("municipality-0326", "kalundborg", "in_progress"),
            Move("municipality-0326", "kalundborg", "completed", outcome="eviction_avoided"),
            Move("consultant-holbaek", "consultant", "received"),
        ),
    ),
    Scenario(
        "inbound_dementia_kalundborg",
        "A board member reports through the residents' app (beboerapp B) signs of dementia in Kalundborg, with "
        "consent: Kalundborg's dementia coordinator and the Kalundborg consultant hear of it.",
        (INBOUND_B,),
        (
            Referral("consultant-kalundborg", "consultant", "inform", "consent", "full", "dementia_signs"),
            Referral("municipality-0326", "municipality", "act", "consent", "full", "dementia_signs",
                     function="dementia_coordinator"),
        ),
        (
            Move("municipality-0326", "kalundborg", "received"),
            Move("municipality-0326", "kalundborg", "accepted"),
        ),
    ),
    Scenario(
        "rejected_and_rerouted",
        "Grethe in Høng: Kalundborg rejects (not its responsibility), the referral is re-routed to the consultant; "
        "the consultant has no capacity, it goes to the consultant's escalation contact, who cannot reject: never a "
        "dead end.",
        (HTTP_GRETHE,),
        (
            Referral("municipality-0326", "municipality", "act", "consent", "full", "mental_health",
                     function="social_psychiatry"),
            Referral("consultant-holbaek", "consultant", "act", "consent", "full", "fallback_municipality",
                     replaces="municipality-0326"),
            Referral("escalation-consultant-holbaek", "consultant", "act", "consent", "full", "fallback_consultant",
                     replaces="consultant-holbaek"),
        ),
        (
            Move("municipality-0326", "kalundborg", "received"),
            Move("municipality-0326", "kalundborg", "rejected", reason="not_our_responsibility",
                 rerouted_to="consultant-holbaek"),
            Move("consultant-holbaek", "consultant", "received"),
            Move("consultant-holbaek", "consultant", "rejected", reason="capacity",
                 rerouted_to="escalation-consultant-holbaek"),
            Move("escalation-consultant-holbaek", "admin", "rejected", reason="duplicate", status=409),
        ),
    ),
    Scenario(
        "consent_task_rerouted_then_merged",
        "Karl, no consent asked: the consultant, who was to obtain consent, has no capacity; the escalation contact "
        "gets the same task (obtain consent, no details), never `act`. Then Holbæk rejects its anonymous "
        "consultation: the escalation contact has the concern open already, so no second referral; it takes it over.",
        (HTTP_NO_CONSENT_REJECTED,),
        (_ANONYMOUS, _OBTAIN_CONSENT, _ESCALATION_OBTAINS_CONSENT),
        (
            Move("consultant-holbaek", "consultant", "received"),
            Move("consultant-holbaek", "consultant", "rejected", reason="capacity",
                 rerouted_to="escalation-consultant-holbaek"),
            Move("municipality-0316", "holbaek", "received"),
            Move("municipality-0316", "holbaek", "rejected", reason="not_our_responsibility",
                 rerouted_to="escalation-consultant-holbaek", merged=True),
        ),
    ),
    Scenario(
        "municipality_rejects_to_the_open_consultant",
        "Lis, no consent asked: Holbæk rejects its anonymous consultation while the consultant's referral (obtain "
        "consent) is open, and the consultant takes it over (no second referral); then the consultant rejects, "
        "and the escalation contact is asked to obtain consent.",
        (HTTP_NO_CONSENT_MUNICIPALITY_FIRST,),
        (_ANONYMOUS, _OBTAIN_CONSENT, _ESCALATION_OBTAINS_CONSENT),
        (
            Move("municipality-0316", "holbaek", "received"),
            Move("municipality-0316", "holbaek", "rejected", reason="not_our_responsibility",
                 rerouted_to="consultant-holbaek", merged=True),
            Move("consultant-holbaek", "consultant", "received"),
            Move("consultant-holbaek", "consultant", "rejected", reason="insufficient_information",
                 rerouted_to="escalation-consultant-holbaek"),
        ),
    ),
    Scenario(
        "third_concern_same_tenancy",
        "The third concern within 90 days about one tenancy (odour, hoarding): flagged as repeated, severity raised "
        "one step, and the municipality's housing support is brought in; a retried POST creates nothing new.",
        (_repeat(("odour_nuisance",)), _repeat(("hoarding",)), _repeat(("odour_nuisance", "hoarding"))),
        (
            Referral("consultant-holbaek", "consultant", "act", "consent", "full", "ability_to_live", report=0),
            Referral("consultant-holbaek", "consultant", "act", "consent", "full", "ability_to_live", report=1),
            Referral("consultant-holbaek", "consultant", "act", "consent", "full", "ability_to_live",
                     severity="medium", repeated=True, report=2),
            Referral("municipality-0316", "municipality", "act", "consent", "full", "ability_to_live_repeated",
                     function="housing_support", severity="medium", repeated=True, report=2),
        ),
        repeats={"repeat_tenancies": 1, "repeat_concerns": 1},
        replay_last=True,
    ),
    Scenario(
        "acute_threats",
        "A resident threatened the caretaker with a knife; consent refused, but a vital interest: the municipality "
        "gets it at once (due in one hour), the consultant is told urgently, with 112 in the e-mail.",
        (HTTP_THREAT,),
        (
            Referral("municipality-0316", "municipality", "act", "vital_interest", "full", "acute_severity",
                     function="acute_social_services", urgent=True),
            Referral("consultant-holbaek", "consultant", "inform", "vital_interest", "full", "acute_severity",
                     urgent=True),
        ),
        (
            Move("municipality-0316", "holbaek", "received"),
            Move("municipality-0316", "holbaek", "accepted"),
            Move("municipality-0316", "holbaek", "in_progress"),
        ),
    ),
    Scenario(
        "erasure",
        "A self-neglect concern is referred to the consultant; then the organisation erases it: the details are gone "
        "for everyone, the referral stays (the need for help remains) and is marked, the dashboard still counts it.",
        (HTTP_SELF_NEGLECT,),
        (Referral("consultant-holbaek", "consultant", "act", "consent", "full", "ability_to_live"),),
        (Move("consultant-holbaek", "consultant", "received"),),
        erase=True,
    ),
    Scenario(
        "suicide_hint_in_a_loneliness_report",
        "A caretaker ticks loneliness and writes that the resident wants to take her own life: the text is read at "
        "once, the municipality gets it urgently (anonymous: nobody confirmed the danger or consented), the consultant "
        "an urgent task to call; the association still gets the loneliness.",
        (HTTP_SUICIDE_HINT,),
        (
            Referral("association-holbaek-naboskab", "association", "act", "none", "no_personal_details",
                     "loneliness", categories=("loneliness",)),
            Referral("municipality-0316", "municipality", "act", "none", "anonymous", "danger_hints",
                     function="acute_social_services", urgent=True),
            Referral("consultant-holbaek", "consultant", "call", "none", "no_personal_details", "danger_hints",
                     urgent=True),
        ),
        (
            Move("municipality-0316", "holbaek", "received"),
            Move("consultant-holbaek", "consultant", "received"),
            Move("consultant-holbaek", "consultant", "accepted"),
        ),
    ),
    Scenario(
        "gas_confirmed_by_the_reporter",
        "Gas in the stairwell and nobody opens: the reporter confirms the danger, so the municipality gets the details "
        "on vital interest at once; the consultant triages, urgently.",
        (HTTP_GAS_CONFIRMED,),
        (
            Referral("municipality-0316", "municipality", "act", "vital_interest", "full", "danger_hints",
                     function="acute_social_services", urgent=True),
            Referral("consultant-holbaek", "consultant", "triage", "none", "no_personal_details", "other",
                     urgent=True),
        ),
        (Move("municipality-0316", "holbaek", "received"),),
    ),
    Scenario(
        "underretning_children_in_a_neglected_home",
        "The estate system reports a neglected home where three children live, consent refused: besides the "
        "consultant's task, Holbæk's children and youth entry (not the single entry) gets an underretning with the "
        "details on statutory duty, and confirms its receipt.",
        (INBOUND_CHILDREN,),
        (
            Referral("consultant-holbaek", "consultant", "act", "none", "no_personal_details", "ability_to_live"),
            Referral("children-0316", "municipality", "act", "statutory_duty", "full", "children_in_household",
                     underretning=True),
        ),
        (
            Move("children-0316", "holbaek", "received"),
            Move("children-0316", "holbaek", "accepted"),
            Move("consultant-holbaek", "consultant", "received"),
        ),
    ),
)  # fmt: skip
