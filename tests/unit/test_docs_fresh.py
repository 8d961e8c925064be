"""The committed JSON Schemas and AsyncAPI document match the contracts they are generated from."""

import json
from pathlib import Path

import pytest
import yaml

from shared.contracts.docgen import check, render, stale_docs, write
from shared.contracts.registry import EVENT_TYPES

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_committed_docs_are_up_to_date() -> None:
    stale = stale_docs(ROOT)
    assert not stale, f"generated docs are out of date: {', '.join(stale)}; run `make docs` and commit them"


def test_render_is_deterministic_and_covers_every_event_type() -> None:
    first, second = render(), render()

    assert first == second
    assert {f"schemas/{event_type}.json" for event_type in EVENT_TYPES} <= set(first)
    assert {"schemas/inbound-concern.json", "schemas/api-client-record.json", "asyncapi.yaml"} <= set(first)


def test_schemas_are_draft_2020_12_with_an_id_and_the_type_pinned() -> None:
    for event_type in EVENT_TYPES:
        schema = json.loads(render()[f"schemas/{event_type}.json"])
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(f"/{event_type}.json") and schema["title"] and schema["description"]
        assert schema["properties"]["type"]["const"] == event_type
        assert schema["examples"][0]["type"] == event_type


def test_asyncapi_document_has_every_topic_message_and_dlq_header() -> None:
    document = yaml.safe_load(render()["asyncapi.yaml"])

    assert document["asyncapi"] == "3.0.0" and "Versioning" in document["info"]["description"]
    assert set(EVENT_TYPES) <= set(document["components"]["messages"])
    assert {"concern-inbound", "concern-events.dlq", "api-clients"} <= set(document["channels"])
    headers = document["components"]["schemas"]["dead-letter-headers"]["properties"]
    assert {"dlq-reason", "dlq-error", "dlq-origin-offset", "dlq-failed-at"} <= set(headers)
    for operation in document["operations"].values():
        assert operation["action"] in ("send", "receive")
        assert operation["channel"]["$ref"].removeprefix("#/channels/") in document["channels"]


def test_check_reports_changed_missing_and_orphaned_files(tmp_path: Path) -> None:
    write(tmp_path)
    assert check(tmp_path) == []

    (tmp_path / "asyncapi.yaml").write_text("stale\n")
    (tmp_path / "schemas" / "concern.reported.v1.json").unlink()
    (tmp_path / "schemas" / "concern.reported.v0.json").write_text("{}\n")

    assert check(tmp_path) == ["asyncapi.yaml", "schemas/concern.reported.v0.json", "schemas/concern.reported.v1.json"]
    assert len(write(tmp_path)) == 3 and check(tmp_path) == []
