"""What changed between two versions of the rules document: per rule and per entry, and as a YAML text diff."""

import difflib
from dataclasses import dataclass, field
from typing import Any

import yaml

ABSENT: Any = None
"""How a field that one side does not have shows in a change (`before` or `after`)."""


@dataclass(frozen=True)
class FieldChange:
    """One field that differs, by its dotted path within the rule, entry or document."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class EntryChange:
    """A rule (or a recipient, or another keyed entry) present in both versions, with its changed fields."""

    id: str
    fields: list[FieldChange]


@dataclass
class SectionDiff:
    """The entries of one keyed section (rules by id, municipalities by code, ...) that were added, removed, changed."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[EntryChange] = field(default_factory=list)
    reordered: bool = False
    """The entries both versions have stand in another order (rules fire, and are listed, in document order)."""

    @property
    def empty(self) -> bool:
        """Nothing changed in the section."""
        return not (self.added or self.removed or self.changed or self.reordered)


@dataclass(frozen=True)
class DocumentDiff:
    """A structured diff: `rules` always, other keyed sections when they changed, and the remaining fields."""

    rules: SectionDiff
    sections: dict[str, SectionDiff]
    fields: list[FieldChange]


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """The leaves that differ: dicts key by key, lists of equal length item by item, anything else whole."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [*before, *(k for k in after if k not in before)]
        return [c for k in keys for c in field_changes(before.get(k, ABSENT), after.get(k, ABSENT), _join(path, k))]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        pairs = list(zip(before, after, strict=True))
        if all(isinstance(b, dict) and isinstance(a, dict) for b, a in pairs):
            return [c for i, (b, a) in enumerate(pairs) for c in field_changes(b, a, _join(path, i))]
    return [FieldChange(path or "document", before, after)]


def section_diff(before: dict[str, Any], after: dict[str, Any]) -> SectionDiff:
    """Entries by id: which were added, removed, or changed (and in which fields)."""
    common_before = [k for k in before if k in after]
    common_after = [k for k in after if k in before]
    return SectionDiff(
        added=[k for k in after if k not in before],
        removed=[k for k in before if k not in after],
        changed=[EntryChange(k, changes) for k in common_after if (changes := field_changes(before[k], after[k]))],
        reordered=common_before != common_after,
    )


def _by_id(rules: Any) -> dict[str, Any]:
    if not isinstance(rules, list):
        return {}
    return {str(r.get("id", i)) if isinstance(r, dict) else str(i): r for i, r in enumerate(rules)}


def _keyed(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, dict) for v in value.values())


def document_diff(before: dict[str, Any], after: dict[str, Any]) -> DocumentDiff:
    """The structured diff of two documents (plain data, as `rules_store.readable` gives them)."""
    sections: dict[str, SectionDiff] = {}
    fields: list[FieldChange] = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key == "rules":
            continue
        old, new = before.get(key, ABSENT), after.get(key, ABSENT)
        if (_keyed(old) or old in (ABSENT, {})) and (_keyed(new) or new in (ABSENT, {})) and (old or new):
            diff = section_diff(old or {}, new or {})
            if not diff.empty:
                sections[key] = diff
        else:
            fields.extend(field_changes(old, new, key))
    rules = section_diff(_by_id(before.get("rules")), _by_id(after.get("rules")))
    return DocumentDiff(rules=rules, sections=sections, fields=fields)


def as_yaml(document: dict[str, Any]) -> str:
    """The document as an admin writes it: YAML in the document's order, Danish letters as they are."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120)


def unified(before: dict[str, Any] | None, after: dict[str, Any], *, before_name: str, after_name: str) -> str:
    """A unified diff of the two documents' YAML (`before` None: everything is new)."""
    old = as_yaml(before).splitlines(keepends=True) if before is not None else []
    new = as_yaml(after).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, fromfile=before_name, tofile=after_name, n=3))
