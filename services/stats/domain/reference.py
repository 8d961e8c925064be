"""Reference data: departments (afdelinger) with their municipality and number of tenancies."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Department:
    """One estate of a housing organisation; `tenancies` is the denominator of its concern rate."""

    id: str
    name: str
    organisation_id: str
    municipality_code: str
    tenancies: int


@dataclass(frozen=True)
class ReferenceData:
    """Departments by id, municipality and organisation names; built from the reference directory (intake owns it)."""

    departments: dict[str, Department] = field(default_factory=dict)
    municipalities: dict[str, str] = field(default_factory=dict)
    organisations: dict[str, str] = field(default_factory=dict)
    version: str = ""
    """Version of the reference directory these come from ("" before the first one arrived)."""
    children_entries: frozenset[str] = frozenset()
    """The municipalities' children and youth entries: a referral to one is an underretning (barnets lov)."""

    def municipality_name(self, code: str) -> str:
        """The municipality's name, or its code when unknown."""
        return self.municipalities.get(code, code)

    def department_name(self, department_id: str) -> str:
        """The department's name, or its id when unknown."""
        department = self.departments.get(department_id)
        return department.name if department else department_id

    def tenancies(self, department_id: str) -> int | None:
        """Number of tenancies of a department, None when it is not in the reference data."""
        department = self.departments.get(department_id)
        return department.tenancies if department else None
