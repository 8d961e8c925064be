"""Generated documents: a JSON Schema per message and the AsyncAPI document, checked for freshness."""

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from shared.contracts.asyncapi import asyncapi_document
from shared.contracts.clients import ApiClientRecord
from shared.contracts.envelope import envelope_schema
from shared.contracts.examples import documented_examples
from shared.contracts.inbound import InboundConcern
from shared.contracts.reference import ReferenceDirectory
from shared.contracts.registry import EVENT_MODELS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URI = "https://concern-platform.example/schemas/"
PLAIN_SCHEMAS: dict[str, type[BaseModel]] = {
    "inbound-concern": InboundConcern,
    "api-client-record": ApiClientRecord,
    "reference-directory": ReferenceDirectory,
}
"""Schemas of the messages that are not CloudEvents, by file name."""


def render() -> dict[str, str]:
    """Every generated document, by path relative to the docs folder, as text."""
    examples = documented_examples()
    docs: dict[str, str] = {}
    for model in EVENT_MODELS:
        schema = envelope_schema(model, ref_template="#/$defs/{model}")
        docs[f"schemas/{model.event_type}.json"] = _json(
            _standalone(model.event_type, schema, examples[model.event_type])
        )
    for name, model in PLAIN_SCHEMAS.items():
        schema = model.model_json_schema()
        docs[f"schemas/{name}.json"] = _json(_standalone(name, schema, examples[name]))
    docs["asyncapi.yaml"] = _yaml(asyncapi_document())
    return docs


def write(docs_dir: Path) -> list[Path]:
    """Write the documents that changed and remove schemas no model produces; returns what changed."""
    rendered = render()
    changed: list[Path] = []
    for relative, text in rendered.items():
        path = docs_dir / relative
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    for orphan in _orphans(docs_dir, rendered):
        orphan.unlink()
        changed.append(orphan)
    return changed


def check(docs_dir: Path) -> list[str]:
    """Paths (relative to the docs folder) that are missing, out of date, or no longer generated."""
    rendered = render()
    stale = [
        relative
        for relative, text in rendered.items()
        if not (docs_dir / relative).is_file() or (docs_dir / relative).read_text(encoding="utf-8") != text
    ]
    stale += [orphan.relative_to(docs_dir).as_posix() for orphan in _orphans(docs_dir, rendered)]
    return sorted(stale)


def generate_docs(root: Path) -> list[Path]:
    """Regenerate `docs/` under the project root; returns the files written or removed."""
    return write(root / "docs")


def stale_docs(root: Path) -> list[str]:
    """The generated files under `docs/` of the project root that `generate_docs` would change."""
    return [f"docs/{relative}" for relative in check(root / "docs")]


def _standalone(name: str, schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMA_BASE_URI}{name}.json",
        **schema,
        "examples": [example],
    }


def _orphans(docs_dir: Path, rendered: dict[str, str]) -> list[Path]:
    schemas = docs_dir / "schemas"
    if not schemas.is_dir():
        return []
    return sorted(path for path in schemas.glob("*.json") if f"schemas/{path.name}" not in rendered)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _Dumper(yaml.SafeDumper):
    """Sorted, block-style YAML; multi-line strings as literal blocks for readable descriptions."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=True, allow_unicode=True, width=110)
