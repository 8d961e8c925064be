"""The stats handlers through an in-memory ProjectionWriter, the reference data file and the dashboard's assets."""

import re
from datetime import date

import pytest

from services.stats.adapters.reference_data import reference_from_directory
from services.stats.entrypoints.api.dashboard import CONTENT_SECURITY_POLICY, STATIC
from services.stats.handlers import EVENT_HANDLERS
from services.stats.handlers.ports import RecordingWriter
from shared.contracts.envelope import make_event
from shared.contracts.examples import example_events
from shared.contracts.referrals import ReferralStatusChanged
from shared.contracts.registry import EVENT_TYPES
from tests.support.reference import owner_directory

pytestmark = pytest.mark.unit
DEMO_DEPARTMENTS = {"holbaek-1", "holbaek-2", "hoeng-1", "kalundborg-1", "roskilde-1", "odense-1", "aarhus-1"}


def test_every_event_type_on_the_three_topics_has_a_handler() -> None:
    assert set(EVENT_HANDLERS) == set(EVENT_TYPES)


async def test_each_example_event_becomes_its_projection_update() -> None:
    writer = RecordingWriter()
    for event in example_events(seed="stats"):
        await EVENT_HANDLERS[event.type](event, writer)
    names = [call[0] for call in writer.calls]
    assert names == [
        "record_concern",
        "erase_concern",
        "record_referral",
        "record_status_change",
        "count_clock_event",
        "count_clock_event",
        "record_suggestion",
        "record_suggestion_decision",
        "record_delivery",
        "record_delivery",
    ]
    fact = writer.calls[0][1][0]
    assert fact.categories == ("rent_arrears", "eviction_risk") and fact.day == date(2025, 3, 4)
    assert not hasattr(fact, "description")  # thin: nothing personal reaches stats
    change = writer.calls[3][1][0]
    assert change.completes and change.outcome == "eviction_avoided" and change.acknowledges
    assert [call[1][1] for call in writer.calls[4:6]] == ["sla_breaches", "escalations"]
    assert [call[1][0].hint for call in writer.calls[6:8]] == ["possible_hoarding"] * 2
    assert writer.calls[7][1][0].decision == "confirmed"
    assert [call[2]["delivered"] for call in writer.calls[8:]] == [True, False]


async def test_a_system_move_is_not_an_acknowledgement() -> None:
    completed = next(e for e in example_events(seed="stats") if e.type == ReferralStatusChanged.event_type)
    data = completed.data.model_copy(update={"to_status": "received", "outcome": None, "changed_by_role": "system"})
    writer = RecordingWriter()
    await EVENT_HANDLERS[completed.type](make_event(data, source="/services/routing", subject="sk_12345678"), writer)
    (change,) = [call[1][0] for call in writer.calls]
    assert not change.acknowledges and not change.completes and change.outcome is None


def test_reference_data_is_the_owners_directory_departments_tenancies_and_names() -> None:
    directory = owner_directory()
    reference = reference_from_directory(directory)
    assert set(reference.departments) == DEMO_DEPARTMENTS
    assert reference.version == directory.version
    # The numbers the organisation gave intake (not those of a second copy): issue 15, point 1.
    assert reference.departments["holbaek-1"].name == "Ladegårdsparken (demo), Holbæk"
    assert reference.tenancies("holbaek-1") == 412 and reference.tenancies("hoeng-1") == 74
    assert reference.tenancies("aarhus-1") == 355
    assert reference.departments["hoeng-1"].municipality_code == "0326"
    assert reference.municipality_name("0326") == "Kalundborg"
    assert reference.organisations["org-demo"] == "Boligselskabet Vestsjælland (demo)"


def test_the_dashboard_loads_everything_from_its_own_origin() -> None:
    html = (STATIC / "index.html").read_text()
    script = (STATIC / "dashboard.js").read_text()
    assert re.findall(r'(?:src|href)="([^"]+)"', html) == [
        "/static/dashboard.css",
        "/static/vendor/chart-4.5.1.umd.js",
        "/static/dashboard.js",
    ]
    assert "Chart.js v4.5.1" in (STATIC / "vendor" / "chart-4.5.1.umd.js").read_text()[:200]
    assert "MIT" in (STATIC / "vendor" / "chart.js-LICENSE.md").read_text()
    assert "<script>" not in html and " style=" not in html  # nothing the CSP would have to allow inline
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe" not in CONTENT_SECURITY_POLICY
    assert "sessionStorage" in script and "localStorage" not in script
