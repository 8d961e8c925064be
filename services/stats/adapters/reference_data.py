"""Loading the reference data file (departments, tenancies, municipality names) once at start."""

from pathlib import Path

import yaml

from services.stats.domain.reference import Department, ReferenceData

DEFAULT_FILE = Path(__file__).resolve().parents[1] / "data" / "departments.yaml"


def load_reference(path: Path = DEFAULT_FILE) -> ReferenceData:
    """Read and check the YAML file; a bad entry fails the start with the entry and field named."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    departments: dict[str, Department] = {}
    for index, entry in enumerate(raw.get("departments") or []):
        try:
            department = Department(
                id=str(entry["id"]),
                name=str(entry["name"]),
                organisation_id=str(entry["organisation"]),
                municipality_code=str(entry["municipality"]),
                tenancies=int(entry["tenancies"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: departments[{index}]: missing or invalid {error}") from None
        if department.tenancies <= 0:
            raise ValueError(f"{path}: departments[{index}].tenancies must be positive")
        departments[department.id] = department
    municipalities = {str(code): str(name) for code, name in (raw.get("municipalities") or {}).items()}
    organisations = {str(key): str(name) for key, name in (raw.get("organisations") or {}).items()}
    return ReferenceData(departments, municipalities, organisations)
