"""The event contracts: round trips, refusals that name fields but never values, thin events."""

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from shared.contracts import (
    EVENT_MODELS,
    EVENT_TYPES,
    TOPIC_EVENTS,
    ContractError,
    ReferralStatusChanged,
    decode,
    decode_api_client,
    decode_inbound,
    encode,
    encode_api_client,
    encode_inbound,
    make_event,
)
from shared.contracts.examples import example_api_client, example_events, example_inbound
from shared.contracts.topics import CONCERN_INBOUND, EVENT_TOPICS

pytestmark = pytest.mark.unit

PERSONAL_WORDS = ("name", "phone", "email", "mail", "description", "address", "text", "note", "comment")


def _event(event_type: str) -> dict[str, Any]:
    example = next(e for e in example_events() if e.type == event_type)
    return json.loads(encode(example))


def _refusal(raw: bytes) -> ContractError:
    with pytest.raises(ContractError) as caught:
        decode(raw)
    return caught.value


@pytest.mark.parametrize("event", example_events(), ids=lambda e: e.type)
def test_every_event_type_round_trips(event) -> None:
    raw = encode(event)

    decoded = decode(raw)

    assert decoded == event and type(decoded.data) is EVENT_TYPES[event.type]
    assert encode(decoded) == raw
    assert raw == json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()


def test_examples_cover_every_event_type_and_seeded_ones_are_stable() -> None:
    assert sorted(e.type for e in example_events()) == sorted(EVENT_TYPES)
    assert [encode(e) for e in example_events("s")] == [encode(e) for e in example_events("s")]
    assert {e.id for e in example_events()}.isdisjoint({e.id for e in example_events()})


def test_make_event_fills_the_cloudevents_attributes() -> None:
    data = example_events()[0].data

    event = make_event(data, source="/services/intake", subject=data.subject_key)

    assert event.specversion == "1.0" and event.type == "concern.reported.v1"
    assert event.datacontenttype == "application/json" and event.dataschema is None
    assert re.fullmatch(r"[0-9a-f-]{36}", event.id) and event.time.tzinfo is not None
    assert abs(event.time - datetime.now(UTC)) < timedelta(seconds=5)


def test_times_are_normalised_to_utc() -> None:
    data = example_events()[0].data
    copenhagen_winter = timezone(timedelta(hours=1))

    event = make_event(
        data, source="/s", subject="sk_x1234567", time=datetime(2025, 3, 4, 10, tzinfo=copenhagen_winter)
    )

    assert event.time == datetime(2025, 3, 4, 9, tzinfo=UTC) and event.time.utcoffset() == timedelta(0)
    assert json.loads(encode(event))["time"] == "2025-03-04T09:00:00Z"


def test_registry_maps_types_and_topics() -> None:
    assert len(EVENT_TYPES) == len(EVENT_MODELS) == 10
    assert set(TOPIC_EVENTS) <= set(EVENT_TOPICS)
    for event_type, model in EVENT_TYPES.items():
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+\.v[1-9]\d*", event_type)
        assert model in TOPIC_EVENTS[model.topic]
        assert model.model_config["extra"] == "forbid" and model.model_config["frozen"]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\x00\xffnot json", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b'"a string"', "invalid_json"),
    ],
)
def test_garbage_is_refused_as_invalid_json(raw: bytes, reason: str) -> None:
    assert _refusal(raw).reason == reason


def test_unknown_type_is_refused() -> None:
    event = _event("concern.reported.v1") | {"type": "concern.reported.v9"}

    error = _refusal(json.dumps(event).encode())

    assert error.reason == "unknown_type" and "concern.reported.v9" not in str(error)


def test_a_missing_attribute_is_named() -> None:
    event = _event("referral.created.v1")
    del event["subject"]

    error = _refusal(json.dumps(event).encode())

    assert error.reason == "invalid_envelope" and "subject" in str(error) and error.fields == ("subject",)


def test_an_invalid_attribute_is_named_without_its_value() -> None:
    event = _event("referral.created.v1") | {"time": "yesterday-ish 0316"}

    error = _refusal(json.dumps(event).encode())

    assert error.reason == "invalid_envelope" and "time" in str(error) and "yesterday" not in str(error)


def test_missing_and_invalid_data_fields_are_named_without_their_values() -> None:
    event = _event("concern.reported.v1")
    del event["data"]["severity"]
    event["data"]["municipality_code"] = "Holbæk 4300"

    error = _refusal(json.dumps(event).encode())

    assert error.reason == "invalid_data"
    assert set(error.fields) == {"data.severity", "data.municipality_code"}
    assert "Holbæk" not in str(error) and "4300" not in str(error)


def test_an_extra_data_field_is_refused_by_name_only() -> None:
    event = _event("concern.reported.v1")
    event["data"]["resident_phone"] = "+45 12 34 56 78"

    error = _refusal(json.dumps(event).encode())

    assert error.reason == "invalid_data" and "data.resident_phone" in str(error) and "+45" not in str(error)


def test_an_extra_envelope_attribute_is_refused() -> None:
    event = _event("concern.erased.v1") | {"comment": "Grethe Hansen"}

    error = _refusal(json.dumps(event).encode())

    assert error.reason == "invalid_envelope" and "Grethe" not in str(error)


def test_data_of_another_type_is_refused() -> None:
    event = _event("concern.reported.v1") | {"type": "concern.erased.v1"}

    assert _refusal(json.dumps(event).encode()).reason == "invalid_data"


@pytest.mark.parametrize("categories", [[], ["noise", "noise"], ["noise", "gossip"]])
def test_categories_are_one_or_more_known_and_unique(categories: list[str]) -> None:
    event = _event("concern.reported.v1")
    event["data"]["categories"] = categories

    error = _refusal(json.dumps(event).encode())

    assert error.reason == "invalid_data" and all(f.startswith("data.categories") for f in error.fields)


def test_a_completed_referral_needs_an_outcome_and_a_rejection_a_reject_reason() -> None:
    base = _event("referral.status_changed.v1")["data"]
    with pytest.raises(ValidationError):
        ReferralStatusChanged.model_validate(base | {"outcome": None})
    with pytest.raises(ValidationError):
        ReferralStatusChanged.model_validate(base | {"to_status": "rejected", "reason": "too_busy"})
    rejected = ReferralStatusChanged.model_validate(
        base | {"to_status": "rejected", "reason": "capacity", "outcome": None}
    )
    assert rejected.reason == "capacity"


def test_notification_events_carry_the_notified_event_type_on_the_wire_as_event_type() -> None:
    event = _event("notification.delivered.v1")

    decoded = decode(json.dumps(event).encode())

    assert decoded.data.notified_event_type == event["data"]["event_type"] == "referral.created.v1"
    assert type(decoded.data).event_type == "notification.delivered.v1"


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        names |= {name, field.alias or name}
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _field_names(annotation)
    return names


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.event_type)
def test_events_are_thin_no_field_is_named_like_personal_data(model: type[BaseModel]) -> None:
    suspicious = {name for name in _field_names(model) if any(word in name for word in PERSONAL_WORDS)}
    assert not suspicious, f"{model.__name__} has fields that look like personal data: {sorted(suspicious)}"


def test_inbound_concern_round_trips_and_is_keyed_by_system_and_external_id() -> None:
    message = example_inbound()

    assert decode_inbound(encode_inbound(message)) == message
    assert message.key == f"{message.system}:{message.external_id}" and message.topic == CONCERN_INBOUND


@pytest.mark.parametrize(
    ("raw", "reason", "field"),
    [
        (b"garbage", "invalid_json", None),
        (b'{"system": "x", "payload": {}}', "invalid_data", "external_id"),
        (b'{"system": "x", "external_id": "1", "payload": "Grethe"}', "invalid_data", "payload"),
        (b'{"system": "a:b", "external_id": "1", "payload": {}}', "invalid_data", "system"),
    ],
)
def test_bad_inbound_concerns_are_refused(raw: bytes, reason: str, field: str | None) -> None:
    with pytest.raises(ContractError) as caught:
        decode_inbound(raw)
    assert caught.value.reason == reason and "Grethe" not in str(caught.value)
    assert field is None or field in caught.value.fields


def test_api_client_record_round_trips_and_knows_when_it_is_active() -> None:
    record = example_api_client()
    now = datetime.now(UTC)

    assert decode_api_client(encode_api_client(record)) == record
    assert record.is_active(now)
    assert not record.model_copy(update={"revoked_at": now}).is_active(now)
    assert not record.is_active(record.expires_at)
    with pytest.raises(ContractError) as caught:
        decode_api_client(b'{"client_id": "c1", "token_sha256": "secret-token"}')
    assert caught.value.reason == "invalid_data" and "secret-token" not in str(caught.value)


def _outcome(decoder, raw: bytes | str) -> tuple[str, Any]:
    try:
        return "ok", decoder(raw)
    except ContractError as error:
        return error.reason, (str(error), error.fields)


def _tricky_inputs() -> list[bytes | str]:
    status = json.dumps(_event("referral.status_changed.v1"))
    delivered = json.dumps(_event("notification.delivered.v1"))
    reordered = json.dumps(dict(reversed(list(_event("concern.reported.v1").items()))))
    return [
        *[encode(e) for e in example_events()],
        *[encode(e).decode() for e in example_events()],
        status,  # with spaces after the separators
        reordered,  # `type` after `data`
        status.replace('"id": ', '"id": "", "id": ', 1),  # a duplicate key: the last one counts
        status[:-1] + ', "id": ""}',
        status.replace('"source": "', '"source": "\\udc00', 1),  # a lone surrogate
        status.replace('"source": "', '"source": "\\ud83d\\ude00', 1),
        delivered.replace('"latency_ms": ', '"latency_ms": NaN, "latency": ', 1),
        delivered.replace('"latency_ms": ', '"latency_ms": 1e2, "latency": ', 1),
        delivered.replace('"attempts": ', '"attempts": true, "tries": ', 1),
        b"\xef\xbb\xbf" + status.encode(),  # a UTF-8 byte order mark
        status.encode("utf-16"),
        status + " \n",
        status + " x",
        status.replace('{"specversion"', '{"data": {"type": "concern.erased.v1"}, "specversion"', 1),
        status.replace('"type": "referral.status_changed.v1"', '"type" : "concern.reported.v1"', 1),
        status.replace('"type": "referral.status_changed.v1"', '"type": "referral.created.v1"', 1),
        status.replace('"type": "referral.status_changed.v1"', '"type": "referral.status_changed.v7"', 1),
        status.replace('"type": "referral.status_changed.v1"', '"type": 1', 1),
        status.replace('"type": "referral.status_changed.v1", ', "", 1),
    ]


@pytest.mark.parametrize("raw", _tricky_inputs())
def test_the_fast_decoder_accepts_refuses_and_words_refusals_exactly_as_the_slow_one(raw: bytes | str) -> None:
    from shared.contracts.envelope import _decode_slowly

    fast, slow = _outcome(decode, raw), _outcome(_decode_slowly, raw)

    assert fast == slow
    if fast[0] == "ok":
        assert type(fast[1]) is type(slow[1]) and encode(fast[1]) == encode(slow[1])


@pytest.mark.parametrize("where", ["envelope", "data"])
def test_an_instant_beyond_the_representable_range_is_refused_not_raised(where: str) -> None:
    event = _event("concern.reported.v1")
    if where == "envelope":
        event["time"] = "9999-12-31T23:59:59-01:00"
    else:
        event["data"]["observed_at"] = "9999-12-31T23:59:59-01:00"

    error = _refusal(json.dumps(event).encode())

    assert error.reason in {"invalid_envelope", "invalid_data"}
