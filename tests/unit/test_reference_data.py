"""The reference directory's contract: one version per content, consistency checks naming fields, one owner."""

import json
from pathlib import Path

import pytest
import yaml

from services.notify.adapters.address_book import AddressBook, Mailbox
from services.routing.adapters.directory import with_directory
from services.routing.adapters.rules_store import load_file
from services.routing.settings import DEFAULT_RULES
from services.stats.adapters.reference_data import reference_from_directory
from shared.contracts.errors import ContractError
from shared.contracts.reference import (
    DIRECTORY_KEY,
    ReferenceContent,
    decode_directory,
    encode_directory,
)
from shared.reference.follower import ReferenceFollower
from shared.reference.holder import ReferenceHolder
from tests.support.reference import owner_directory

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def _content() -> dict:
    return owner_directory().content().model_dump(mode="json")


def test_the_version_is_the_sha256_of_the_canonical_content_whatever_the_key_order() -> None:
    content = _content()
    shuffled = json.loads(json.dumps(content, sort_keys=True))
    shuffled["recipients"] = dict(reversed(list(shuffled["recipients"].items())))
    assert ReferenceContent.model_validate(shuffled).fingerprint() == owner_directory().version
    content["organisations"][0]["departments"][0]["tenancies"] += 1
    assert ReferenceContent.model_validate(content).fingerprint() != owner_directory().version


def test_a_snapshot_round_trips_and_a_wrong_version_or_inconsistent_one_is_refused() -> None:
    directory = owner_directory()
    assert decode_directory(encode_directory(directory)) == directory
    assert DIRECTORY_KEY == "directory"
    wrong = json.loads(encode_directory(directory)) | {"version": "0" * 64}
    with pytest.raises(ContractError):
        decode_directory(json.dumps(wrong))
    unnamed = json.loads(encode_directory(directory))
    del unnamed["recipients"]["consultant-fyn"]
    unnamed["version"] = ReferenceContent.model_validate(
        {k: v for k, v in unnamed.items() if k != "version"}
    ).fingerprint()
    with pytest.raises(ContractError):
        decode_directory(json.dumps(unnamed))


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda c: c["organisations"][0]["departments"][2].update(id="holbaek-1"),
         "organisations[0].departments[2].id", "duplicate department id"),
        (lambda c: c["organisations"].append(dict(c["organisations"][0], departments=[])),
         "organisations[1].id", "duplicate organisation id"),
        (lambda c: c["organisations"][0]["departments"][0].update(municipality_code="0999"),
         "organisations[0].departments[0].municipality_code", "unknown municipality code"),
        (lambda c: c["organisations"][0]["departments"][0].update(consultants=["consultant-nobody"]),
         "organisations[0].departments[0].consultants[0]", "unknown recipient"),
        (lambda c: c["organisations"][0]["departments"][0].update(consultants=["association-holbaek-naboskab"]),
         "organisations[0].departments[0].consultants[0]", "not a consultant"),
        (lambda c: c["organisations"][0]["departments"][0].update(consultants=["consultant-holbaek", "consultant-fyn"]),
         "organisations[0].departments[0].consultants", "at most one consultant"),
        (lambda c: c["organisations"][0]["departments"][0].update(consultants=[]),
         "organisations[0].departments[0].associations", "needs a consultant"),
        (lambda c: c["municipalities"]["0326"].update(single_entry="municipality-0316"),
         "municipalities.0326.single_entry", "shared by two municipalities"),
        (lambda c: c["municipalities"]["0326"].update(children_entry="municipality-0326"),
         "municipalities.0326.children_entry", "shared with another entry"),
        (lambda c: c["municipalities"]["0326"].update(children_entry="consultant-fyn"),
         "municipalities.0326.children_entry", "not a children_and_youth"),
        (lambda c: c["recipients"]["consultant-fyn"].update(escalation_contact="escalation-nobody"),
         "recipients.consultant-fyn.escalation_contact", "unknown recipient"),
    ],
)  # fmt: skip
def test_each_inconsistency_is_named_by_its_field(change, field: str, problem: str) -> None:  # noqa: ANN001
    content = _content()
    change(content)
    problems = ReferenceContent.model_validate(content).problems()
    assert any(f == field and problem in p for f, p in problems), problems
    with pytest.raises(ValueError, match=problem):
        ReferenceContent.model_validate(content).directory()


def test_the_holder_tells_its_listeners_of_each_new_version_once() -> None:
    holder, seen = ReferenceHolder(), []
    holder.subscribe(lambda d: seen.append(d.version))
    assert not holder.loaded and seen == []
    holder.apply(owner_directory())
    holder.apply(owner_directory())
    assert holder.loaded and seen == [owner_directory().version]
    late: list[str] = []
    holder.subscribe(lambda d: late.append(d.version))
    assert late == [owner_directory().version]


def test_the_follower_applies_valid_snapshots_and_keeps_the_last_good_one() -> None:
    holder = ReferenceHolder()
    follower = ReferenceFollower("127.0.0.1:1", holder, client_id="unit")
    follower._apply_record(b"directory", encode_directory(owner_directory()))
    follower._apply_record(b"directory", b'{"version": "nonsense"}')
    follower._apply_record(b"other", encode_directory(owner_directory()))
    assert holder.directory == owner_directory()


def test_routing_notify_and_stats_derive_their_views_from_the_one_directory() -> None:
    directory = owner_directory()
    rules = with_directory(load_file(DEFAULT_RULES), directory)
    assert rules.consultant_for("hoeng-1") == "consultant-holbaek"
    assert rules.associations_for("odense-1") == ["association-odense-besoegsvenner"]
    assert rules.municipality_entry("0461") == "municipality-0461"
    assert rules.escalation_contact("consultant-aarhus") == "escalation-consultant-aarhus"
    assert rules.escalation_contact("municipality-0751") == "escalation-municipality-0751"
    assert rules.consultants["consultant-holbaek"].name == directory.recipients["consultant-holbaek"].name
    book = AddressBook()
    book.replace(directory)
    assert book.get("escalation-consultant-fyn") == Mailbox(
        "boligsocial.leder.fyn@example.dk", "Leder af boligsocialt team, Fyn (demo)"
    )
    assert book.get("municipality-0316") is None  # municipalities are reached by webhook, not e-mail
    stats = reference_from_directory(directory)
    assert stats.tenancies("holbaek-1") == 412 and stats.department_name("holbaek-1").startswith("Ladegårdsparken")


def test_no_service_keeps_a_second_copy_of_the_reference_data_in_its_files() -> None:
    """intake's reference file is the one source (issue 15, point 1): no departments, recipients or municipalities
    with their single entries anywhere else under services/ or deploy/."""
    owner = ROOT / "services" / "intake" / "reference"
    assert not list((ROOT / "services").rglob("departments.yaml"))
    assert not list((ROOT / "services").rglob("recipients.yaml"))
    routing_rules = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    assert not {"municipalities", "consultants", "associations"} & set(routing_rules)
    ids = {d.id for _, d in owner_directory().departments()} | set(owner_directory().recipients)
    for path in [*(ROOT / "services").rglob("*.yaml"), *(ROOT / "services").rglob("*.yml")]:
        if owner in path.parents:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        keys = set(data) if isinstance(data, dict) else set()
        assert not keys & ids, f"{path.relative_to(ROOT)} keys reference data by id: {sorted(keys & ids)}"
        assert not keys & {"departments", "recipients", "tenancies", "organisations"}, path.relative_to(ROOT)


def test_the_demo_consultant_and_association_are_scoped_to_what_the_directory_says_they_serve() -> None:
    from deploy.services import DEMO_CLIENTS, _create_args

    clients = {c["role"]: c for c in yaml.safe_load(DEMO_CLIENTS.read_text(encoding="utf-8"))["clients"]}
    for role in ("consultant", "association"):
        assert "departments" not in clients[role], f"the demo {role}'s departments are a second copy"
        args = _create_args(clients[role])
        scope = [args[i + 1] for i, a in enumerate(args) if a == "--department"]
        served = [
            d.id
            for _, d in owner_directory().departments()
            if clients[role]["serves"] in d.consultants + d.associations
        ]
        assert scope == served and scope
