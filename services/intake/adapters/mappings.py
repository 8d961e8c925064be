"""Declarative inbound mappings: a source system's payload to the concern model, with JMESPath and code lists."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.intake.domain.report import ConcernReport
from shared.contracts.inbound import SystemId

TARGETS = frozenset(
    {
        "department_id", "tenancy_id", "categories", "severity", "description", "observed_at", "consent",
        "legal_basis", "reporter.role", "reporter.name", "reporter.contact", "resident.name", "resident.address",
        "resident.phone", "resident.email", "resident.date_of_birth", "children_in_household", "danger_confirmed",
    }
)  # fmt: skip
"""Fields of ConcernReport a mapping may fill (external_ref always comes from the inbound message)."""


class MappingError(ValueError):
    """A payload does not map: every field at fault with its problem, never a value."""

    def __init__(self, *problems: tuple[str, str]):
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems))
        self.problems = problems
        self.fields = tuple(dict.fromkeys(field for field, _ in problems))
        self.field = self.fields[0]


class _MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: SystemId
    description: str = ""
    fields: dict[str, str] = Field(min_length=1)
    codes: dict[str, dict[str, str]] = {}
    defaults: dict[str, Any] = {}


@dataclass(frozen=True)
class InboundMapping:
    """One source system's mapping, with its expressions compiled."""

    system: str
    expressions: dict[str, Any]
    codes: dict[str, dict[str, str]]
    defaults: dict[str, Any]

    def apply(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as a concern report body (not yet validated); MappingError naming every unknown code."""
        result, unknown = self.translate(payload)
        if unknown:
            raise MappingError(*((target, UNKNOWN_CODE) for target in unknown))
        return result

    def translate(self, payload: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The payload as a concern report body without the fields whose codes are unknown, and those fields."""
        result: dict[str, Any] = {}
        unknown = []
        for target in sorted(set(self.expressions) | set(self.defaults)):
            expression = self.expressions.get(target)
            value = expression.search(payload) if expression is not None else None
            if value is None or value == []:
                value = self.defaults.get(target)  # defaults are already in the platform's vocabulary
            elif target in self.codes:
                value = self._translate(target, value)
                if value is None:
                    unknown.append(target)
            if value is not None:
                _put(result, target, value)
        return result, unknown

    def _translate(self, target: str, value: Any) -> Any:
        # None when a code (or one code of a list) is not in the system's code list.
        table = self.codes[target]
        if isinstance(value, list):
            items = [self._translate(target, item) for item in value]
            return None if None in items else items
        code = value.strip() if isinstance(value, str) else json.dumps(value)
        return table.get(code)


UNKNOWN_CODE = "code not in the system's code list"


def _put(result: dict[str, Any], target: str, value: Any) -> None:
    *parents, leaf = target.split(".")
    node = result
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


def read_mapping(path: Path) -> InboundMapping:
    """Parse and check one mapping file; ValueError naming the file and the problem."""
    spec = _MappingFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    if spec.system != path.stem:
        raise ValueError(f"{path.name}: system {spec.system} does not match the file name")
    unknown = (set(spec.fields) | set(spec.codes) | set(spec.defaults)) - TARGETS
    if unknown:
        raise ValueError(f"{path.name}: unknown target field(s) {', '.join(sorted(unknown))}")
    try:
        expressions = {target: jmespath.compile(text) for target, text in spec.fields.items()}
    except JMESPathError as error:
        raise ValueError(f"{path.name}: invalid JMESPath expression: {error}") from None
    return InboundMapping(spec.system, expressions, spec.codes, spec.defaults)


def load_mappings(directory: Path) -> dict[str, InboundMapping]:
    """Every mapping in the directory, by system id."""
    return {m.system: m for m in (read_mapping(p) for p in sorted(directory.glob("*.yaml")))}


def map_inbound(mapping: InboundMapping, payload: dict[str, Any], external_id: str) -> ConcernReport:
    """The inbound payload as a checked concern report; otherwise MappingError naming every field at fault."""
    try:
        body, unknown = mapping.translate(payload)
    except JMESPathError:
        raise MappingError(("payload", "the mapping's expressions do not fit the payload")) from None
    body["external_ref"] = {"system": mapping.system, "id": external_id}
    problems = [(target, UNKNOWN_CODE) for target in unknown]
    try:
        report = ConcernReport.model_validate(body)
    except ValidationError as error:
        # A field left out for its unknown code is named for that, not again as missing.
        problems += [p for p in _problems(error) if p[0] not in unknown]
    if problems:
        raise MappingError(*problems)
    return report


def _problems(error: ValidationError) -> list[tuple[str, str]]:
    # Our validators' messages name rules, not values; pydantic's own may quote the input, so only its type.
    return [
        (
            ".".join(str(part)[:64] for part in item["loc"]) or "(body)",
            str(item["msg"]).removeprefix("Value error, ") if item["type"] == "value_error" else item["type"],
        )
        for item in error.errors(include_input=False)
    ]
