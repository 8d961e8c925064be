"""intake owns the reference directory: it publishes it at start and on a change, validates a change, keeps it."""

import copy
import json
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from services.intake.adapters.unit_of_work import PostgresUnitOfWork
from services.intake.domain.directory import Directory
from services.intake.handlers.reference import ReferenceKeeper
from shared.contracts.reference import ReferenceDirectory
from shared.reference.follower import ReferenceFollower
from shared.reference.holder import ReferenceHolder
from tests.support.intake_harness import bearer, intake_instance, intake_settings, running_intake
from tests.support.polling import eventually
from tests.support.reference import owner_directory

pytestmark = pytest.mark.integration


def _content(directory: ReferenceDirectory) -> dict[str, Any]:
    return directory.content().model_dump(mode="json")


async def _newest_on_topic(bootstrap: str, prefix: str, version: str) -> ReferenceDirectory:
    """Follow the prefixed reference-data topic until the snapshot of `version` is the newest."""
    holder = ReferenceHolder()
    follower = ReferenceFollower(bootstrap, holder, client_id="test-reference", topic_prefix=prefix)
    follower.start()
    try:

        async def arrived() -> bool:
            return holder.directory is not None and holder.directory.version == version

        await eventually(arrived, within=30, what=f"directory {version[:12]} on the topic")
        return holder.require()
    finally:
        await follower.stop()


async def test_intake_publishes_its_file_at_start_and_serves_it_to_admin_and_ops_only(
    kafka_bootstrap: str, admin_database_url: str
) -> None:
    async with intake_instance(kafka_bootstrap, admin_database_url) as intake:
        owner = owner_directory()
        published = await _newest_on_topic(kafka_bootstrap, intake.prefix, owner.version)
        assert published == owner
        for role in ("admin", "ops"):
            answer = await intake.client.get("/v1/reference-data", headers=bearer(intake.tokens[role]))
            assert answer.status_code == 200
            assert ReferenceDirectory.model_validate(answer.json()) == owner
        for role in ("reporter", "consultant", "municipality"):
            answer = await intake.client.get("/v1/reference-data", headers=bearer(intake.tokens[role]))
            assert answer.status_code == 403
        changed = _content(owner)
        answer = await intake.client.put("/v1/reference-data", json=changed, headers=bearer(intake.tokens["ops"]))
        assert answer.status_code == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["organisations"][0]["departments"][6].update(municipality_code="0999"),
         "organisations[0].departments[6].municipality_code"),
        (lambda c: c["organisations"][0]["departments"][0].update(consultants=["consultant-nobody"]),
         "organisations[0].departments[0].consultants[0]"),
        (lambda c: c["organisations"][0]["departments"][1].update(id="holbaek-1"),
         "organisations[0].departments[1].id"),
        (lambda c: c["recipients"]["consultant-fyn"].pop("name"), "recipients.consultant-fyn.name"),
        (lambda c: c["municipalities"].update({"0999": {"single_entry": "municipality-0316"}}),
         "municipalities.0999"),
        (lambda c: c["recipients"]["consultant-fyn"].update(escalation_contact="escalation-nobody"),
         "recipients.consultant-fyn.escalation_contact"),
    ],
)  # fmt: skip
async def test_a_bad_change_is_a_422_naming_the_field_and_changes_nothing(
    kafka_bootstrap: str, admin_database_url: str, change: Any, field: str
) -> None:
    async with intake_instance(kafka_bootstrap, admin_database_url) as intake:
        content = copy.deepcopy(_content(owner_directory()))
        change(content)
        admin = bearer(intake.tokens["admin"])
        answer = await intake.client.put("/v1/reference-data", json=content, headers=admin)
        assert answer.status_code == 422, answer.text
        assert field in [e["field"] for e in answer.json()["errors"]]
        stored = await intake.client.get("/v1/reference-data", headers=admin)
        assert stored.json()["version"] == owner_directory().version


async def test_a_change_is_stored_published_served_and_kept_over_a_restart(
    kafka_bootstrap: str, admin_database_url: str
) -> None:
    async with intake_instance(kafka_bootstrap, admin_database_url) as intake:
        content = _content(owner_directory())
        content["organisations"][0]["departments"][0].update(name="Ny Ladegårdsparken (demo)", tenancies=500)
        content["municipalities"]["0316"]["name"] = "Not the official name"  # official names always win
        admin = bearer(intake.tokens["admin"])
        answer = await intake.client.put("/v1/reference-data", json=content, headers=admin)
        assert answer.status_code == 200, answer.text
        changed = ReferenceDirectory.model_validate(answer.json())
        assert changed.version != owner_directory().version
        assert changed.municipalities["0316"].name == "Holbæk"
        assert await _newest_on_topic(kafka_bootstrap, intake.prefix, changed.version) == changed
        departments = await intake.client.get("/v1/departments", headers=bearer(intake.tokens["reporter"]))
        holbaek = next(d for d in departments.json() if d["id"] == "holbaek-1")
        assert (holbaek["name"], holbaek["tenancies"]) == ("Ny Ladegårdsparken (demo)", 500)

        # A restart with the same (unchanged) file keeps the change and publishes it again.
        settings = intake_settings(intake.url, kafka_bootstrap, intake.prefix)
        async with running_intake(settings, intake.tokens["admin"]) as restarted:
            again = await restarted.get("/v1/reference-data", headers=admin)
            assert again.json()["version"] == changed.version


async def test_a_failed_publish_is_retried_until_the_broker_has_it(
    kafka_bootstrap: str, admin_database_url: str
) -> None:
    async with intake_instance(kafka_bootstrap, admin_database_url) as intake:
        pool = await asyncpg.create_pool(intake.url, min_size=1, max_size=2)
        try:
            await pool.execute("UPDATE reference_directory SET published_version = NULL")
            attempts: list[str] = []

            async def flaky(directory: ReferenceDirectory) -> None:
                attempts.append(directory.version)
                if len(attempts) < 3:
                    raise ConnectionError("broker away")

            deps = SimpleNamespace(directory=Directory(), unit_of_work=lambda: PostgresUnitOfWork(pool, "intake"))
            keeper = ReferenceKeeper(deps, flaky, interval_s=0.05)  # type: ignore[arg-type]
            for _ in range(2):
                with pytest.raises(ConnectionError):
                    await keeper.sync()
                assert await pool.fetchval("SELECT published_version FROM reference_directory") is None
            await keeper.sync()
            assert await pool.fetchval("SELECT published_version FROM reference_directory") == owner_directory().version
            assert attempts == [owner_directory().version] * 3
        finally:
            await pool.close()


async def test_a_directory_larger_than_a_concern_body_may_be_put(kafka_bootstrap: str, admin_database_url: str) -> None:
    """A real organisation has hundreds of departments: more than intake's 64 KiB body limit for concerns."""
    async with intake_instance(kafka_bootstrap, admin_database_url) as intake:
        content = _content(owner_directory())
        content["organisations"][0]["departments"] += [
            {"id": f"holbaek-x{n}", "name": f"Afdeling {n} (demo), Holbæk", "municipality_code": "0316",
             "tenancies": 100 + n, "consultants": ["consultant-holbaek"]}
            for n in range(600)
        ]  # fmt: skip
        body = json.dumps(content).encode()
        assert len(body) > intake.settings.max_body_bytes
        admin = bearer(intake.tokens["admin"]) | {"Content-Type": "application/json"}
        answer = await intake.client.put("/v1/reference-data", content=body, headers=admin)
        assert answer.status_code == 200, answer.text[:500]
        assert len(answer.json()["organisations"][0]["departments"]) == 607
