"""Who is calling: an API client's role and the scope its token covers."""

from dataclasses import dataclass

from shared.contracts.vocabulary import ClientRole as Role

PLATFORM_WIDE = frozenset({Role.OPS, Role.ADMIN})


@dataclass(frozen=True)
class Principal:
    """An authenticated API client. Scope: a municipality code, departments, or an organisation."""

    client_id: str
    role: Role
    organisation_id: str | None = None
    municipality_code: str | None = None
    department_ids: frozenset[str] = frozenset()

    def covers(
        self,
        *,
        department_id: str | None = None,
        municipality_code: str | None = None,
        organisation_id: str | None = None,
    ) -> bool:
        """True when an object of this department / municipality / organisation is in the caller's scope."""
        if self.role in PLATFORM_WIDE:
            return True
        if self.role is Role.MUNICIPALITY:
            return municipality_code is not None and municipality_code == self.municipality_code
        if self.role is Role.REPORTER:
            if organisation_id is not None and organisation_id != self.organisation_id:
                return False
            if not self.department_ids:
                return self.organisation_id is not None and organisation_id == self.organisation_id
            return department_id in self.department_ids
        return department_id is not None and department_id in self.department_ids
