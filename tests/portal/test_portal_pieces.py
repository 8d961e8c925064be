"""The portal's pieces without a browser: the login's return path, the sealed sessions, the claims, the report
form's mapping to intake's body and of intake's refusals back to the form's fields."""

import pytest
from cryptography.exceptions import InvalidTag
from starlette.datastructures import FormData

from services.portal.adapters.sessions import Sealer, id_hash
from services.portal.domain.person import person_from_claims
from services.portal.domain.report_form import ReportForm, field_errors
from services.portal.entrypoints.api.auth import safe_next

pytestmark = pytest.mark.portal


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/bekymringer/K7WX-3MPQ", "/bekymringer/K7WX-3MPQ"),
        ("/bekymringer?side=2", "/bekymringer?side=2"),
        ("//evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_the_login_returns_only_to_a_path_of_this_origin(given: str | None, kept: str) -> None:
    assert safe_next(given) == kept


def test_a_sealed_session_opens_only_with_its_key_and_in_its_own_row() -> None:
    sealer = Sealer("a secret of some length")
    row = id_hash("cookie-value")
    blob = sealer.seal({"tokens": {"access_token": "eyJ.secret"}}, row)
    assert b"eyJ.secret" not in blob
    assert sealer.open(blob, row) == {"tokens": {"access_token": "eyJ.secret"}}
    with pytest.raises(InvalidTag):
        sealer.open(blob, id_hash("another cookie"))
    with pytest.raises(InvalidTag):
        Sealer("another secret of some length").open(blob, row)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(InvalidTag):
        sealer.open(tampered, row)


def test_the_person_comes_from_the_claims_and_an_unknown_role_is_none() -> None:
    person = person_from_claims(
        {"sub": "s1", "crp_role": "reporter", "departments": ["holbaek-1"], "organisation": "org-demo", "name": "V"}
    )
    assert (person.role, person.departments, person.organisation) == ("reporter", ("holbaek-1",), "org-demo")
    assert person_from_claims({"sub": "s2", "crp_role": "superuser"}).role is None
    assert (
        person_from_claims({"sub": "s3", "municipality": ["0316"], "crp_role": "municipality"}).municipality == "0316"
    )


def test_the_form_becomes_intakes_body_in_danish_time() -> None:
    form = ReportForm.from_post(
        FormData(
            [
                ("department_id", "holbaek-1"),
                ("tenancy_id", " 17-0042 "),
                ("categories", "dementia_signs"),
                ("categories", "loneliness"),
                ("severity", "high"),
                ("description", "Forvirret."),
                ("observed_date", "2026-07-01"),
                ("observed_time", "08:30"),
                ("reporter.role", "caretaker"),
                ("reporter.name", ""),
                ("resident.name", "Planted Beboer"),
                ("resident.email", ""),
                ("consent", "not_asked"),
                ("idempotency_key", "not a key!"),
            ]
        )
    )
    body, own = form.body()
    assert own == {}
    assert body["observed_at"] == "2026-07-01T08:30:00+02:00"
    assert body["tenancy_id"] == "17-0042"
    assert body["categories"] == ["dementia_signs", "loneliness"]
    assert body["reporter"] == {"role": "caretaker"}
    assert body["resident"] == {"name": "Planted Beboer"}
    assert "children_in_household" not in body and "danger_confirmed" not in body
    assert form.value("idempotency_key") != "not a key!"


def test_an_unreadable_date_is_the_portals_own_error_and_the_rest_goes_to_intake() -> None:
    form = ReportForm.from_post(FormData([("observed_date", "i går"), ("description", "x")]))
    body, own = form.body()
    assert "observed_at" in own and "observed_at" not in body
    assert body["description"] == "x"


def test_intakes_refusals_land_on_the_fields_in_page_order() -> None:
    errors = field_errors(
        [
            ("consent", "skal udfyldes"),
            ("resident.email", "har ikke den krævede form"),
            ("categories.1", "skal være en af ..."),
            ("categories", "skal have mindst 1 elementer"),
            ("external_ref", "ukendt"),
        ]
    )
    assert list(errors) == ["_general", "categories", "resident.email", "consent"]
    assert errors["consent"] == "Svar på, om beboeren har givet samtykke."
    assert errors["resident.email"] == "Har ikke den krævede form"
