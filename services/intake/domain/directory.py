"""Reference data: departments (afdelinger) and who serves them, as intake knows them."""

from dataclasses import dataclass, field

from shared.auth.principal import Principal


@dataclass(frozen=True)
class Department:
    """A department / estate of a housing organisation, in one municipality."""

    id: str
    organisation_id: str
    name: str
    municipality_code: str
    tenancies: int
    consultants: tuple[str, ...] = ()
    associations: tuple[str, ...] = ()


@dataclass
class Directory:
    """The departments intake accepts concerns for, by id."""

    departments: dict[str, Department] = field(default_factory=dict)
    loaded: bool = False
    version: str = ""
    """Version of the reference directory the departments come from."""

    def replace(self, departments: list[Department], version: str = "") -> None:
        """Swap in freshly loaded departments."""
        self.departments = {d.id: d for d in departments}
        self.version = version
        self.loaded = True

    def get(self, department_id: str) -> Department | None:
        """The department, or None when there is no such department."""
        return self.departments.get(department_id)

    def visible_to(self, principal: Principal) -> list[Department]:
        """The departments in the caller's scope, by id."""
        return sorted(
            (d for d in self.departments.values() if in_scope(principal, d)),
            key=lambda d: d.id,
        )


def in_scope(principal: Principal, department: Department) -> bool:
    """Whether a department lies in the caller's scope (organisation, departments or municipality)."""
    return principal.covers(
        department_id=department.id,
        municipality_code=department.municipality_code,
        organisation_id=department.organisation_id,
    )
