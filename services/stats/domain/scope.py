"""What a caller may see of the statistics: all, one municipality, or some departments."""

from dataclasses import dataclass

from shared.auth.principal import PLATFORM_WIDE, Principal, Role
from shared.contracts.health import HEALTH_CATEGORIES


class OutOfScope(Exception):
    """The caller asked for figures outside its scope; `field` names the query parameter."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Selection:
    """The rows a request reads: None means no restriction on that dimension."""

    municipalities: frozenset[str] | None = None
    departments: frozenset[str] | None = None
    category: str | None = None
    compare_with_other_municipalities: str | None = None
    """A municipality code when the caller is that municipality (it gets anonymous comparisons)."""
    hidden_categories: frozenset[str] = frozenset()
    """Categories the caller never sees, not even counted (health categories, for associations)."""

    def allows_department(self, department_id: str, municipality_code: str) -> bool:
        """Whether a department's figures are in the selection."""
        return (self.departments is None or department_id in self.departments) and (
            self.municipalities is None or municipality_code in self.municipalities
        )


def select(
    principal: Principal, *, municipality: str | None, department: str | None, category: str | None
) -> Selection:
    """The caller's scope narrowed by the request's filters; raises OutOfScope for a filter beyond the scope."""
    if principal.role in PLATFORM_WIDE:
        municipalities, departments, compare = None, None, None
    elif principal.role is Role.MUNICIPALITY and principal.municipality_code:
        municipalities, departments = frozenset({principal.municipality_code}), None
        compare = principal.municipality_code
    elif principal.role in (Role.CONSULTANT, Role.ASSOCIATION):
        municipalities, departments, compare = None, frozenset(principal.department_ids), None
    else:
        raise PermissionError(f"Role {principal.role.value} may not read statistics.")
    hidden = frozenset(HEALTH_CATEGORIES) if principal.role is Role.ASSOCIATION else frozenset()
    if category is not None and category in hidden:
        raise OutOfScope("category", "outside the caller's scope")
    if municipality is not None:
        if municipalities is not None and municipality not in municipalities:
            raise OutOfScope("municipality", "outside the caller's scope")
        municipalities = frozenset({municipality})
    if department is not None:
        if departments is not None and department not in departments:
            raise OutOfScope("department", "outside the caller's scope")
        departments = frozenset({department})
    return Selection(municipalities, departments, category, compare, hidden)
