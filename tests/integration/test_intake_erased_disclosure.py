"""After erasure intake's answers say what is disclosed: `erased`, never the `full` the caller's access once allowed
(the concern's and each referral's disclosure alike), for every caller that may read the concern."""

import pytest

from tests.integration.test_intake_privacy import auth, intake, refer, report  # noqa: F401 - `intake` is a fixture

pytestmark = pytest.mark.integration


async def test_an_erased_concern_discloses_nothing_to_anyone(intake) -> None:  # noqa: ANN001, F811
    concern_id = await report(intake)
    await refer(intake, concern_id, "municipality", "full", "consent")
    path = f"/v1/concerns/{concern_id}"
    before = (await intake.client.get(path, headers=auth(intake, "admin"))).json()
    assert before["disclosure"] == "full" and before["referrals"][0]["disclosure"] == "full"
    municipality = (await intake.client.get(path, headers=auth(intake, "municipality"))).json()
    assert municipality["disclosure"] == "full" and municipality["details"] is not None

    erased = await intake.client.post(path + "/erasure", headers=auth(intake, "admin"))
    assert erased.status_code == 200, erased.text

    for who in ("admin", "municipality", "reporter"):
        view = (await intake.client.get(path, headers=auth(intake, who))).json()
        assert (view["status"], view["disclosure"], view["details"]) == ("erased", "erased", None), who
        assert all(r.get("disclosure") in (None, "erased") for r in view["referrals"]), who
    admin = (await intake.client.get(path, headers=auth(intake, "admin"))).json()
    assert [r["disclosure"] for r in admin["referrals"]] == ["erased"]
