"""The reference directory is served with its version as ETag, by its owner (intake) and by a follower."""

import pytest

from shared.auth.principal import Role
from tests.support.intake_harness import (
    bearer,
    intake_database,
    intake_settings,
    isolated_topics,
    issue,
    running_intake,
)

pytestmark = pytest.mark.integration


async def test_intakes_reference_data_sends_its_version_as_etag_and_answers_304(
    kafka_bootstrap: str, admin_database_url: str
) -> None:
    prefix = await isolated_topics(kafka_bootstrap)
    ops = (await issue(kafka_bootstrap, prefix, Role.OPS)).token
    async with (
        intake_database(admin_database_url) as url,
        running_intake(intake_settings(url, kafka_bootstrap, prefix), ops) as client,
    ):
        read = await client.get("/v1/reference-data", headers=bearer(ops))
        assert read.status_code == 200
        tag = read.headers["ETag"]
        assert tag == f'"{read.json()["version"]}"' and read.headers["Cache-Control"] == "private, no-cache"
        held = await client.get("/v1/reference-data", headers={**bearer(ops), "If-None-Match": tag})
        assert held.status_code == 304 and held.content == b"" and held.headers["ETag"] == tag
        other = await client.get("/v1/reference-data", headers={**bearer(ops), "If-None-Match": '"0"'})
        assert other.status_code == 200
