"""Fictional demo cases: the kinds of concern the seeds describe, with made-up people and places."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Case:
    """A kind of concern: categories, how serious, what the caretaker saw (Danish, fictional)."""

    categories: tuple[str, ...]
    severities: tuple[str, ...]
    description: str
    weight: int


CASES = (
    Case(
        ("dementia_signs",),
        ("medium", "high"),
        "Ældre beboer virker forvirret, har flere gange ikke kunnet finde sin egen opgang og stået ude uden jakke.",
        8,
    ),
    Case(
        ("mental_health",),
        ("medium", "high"),
        "Beboer råber om natten og har hængt avispapir for alle vinduer. Naboerne er utrygge.",
        8,
    ),
    Case(
        ("mental_health", "neglect_of_dwelling"),
        ("high",),
        "Stærk lugt fra lejligheden, affald på altanen, beboer åbner ikke men kan høres indenfor.",
        6,
    ),
    Case(
        ("odour_nuisance", "hoarding"),
        ("medium",),
        "Naboer klager over lugt i opgangen. Ved tilsyn ses lejligheden fyldt med aviser og poser.",
        6,
    ),
    Case(
        ("neglect_of_dwelling",),
        ("low", "medium"),
        "Vandskade ikke meldt; køkkenet er meget misligholdt og der er tegn på skadedyr.",
        6,
    ),
    Case(("self_neglect",), ("medium",), "Beboer virker afkræftet og uplejet, handler ikke ind, post hober sig op.", 5),
    Case(
        ("neighbour_conflict", "noise"),
        ("low", "medium"),
        "Gentagne klager over høj musik og råben mellem to naboer i samme opgang.",
        10,
    ),
    Case(
        ("rent_arrears", "eviction_risk"),
        ("high",),
        "Tre måneders huslejerestance, beboer reagerer ikke på breve. Sagen nærmer sig udsættelse.",
        7,
    ),
    Case(
        ("rent_arrears",),
        ("medium",),
        "Ny restance hos beboer der tidligere har betalt til tiden. Virker presset ved kontakt.",
        5,
    ),
    Case(
        ("loneliness",),
        ("low",),
        "Enlig ældre beboer sidder ofte alene i gården og fortæller at hun ikke har nogen at tale med.",
        7,
    ),
    Case(
        ("substance_abuse",),
        ("medium",),
        "Beboer virker påvirket i opgangen om dagen; naboer finder kanyler ved affaldsskakten.",
        3,
    ),
    Case(
        ("threats_or_violence",),
        ("high", "acute"),
        "Beboer har truet viceværten med en kniv i kælderen. Politiet er tilkaldt.",
        2,
    ),
    Case(
        ("suspected_abuse",),
        ("high",),
        "Naboer hører gentagne skrig og slag fra lejligheden; en ældre beboer har blå mærker.",
        2,
    ),
    Case(("other",), ("low",), "Beboer beder om hjælp til at forstå et brev fra kommunen om bostøtte.", 3),
)

FIRST_NAMES = ("Grethe", "Preben", "Inge", "Bent", "Lise", "Jørgen", "Karen", "Ole", "Birthe", "Finn")
LAST_NAMES = ("Demo-Jensen", "Demo-Nielsen", "Demo-Hansen", "Demo-Pedersen", "Demo-Andersen")
REPORTER_ROLES = ("caretaker", "caretaker", "caretaker", "resident_representative", "administration")


def concern_body(rng: random.Random, department_id: str, now: datetime) -> dict[str, Any]:
    """One POST /v1/concerns body for a random case in the department (all people fictional)."""
    case = rng.choices(CASES, weights=[c.weight for c in CASES])[0]
    consent = rng.choices(("given", "not_asked", "refused"), weights=(5, 4, 1))[0]
    body: dict[str, Any] = {
        "department_id": department_id,
        "tenancy_id": f"{rng.randint(1, 40)}-{rng.randint(1, 120):04d}",
        "categories": list(case.categories),
        "severity": rng.choice(case.severities),
        "description": case.description,
        "observed_at": (now - timedelta(hours=rng.uniform(1, 72))).astimezone(UTC).isoformat(),
        "reporter": {"role": rng.choice(REPORTER_ROLES), "name": f"{rng.choice(FIRST_NAMES)} (vicevært, demo)"},
        "consent": consent,
    }
    if rng.random() < 0.4:
        body["reporter"]["contact"] = f"driften{rng.randint(1, 9)}@example.dk"
    if rng.random() < 0.7:
        body["resident"] = {"name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"}
    if "threats_or_violence" in case.categories and rng.random() < 0.5:
        body["legal_basis"] = "vital_interest"
    if "eviction_risk" in case.categories and rng.random() < 0.5:
        body["legal_basis"] = "statutory_duty"
    return body


# The two demo housing systems' department numbers and codes (services/intake/mappings/*.yaml).
SYSTEM_A_DEPARTMENTS = {"holbaek-1": "HB-101", "holbaek-2": "HB-102", "hoeng-1": "HO-201", "odense-1": "OD-401"}
SYSTEM_A_CATEGORIES = {
    "neighbour_conflict": "NABO",
    "noise": "STOEJ",
    "rent_arrears": "RESTANCE",
    "loneliness": "ENSOM",
}
SYSTEM_B_DEPARTMENTS = {"holbaek-1": 1101, "kalundborg-1": 2202, "roskilde-1": 3301, "aarhus-1": 5501}
SYSTEM_B_CATEGORIES = {"neglect_of_dwelling": "3", "odour_nuisance": "4", "dementia_signs": "2", "noise": "8"}


def inbound_payload(rng: random.Random, system: str, external_id: str, now: datetime) -> dict[str, Any]:
    """A raw concern in one of the two demo systems' own formats."""
    observed = (now - timedelta(hours=rng.uniform(1, 48))).astimezone(UTC).isoformat()
    if system == "ejendomssystem-a":
        department = rng.choice(list(SYSTEM_A_DEPARTMENTS))
        return {
            "afdelingsnr": SYSTEM_A_DEPARTMENTS[department],
            "lejemaalsnr": f"{rng.randint(1, 30)}-{rng.randint(1, 99):04d}",
            "sagstyper": [rng.choice(list(SYSTEM_A_CATEGORIES.values()))],
            "alvor": str(rng.randint(1, 3)),
            "beskrivelse": "Registreret af driften i ejendomssystemet (demo).",
            "observeret_tid": observed,
            "samtykke": rng.choice(("J", "U")),
            "indberetter": {"funktion": "VICEVAERT", "navn": "Driftsmedarbejder (demo)"},
        }
    department = rng.choice(list(SYSTEM_B_DEPARTMENTS))
    return {
        "report": {
            "estateNo": SYSTEM_B_DEPARTMENTS[department],
            "unit": str(rng.randint(1, 200)),
            "concernTypes": [{"code": rng.choice(list(SYSTEM_B_CATEGORIES.values()))}],
            "urgency": rng.randint(0, 2),
            "details": "Indmeldt via beboerappen af en afdelingsbestyrelse (demo).",
            "observedAt": observed,
        },
        "submittedBy": {"kind": "board_member", "displayName": "Afdelingsbestyrelsen (demo)"},
    }
