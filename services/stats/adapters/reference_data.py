"""The stats service's reference data (departments, tenancies, names) from the directory intake owns."""

from services.stats.domain.reference import Department, ReferenceData
from shared.contracts.reference import ReferenceDirectory


def reference_from_directory(directory: ReferenceDirectory) -> ReferenceData:
    """Departments with their tenancies, municipality and organisation names, as the directory gives them."""
    departments = {
        d.id: Department(
            id=d.id,
            name=d.name,
            organisation_id=organisation_id,
            municipality_code=d.municipality_code,
            tenancies=d.tenancies,
        )
        for organisation_id, d in directory.departments()
    }
    municipalities = {code: m.name for code, m in directory.municipalities.items()}
    organisations = {o.id: o.name for o in directory.organisations}
    children = frozenset(m.children_entry for m in directory.municipalities.values() if m.children_entry)
    return ReferenceData(
        departments, municipalities, organisations, version=directory.version, children_entries=children
    )
