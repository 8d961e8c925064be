"""Scopes and the client registry, with in-memory records only."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.auth.admin import new_client, revoked
from shared.auth.principal import Principal, Role
from shared.auth.registry import ClientRegistry
from shared.auth.tokens import token_hash

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("principal", "scope", "expected"),
    [
        (Principal("c", Role.MUNICIPALITY, municipality_code="0316"), {"municipality_code": "0316"}, True),
        (Principal("c", Role.MUNICIPALITY, municipality_code="0316"), {"municipality_code": "0326"}, False),
        (Principal("c", Role.MUNICIPALITY, municipality_code="0316"), {"department_id": "holbaek-1"}, False),
        (
            Principal("c", Role.CONSULTANT, department_ids=frozenset({"holbaek-1"})),
            {"department_id": "holbaek-1"},
            True,
        ),
        (Principal("c", Role.CONSULTANT, department_ids=frozenset({"holbaek-1"})), {"department_id": "hoeng-1"}, False),
        (Principal("c", Role.ASSOCIATION, department_ids=frozenset({"holbaek-1"})), {}, False),
        (Principal("c", Role.REPORTER, organisation_id="org-demo"), {"organisation_id": "org-demo"}, True),
        (Principal("c", Role.REPORTER, organisation_id="org-demo"), {"organisation_id": "org-other"}, False),
        (
            Principal("c", Role.REPORTER, organisation_id="org-demo", department_ids=frozenset({"holbaek-1"})),
            {"organisation_id": "org-demo", "department_id": "hoeng-1"},
            False,
        ),
        (Principal("c", Role.ADMIN), {"municipality_code": "0101"}, True),
        (Principal("c", Role.OPS), {"department_id": "anything"}, True),
    ],
)
def test_scope(principal: Principal, scope: dict[str, str], expected: bool) -> None:
    assert principal.covers(**scope) is expected


def test_registry_authenticates_by_hash_and_honours_revocation_and_expiry() -> None:
    registry = ClientRegistry()
    issued = new_client(name="Holbæk Kommune", role=Role.MUNICIPALITY, municipality_code="0316")
    registry.apply(issued.record.client_id, issued.record)

    principal = registry.authenticate(issued.token)
    assert principal is not None and principal.municipality_code == "0316"
    assert issued.token not in issued.record.model_dump_json()  # only the hash is kept
    assert issued.record.token_sha256 == token_hash(issued.token)
    assert registry.authenticate(issued.token + "x") is None

    registry.apply(issued.record.client_id, revoked(issued.record))
    assert registry.authenticate(issued.token) is None

    expiring = new_client(name="ops", role=Role.OPS, expires_in=timedelta(days=1))
    registry.apply(expiring.record.client_id, expiring.record)
    assert registry.authenticate(expiring.token) is not None
    assert registry.authenticate(expiring.token, now=datetime.now(UTC) + timedelta(days=2)) is None

    registry.apply(expiring.record.client_id, None)  # a tombstone forgets the client
    assert registry.authenticate(expiring.token) is None


@pytest.mark.parametrize(
    ("role", "kwargs", "problem"),
    [
        (Role.MUNICIPALITY, {}, "--municipality"),
        (Role.CONSULTANT, {}, "--department"),
        (Role.REPORTER, {}, "--organisation"),
    ],
)
def test_new_client_requires_the_scope_of_its_role(role: Role, kwargs: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        new_client(name="x", role=role, **kwargs)
