"""A person's verified access-token claims as a Principal: role from `crp_role`, scope from the role's claims."""

import re
from typing import Any

from shared.auth.principal import Principal, Role

PERSON_PREFIX = "person:"
"""client_id of a person: `person:<preferred_username or sub>`; what audit records and actor ids name."""
MUNICIPALITY_CODE = re.compile(r"^[0-9]{4}$")
BY_DEPARTMENTS = frozenset({Role.REPORTER, Role.CONSULTANT, Role.ASSOCIATION})
"""Roles whose scope is (or may be narrowed to) departments (Principal.covers)."""


class PersonNotAllowed(Exception):
    """A genuine token whose claims give no platform role or no scope for it (403): the provider's set-up is wrong."""


def principal_of(claims: dict[str, Any]) -> Principal:
    """The Principal a person's claims describe; PersonNotAllowed when the role is unknown or its scope is missing."""
    username = _text(claims.get("preferred_username")) or _text(claims.get("sub"))
    if username is None:
        raise PersonNotAllowed("The token names no person (no preferred_username or sub).")
    try:
        role = Role(claims.get("crp_role"))
    except ValueError:
        raise PersonNotAllowed("The token carries no platform role (crp_role).") from None
    departments = _texts(claims.get("departments"))
    organisation = _text(claims.get("organisation"))
    municipality = _text(claims.get("municipality"))
    if role is Role.MUNICIPALITY and (municipality is None or not MUNICIPALITY_CODE.match(municipality)):
        raise PersonNotAllowed("A municipality's token must carry its municipality code (municipality).")
    if role is Role.REPORTER and organisation is None:
        raise PersonNotAllowed("A reporter's token must carry an organisation (organisation).")
    if role is Role.CONSULTANT and not departments:
        raise PersonNotAllowed("A consultant's token must carry departments (departments).")
    return Principal(
        client_id=PERSON_PREFIX + username,
        role=role,
        organisation_id=organisation if role in (Role.REPORTER, Role.CONSULTANT) else None,
        municipality_code=municipality if role is Role.MUNICIPALITY else None,
        department_ids=frozenset(departments) if role in BY_DEPARTMENTS else frozenset(),
    )


def is_person(principal: Principal) -> bool:
    """True for a person signed in through the identity provider, False for an API client."""
    return principal.client_id.startswith(PERSON_PREFIX)


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _texts(value: object) -> list[str]:
    """A list claim; a provider may send a single value as a plain string."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [text for item in value if (text := _text(item)) is not None]
