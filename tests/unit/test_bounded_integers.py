"""Every number a caller sends is bounded: each integer or number in every service's OpenAPI document, whether
a path, query or header parameter or a field of a request body, has a minimum and a maximum.

An unbounded one reaches PostgreSQL (`offset=99999999999999999999` was a 500 from routing) or a computation;
bounded, it is a 422 naming the parameter (tests/e2e/test_security_owasp.py sends the huge values).
"""

from collections.abc import Iterator
from typing import Any

import pytest

from services.intake.bootstrap import build_app as intake_app
from services.intake.settings import IntakeSettings
from services.notify.bootstrap import build_app as notify_app
from services.notify.settings import NotifySettings
from services.routing.bootstrap import build_app as routing_app
from services.routing.settings import RoutingSettings
from services.stats.bootstrap import build_app as stats_app
from services.stats.settings import StatsSettings

pytestmark = pytest.mark.unit

SETTINGS = {
    "database_url": "postgresql://nobody@127.0.0.1/nothing",
    "subject_key_secret": "s" * 32,
    "master_key": "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
    "local_dev": True,  # the demo clock's routes too
}
SERVICES = {
    "intake": lambda: intake_app(IntakeSettings(**SETTINGS)),
    "routing": lambda: routing_app(RoutingSettings(**SETTINGS)),
    "notify": lambda: notify_app(NotifySettings(**SETTINGS)),
    "stats": lambda: stats_app(StatsSettings(**SETTINGS)),
}


def numbers(schema: dict[str, Any], where: str, document: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple]:
    """(where, schema) of every integer or number in `schema`, following $refs (components and local $defs)."""
    seen: set[str] = set()

    def walk(node: dict[str, Any], where: str) -> Iterator[tuple]:
        if "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                return
            seen.add(ref)
            *_, kind, name = ref.split("/")
            target = document["components"]["schemas"][name] if kind == "schemas" else root["$defs"][name]
            yield from walk(target, f"{where}<{name}>")
            seen.discard(ref)
            return
        if node.get("type") in ("integer", "number"):
            yield where, node
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key, []):
                yield from walk(sub, where)
        for name, sub in node.get("properties", {}).items():
            yield from walk(sub, f"{where}.{name}")
        if isinstance(node.get("items"), dict):
            yield from walk(node["items"], f"{where}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], f"{where}{{}}")

    yield from walk(schema, where)


def inputs(document: dict[str, Any]) -> Iterator[tuple]:
    """Every number a caller may send to the document's operations, by where it goes."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                yield from numbers(parameter.get("schema", {}), where, document, {})
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                schema = content.get("schema", {})
                yield from numbers(schema, f"{method.upper()} {path} body ({media})", document, schema)


@pytest.mark.parametrize("service", SERVICES)
def test_every_number_a_caller_sends_has_a_minimum_and_a_maximum(service: str) -> None:
    document = SERVICES[service]().openapi()
    found = list(inputs(document))
    unbounded = [where for where, schema in found if "minimum" not in schema or "maximum" not in schema]
    assert not unbounded, f"{service}: bound these (ge=, le=): {unbounded}"
    assert found or service == "stats", "the walk found no number at all: it would pass for any document"


def test_the_walk_finds_an_unbounded_number_in_a_body_and_in_a_query() -> None:
    document = {
        "paths": {
            "/x": {
                "get": {"parameters": [{"in": "query", "name": "offset", "schema": {"type": "integer", "minimum": 0}}]},
                "put": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}
                },
            }
        },
        "components": {"schemas": {"B": {"properties": {"n": {"anyOf": [{"type": "number"}, {"type": "null"}]}}}}},
    }
    assert [where for where, _ in inputs(document)] == ["GET /x query offset", "PUT /x body (application/json)<B>.n"]


@pytest.mark.parametrize("instant", ["9999-12-30T23:00:00Z", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00"])
def test_a_simulated_arrival_no_due_time_can_follow_is_a_field_error(instant: str) -> None:
    """Routing counts due times in working days after `reported_at`: 9999-12-30 was an overflow and a 500."""
    from pydantic import ValidationError

    from services.routing.entrypoints.schemas import SimulationRequest

    with pytest.raises(ValidationError) as refused:
        SimulationRequest(reported_at=instant)
    assert [e["loc"] for e in refused.value.errors()] == [("reported_at",)]
    assert "must lie between 2000-01-01 and 3000-01-01" in str(refused.value)
    assert SimulationRequest(reported_at="2026-12-03T10:00:00Z").reported_at is not None
