"""Helpers for intake's tests: its settings on a test's topics and database, the app in-process, sample bodies."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from services.intake.bootstrap import build_app
from services.intake.settings import IntakeSettings
from shared.auth.admin import IssuedClient, new_client, publish_record
from shared.auth.principal import Role
from shared.kafka.admin import ensure_topics
from shared.kafka.config import client_config, partitions_of
from tests.support.databases import migrated_database
from tests.support.polling import eventually

MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY="
SUBJECT_KEY_SECRET = "test-subject-key-secret-0123456789"


def intake_settings(database_url: str, kafka_bootstrap: str, topic_prefix: str, **overrides: Any) -> IntakeSettings:
    """Settings of an intake instance on a test's own database and topics."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "topic_prefix": topic_prefix,
        "topic_partitions": 3,
        "subject_key_secret": SUBJECT_KEY_SECRET,
        "master_key": MASTER_KEY,
        "environment": "test",
        "outbox_poll_interval_s": 0.5,
    }
    return IntakeSettings(**(values | overrides))


@contextlib.asynccontextmanager
async def running_intake(settings: IntakeSettings, *tokens: str) -> AsyncIterator[httpx.AsyncClient]:
    """The intake app in this process (lifespan and all), with a client; waits until `tokens` are known."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test", timeout=30) as client:
            await wait_until_serving(client, *tokens)
            yield client


async def wait_until_serving(client: httpx.AsyncClient, *tokens: str) -> None:
    """Wait for readiness and until each token authenticates."""

    async def ready() -> bool:
        return (await client.get("/readyz")).status_code == 200

    await eventually(ready, within=60, what="intake ready")
    for token in tokens:

        async def known(token: str = token) -> bool:
            return (await client.get("/v1/whoami", headers=bearer(token))).status_code == 200

        await eventually(known, within=30, what="the client reaching intake")


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def concern_body(**overrides: Any) -> dict[str, Any]:
    """A valid, clearly fictional report for holbaek-1; override any field."""
    body: dict[str, Any] = {
        "department_id": "holbaek-1",
        "tenancy_id": f"101-{uuid.uuid4().hex[:6]}",
        "categories": ["odour_nuisance", "neglect_of_dwelling"],
        "severity": "medium",
        "description": "Stærk lugt fra lejligheden i flere uger; post hober sig op. (Fiktivt testeksempel.)",
        "observed_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "reporter": {"role": "caretaker", "name": "Test Vicevært", "contact": "vicevaert@example.org"},
        "resident": {"name": "Fiktiv Beboer", "address": "Testvej 1, 1. th, 4300 Holbæk", "phone": "+45 11 22 33 44"},
        "consent": "given",
    }
    return body | overrides


def intake_database(admin_database_url: str):  # noqa: ANN201 - an async context manager
    """A new database migrated for intake, dropped afterwards (for module-scoped fixtures)."""
    return migrated_database(admin_database_url, "intake")


async def isolated_topics(kafka_bootstrap: str) -> str:
    """A fresh prefix with every platform topic under it (for module-scoped fixtures)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(kafka_bootstrap, partitions=3, prefix=prefix)
    return prefix


async def issue(kafka_bootstrap: str, prefix: str, role: Role, **scope: Any) -> IssuedClient:
    """Create an API client on the prefixed api-clients topic; returns the IssuedClient (with .token)."""
    issued = new_client(name=f"test {role.value}", role=role, **scope)
    await publish_record(kafka_bootstrap, issued.record, topic_prefix=prefix)
    return issued


STANDARD_CLIENTS: dict[str, tuple[Role, dict[str, Any]]] = {
    "reporter": (Role.REPORTER, {"organisation_id": "org-demo"}),
    "other_reporter": (Role.REPORTER, {"organisation_id": "org-demo"}),
    "consultant": (Role.CONSULTANT, {"department_ids": ["holbaek-1", "holbaek-2", "hoeng-1"]}),
    "municipality": (Role.MUNICIPALITY, {"municipality_code": "0316"}),
    "other_municipality": (Role.MUNICIPALITY, {"municipality_code": "0326"}),
    "association": (Role.ASSOCIATION, {"department_ids": ["holbaek-1"]}),
    "ops": (Role.OPS, {}),
    "admin": (Role.ADMIN, {}),
}


@contextlib.asynccontextmanager
async def intake_instance(
    kafka_bootstrap: str, admin_database_url: str, clients: dict[str, tuple[Role, dict[str, Any]]] | None = None
) -> AsyncIterator[SimpleNamespace]:
    """An in-process intake on fresh topics and a fresh database, with clients: `.client`, `.tokens`, `.url`, ..."""
    prefix = await isolated_topics(kafka_bootstrap)
    issued = {
        name: await issue(kafka_bootstrap, prefix, role, **scope)
        for name, (role, scope) in (clients or STANDARD_CLIENTS).items()
    }
    async with intake_database(admin_database_url) as url:
        settings = intake_settings(url, kafka_bootstrap, prefix)
        async with running_intake(settings, *(i.token for i in issued.values())) as client:
            yield SimpleNamespace(
                client=client,
                tokens={name: i.token for name, i in issued.items()},
                client_ids={name: i.record.client_id for name, i in issued.items()},
                url=url,
                prefix=prefix,
                bootstrap=kafka_bootstrap,
                settings=settings,
            )


async def read_to_end(bootstrap: str, topic: str) -> list[Any]:
    """Every record on `topic` up to its current end offsets (so late duplicates are seen too)."""
    consumer = AIOKafkaConsumer(**client_config(bootstrap), enable_auto_commit=False)
    await consumer.start()
    records: list[Any] = []
    try:
        partitions = await partitions_of(bootstrap, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        remaining = {p for p in partitions if end[p] > 0}
        while remaining:
            for batch in (await consumer.getmany(*remaining, timeout_ms=500)).values():
                records.extend(batch)
            remaining = {p for p in remaining if await consumer.position(p) < end[p]}
    finally:
        await consumer.stop()
    return records
