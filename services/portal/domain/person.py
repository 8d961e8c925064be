"""Who is logged in: the person's role and scope, read from the provider's ID-token claims."""

from dataclasses import dataclass, field
from typing import Any

ROLES = ("reporter", "consultant", "municipality", "association", "ops", "admin")

ROLE_NAMES = {
    "reporter": "Indberetter",
    "consultant": "Boligsocial konsulent",
    "municipality": "Kommune",
    "association": "Forening",
    "ops": "Drift",
    "admin": "Administrator",
}


@dataclass(frozen=True)
class Person:
    """The logged-in person, as the provider describes them (claims `crp_role`, `departments`, ...)."""

    subject: str
    role: str | None
    username: str | None = None
    name: str | None = None
    email: str | None = None
    departments: tuple[str, ...] = field(default_factory=tuple)
    municipality: str | None = None
    organisation: str | None = None

    @property
    def role_name(self) -> str:
        """The role in Danish ("ukendt rolle" when the provider gave none we know)."""
        return ROLE_NAMES.get(self.role or "", "Ukendt rolle")

    @property
    def display_name(self) -> str:
        """What the page header shows."""
        return self.name or self.username or "Ukendt bruger"

    def has_role(self, *roles: str) -> bool:
        """True when the person's role is one of `roles`."""
        return self.role in roles

    def to_dict(self) -> dict[str, Any]:
        """For the sealed session."""
        return {
            "subject": self.subject,
            "role": self.role,
            "username": self.username,
            "name": self.name,
            "email": self.email,
            "departments": list(self.departments),
            "municipality": self.municipality,
            "organisation": self.organisation,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Person":
        """The inverse of `to_dict`."""
        return cls(**{**data, "departments": tuple(data.get("departments") or ())})


def _one(value: Any) -> str | None:
    """A claim that should be one string (Keycloak may send a one-element list)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else None


def _many(value: Any) -> tuple[str, ...]:
    """A claim that should be a list of strings (a single string or a comma-separated one is accepted)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    return tuple(str(v) for v in value if v)


def person_from_claims(claims: dict[str, Any]) -> Person:
    """The person an ID token (or userinfo) describes; an unknown role is kept as None (no page is allowed)."""
    role = _one(claims.get("crp_role"))
    return Person(
        subject=str(claims["sub"]),
        role=role if role in ROLES else None,
        username=_one(claims.get("preferred_username")),
        name=_one(claims.get("name")),
        email=_one(claims.get("email")),
        departments=_many(claims.get("departments")),
        municipality=_one(claims.get("municipality")),
        organisation=_one(claims.get("organisation")),
    )
