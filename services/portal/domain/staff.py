"""The staff pages' vocabulary and choices: Danish names of the platform's codes, and which moves a page offers.

Routing decides every move (an illegal one answers 409 and the page says so); the portal only chooses which buttons
to show for a referral's status, so a person is not offered what would be refused. Texts that have an owner
elsewhere (the guidance's wording on consent, the categories' titles) are read from that owner's API, never here.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STATUS = {
    "requested": "Ny – ikke kvitteret",
    "received": "Modtaget",
    "accepted": "Accepteret",
    "rejected": "Afvist",
    "in_progress": "I gang",
    "on_hold": "Sat i bero",
    "completed": "Afsluttet",
    "cancelled": "Annulleret",
    "failed": "Mislykket",
}
OPEN = frozenset({"requested", "received", "accepted", "in_progress", "on_hold"})

TARGET = {
    "municipality": "Kommunens indgang",
    "consultant": "Boligsocial konsulent",
    "association": "Frivillig forening",
}

TASK = {
    "act": "Handle på henvisningen",
    "inform": "Til orientering",
    "obtain_consent": "Indhente samtykke fra beboeren",
    "triage": "Vurdere og visitere",
    "call": "Ringe op med det samme og vurdere faren",
}

DISCLOSURE = {
    "full": "Fulde oplysninger (der er hjemmel til at dele dem)",
    "anonymous": "Anonym drøftelse – uden personoplysninger",
    "no_personal_details": "Sagen uden personoplysninger",
    "erased": "Personoplysningerne er slettet",
}

LEGAL_BASIS = {
    "consent": "Samtykke fra beboeren",
    "vital_interest": "Vitale interesser (fare for liv eller helbred)",
    "statutory_duty": "Lovpligt (myndighedens pligt)",
    "none": "Intet grundlag for at dele personoplysninger",
}

CONSENT = {"given": "Givet", "refused": "Afslået", "not_asked": "Ikke spurgt"}

SEVERITY = {"low": "Lav", "medium": "Middel", "high": "Høj", "acute": "Akut"}

OUTCOME = {
    "support_established": "Støtte er etableret",
    "eviction_avoided": "Udsættelse er undgået",
    "dwelling_restored": "Boligen er bragt i orden",
    "moved_to_suitable_housing": "Flyttet til en egnet bolig",
    "resident_declined_help": "Beboeren takkede nej til hjælp",
    "could_not_contact": "Beboeren kunne ikke kontaktes",
    "no_action_needed": "Ingen indsats nødvendig",
}

REJECT_REASON = {
    "not_our_responsibility": "Det er ikke vores opgave",
    "insufficient_information": "For få oplysninger",
    "no_consent": "Intet samtykke",
    "capacity": "Vi har ikke kapacitet",
    "duplicate": "Sagen er en dublet",
}

SUGGESTED_FUNCTION = {
    "acute_social_services": "Akut socialfaglig indsats",
    "dementia_coordinator": "Demenskoordinator / ældreområdet",
    "social_psychiatry": "Socialpsykiatri og bostøtte",
    "housing_support": "Bostøtte (serviceloven § 85)",
    "eviction_prevention": "Forebyggelse af udsættelser",
    "substance_abuse_treatment": "Misbrugsbehandling",
    "child_welfare": "Børn og familie (underretning)",
}

HISTORY_EVENT = {
    "reported": "Bekymringen blev meldt",
    "referred": "Henvist",
    "status_changed": "Status ændret",
    "erased": "Personoplysningerne blev slettet",
}

DELIVERY_STATE = {"pending": "Venter", "delivered": "Leveret", "dead": "Opgivet", "cancelled": "Annulleret"}
SUBSCRIPTION_STATE = {"active": "Aktiv", "disabled": "Slået fra"}
DISABLED_REASON = {"gone": "Modtageren svarede 410 (findes ikke længere)", "failing": "Leveringer fejlede i dagevis"}

EVENT_TYPES = {
    "referral.created.v1": "Ny henvisning",
    "referral.status_changed.v1": "Status ændret",
    "referral.sla_breached.v1": "Svarfrist overskredet",
    "referral.escalated.v1": "Eskaleret",
}


def label(table: dict[str, str], code: Any) -> str:
    """The Danish name of `code` in `table`, or the code itself when there is none (never an empty cell)."""
    if code is None or code == "":
        return "–"
    return table.get(str(code), str(code))


@dataclass(frozen=True)
class Move:
    """A button on a referral's page: the status it moves to, its Danish text, and what the form asks for."""

    to: str
    label: str
    asks: str | None = None
    """`reason` (a rejection), `outcome` (completion) or None."""
    primary: bool = True


MOVES: dict[str, tuple[Move, ...]] = {
    "requested": (Move("received", "Kvittér for modtagelsen"),),
    "received": (
        Move("accepted", "Acceptér henvisningen"),
        Move("rejected", "Afvis henvisningen", "reason", primary=False),
    ),
    "accepted": (Move("in_progress", "Start arbejdet"),),
    "in_progress": (
        Move("on_hold", "Sæt i bero", primary=False),
        Move("completed", "Afslut med et resultat", "outcome"),
    ),
    "on_hold": (Move("in_progress", "Genoptag arbejdet"), Move("completed", "Afslut med et resultat", "outcome")),
}


def moves_for(status: str) -> tuple[Move, ...]:
    """The moves a referral in `status` offers (none once it is closed)."""
    return MOVES.get(status, ())


def parse_time(value: Any) -> datetime | None:
    """An API's ISO time as an aware datetime (None stays None)."""
    if not value:
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def due_of(referral: dict[str, Any]) -> datetime | None:
    """When the referral must be acknowledged, while it waits for that (routing's clocks run only then)."""
    if referral.get("status") == "requested":
        return parse_time(referral.get("ack_due_at"))
    return None


def worklist_order(referrals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Overdue first, then the unacknowledged by due time, then the rest being worked (by their original due
    time), closed ones last (newest first)."""
    far = datetime.max.replace(tzinfo=UTC)

    def key(referral: dict[str, Any]) -> tuple:
        is_open = referral.get("status") in OPEN
        waiting = referral.get("status") == "requested"
        due = parse_time(referral.get("ack_due_at")) or far
        created = parse_time(referral.get("created_at")) or far
        return (not is_open, not referral.get("overdue"), not waiting, due if is_open else far, -created.timestamp())

    return sorted(referrals, key=key)


def rerouted_to(referral: dict[str, Any]) -> str | None:
    """The referral that replaced this one when it was rejected (its history's last rejection names it)."""
    for entry in reversed(referral.get("history") or []):
        if entry.get("to_status") == "rejected" and entry.get("rerouted_to"):
            return str(entry["rerouted_to"])
    return None


def hours(value: Any) -> str:
    """Hours as Danish text ("3,5 timer"; "–" when withheld or unknown)."""
    if value is None:
        return "–"
    number = float(value)
    if number >= 48:
        days = number / 24
        return f"{days:.1f} døgn".replace(".", ",")
    return f"{number:.1f} timer".replace(".", ",")
