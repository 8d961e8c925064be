"""Upgrading to the shared outbox: each service's old outbox rows move to outbox_events, none is lost or reordered."""

import asyncio
import uuid

import asyncpg
import pytest
from yoyo import get_backend, read_migrations

from shared.db.migrate import apply_migrations, migration_dirs, yoyo_url
from tests.support.databases import with_database

pytestmark = pytest.mark.integration

UPGRADE = {
    "intake": "intake_0007_shared_outbox",
    "routing": "routing_0006_shared_outbox",
    "notify": "notify_0004_shared_outbox",
}
# Later migrations on the new table come after the upgrade too.
NEW = {"shared_0003_outbox", "shared_0005_outbox_traceparent", "notify_0005_delivery_traceparent", *UPGRADE.values()}

# Each service's old table, filled as its relay left it: two published rows (where it kept them), then pending ones.
OLD_ROWS = {
    "intake": """
        INSERT INTO outbox (event_id, topic, kafka_key, event_type, envelope, published_at) VALUES
        ('00000000-0000-4000-8000-000000000001', 'concern-events', 'sk_a', 'concern.reported.v1', 'a1', now()),
        ('00000000-0000-4000-8000-000000000002', 'concern-events', 'sk_b', 'concern.reported.v1', 'b1', now()),
        ('00000000-0000-4000-8000-000000000003', 'concern-events', 'sk_a', 'concern.erased.v1', 'a2', NULL),
        ('00000000-0000-4000-8000-000000000004', 'concern-events', 'sk_b', 'concern.erased.v1', 'b2', NULL),
        ('00000000-0000-4000-8000-000000000005', 'concern-events', 'sk_a', 'concern.reported.v1', 'a3', NULL)
    """,
    "routing": """
        INSERT INTO outbox (topic, key, event_id, event_type, payload, published_at) VALUES
        ('p.referral-events', 'sk_a', 'e1', 'referral.created.v1', 'a1', now()),
        ('p.referral-events', 'sk_b', 'e2', 'referral.created.v1', 'b1', now()),
        ('p.referral-events', 'sk_a', 'e3', 'referral.acknowledged.v1', 'a2', NULL),
        ('p.referral-events', 'sk_b', 'e4', 'referral.acknowledged.v1', 'b2', NULL),
        ('p.referral-events', 'sk_a', 'e5', 'referral.completed.v1', 'a3', NULL)
    """,
    "notify": """
        INSERT INTO outbox (topic, key, event_id, event_type, payload) VALUES
        ('p.notification-events', 'sk_a', 'e3', 'notification.delivered.v1', 'a2'),
        ('p.notification-events', 'sk_b', 'e4', 'notification.failed.v1', 'b2'),
        ('p.notification-events', 'sk_a', 'e5', 'notification.delivered.v1', 'a3')
    """,
}


def migrate_before_the_shared_outbox(service: str, url: str) -> None:
    backend = get_backend(yoyo_url(url))
    migrations = read_migrations(*[str(d) for d in migration_dirs(service)]).filter(lambda m: m.id not in NEW)
    with backend.lock():
        backend.apply_migrations(backend.to_apply(migrations))


@pytest.mark.parametrize("service", ["intake", "routing", "notify"])
async def test_an_upgrade_moves_every_old_outbox_row_in_order_and_drops_the_old_table(
    admin_database_url: str, service: str
) -> None:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = await asyncpg.connect(admin_database_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin_database_url, name)
    try:
        await asyncio.to_thread(migrate_before_the_shared_outbox, service, url)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(OLD_ROWS[service])
            applied = await asyncio.to_thread(apply_migrations, service, url)
            assert {"shared_0003_outbox", UPGRADE[service]} <= set(applied) <= NEW
            rows = await conn.fetch(
                "SELECT key, payload, published_at IS NOT NULL AS published FROM outbox_events ORDER BY id"
            )
            moved = [(r["key"], bytes(r["payload"]).decode(), r["published"]) for r in rows]
            pending = [("sk_a", "a2", False), ("sk_b", "b2", False), ("sk_a", "a3", False)]
            if service == "notify":  # its relay deleted what it published
                assert moved == pending
            else:
                assert moved == [("sk_a", "a1", True), ("sk_b", "b1", True), *pending]
            assert await conn.fetchval("SELECT to_regclass('outbox')") is None
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
