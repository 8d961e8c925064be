"""The rebuild's generated msgspec Structs never accept what the contracts refuse, and read what they accept alike."""

import json
from typing import Annotated, Any

import msgspec
import pytest
from pydantic import BaseModel, Field, field_validator, model_validator

from services.stats.adapters.replay_codec import STRUCTS, decode_fast, decode_for_replay, struct_of
from services.stats.handlers import EVENT_HANDLERS
from shared.contracts.envelope import ContractError, decode, encode
from shared.contracts.examples import example_events
from shared.contracts.registry import EVENT_TYPES

pytestmark = pytest.mark.unit

EXAMPLES = {event.type: json.loads(encode(event)) for event in example_events("replay-codec")}


def _wire_names(model: Any) -> dict[str, bool]:
    return {(info.alias or name): info.is_required() for name, info in model.model_fields.items()}


def _mirror_names(mirror: type[msgspec.Struct]) -> dict[str, bool]:
    info = msgspec.inspect.type_info(mirror)
    return {field.encode_name: field.required for field in info.fields}


def _contract(raw: bytes) -> Any:
    try:
        return decode(raw)
    except ContractError:
        return None


def _same(fast: Any, slow: Any) -> None:
    """The Struct's event reads like the contract's: id, type, and every data field the handlers may use."""
    assert (fast.id, fast.type, fast.subject, fast.time) == (slow.id, slow.type, slow.subject, slow.time)
    for name in type(slow.data).model_fields:
        theirs, ours = getattr(slow.data, name), getattr(fast.data, name)
        assert ours == theirs, name
        assert type(ours) is type(theirs) or isinstance(theirs, str | tuple), name


def test_the_structs_cover_every_event_stats_handles_with_the_contracts_fields() -> None:
    assert set(STRUCTS) == set(EVENT_HANDLERS)
    for event_type, struct in STRUCTS.items():
        model = EVENT_TYPES[event_type]
        assert struct.__name__ == model.__name__
        assert _mirror_names(struct) == _wire_names(model), event_type


def test_the_structs_run_the_models_own_validators() -> None:
    model = EVENT_TYPES["referral.status_changed.v1"]
    (validator,) = model.__pydantic_decorators__.model_validators.values()
    assert validator.func in STRUCTS["referral.status_changed.v1"]._checks


class _Unknown(BaseModel):
    value: Annotated[int, Field(multiple_of=2)]


class _Float(BaseModel):
    value: float


class _FieldValidated(BaseModel):
    value: str

    @field_validator("value")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()


class _Before(BaseModel):
    value: str

    @model_validator(mode="before")
    @classmethod
    def _anything(cls, value: Any) -> Any:
        return value


class _Unanchored(BaseModel):
    value: Annotated[str, Field(pattern="[a-z]+")]


@pytest.mark.parametrize("model", [_Unknown, _Float, _FieldValidated, _Before, _Unanchored])
def test_a_constraint_or_validator_without_an_exact_msgspec_form_stops_the_generation(model: type[BaseModel]) -> None:
    # Leaving it out would make the fast decoder looser than the contract.
    with pytest.raises(TypeError):
        struct_of(model)


def test_a_line_field_refuses_control_characters_and_lone_surrogates_as_the_contract_does() -> None:
    value = json.loads(json.dumps(EXAMPLES["notification.failed.v1"]))
    for bad in ["a\x00b", "tab\there", "end\n", "del\x7f", "\udc00"]:
        value["data"]["event_id"] = bad
        raw = json.dumps(value).encode()
        assert decode_fast(raw) is None and _contract(raw) is None, bad
    value["data"]["event_id"] = "fine-id"
    assert decode_fast(json.dumps(value).encode()) is not None


@pytest.mark.parametrize("event_type", sorted(STRUCTS))
def test_an_example_of_each_type_takes_the_fast_path_and_reads_as_the_contract_reads_it(event_type: str) -> None:
    raw = json.dumps(EXAMPLES[event_type]).encode()
    fast = decode_fast(raw)
    assert fast is not None
    _same(fast, decode(raw))
    _same(decode_for_replay(raw), decode(raw))


def _mutations(value: dict[str, Any]) -> list[dict[str, Any]]:
    """Variants of an event, most of them invalid: each field missing, null, of another type, or bent."""
    bent: list[Any] = [None, "", " ", "x" * 129, "x" * 65, "abc\n", "Zz", "0316\n", "٠٣١٦", "-1", 0, -1, 1.5, True, []]
    bent += ["2025-03-04T08:30:00", "2025-03-04", "2025-03-04T08:30:00.1234567Z", "2025-03-04t08:30:00z"]
    bent += ["2025-03-04 08:30:00+01:00", "2025-03-04T24:00:00Z", 1741077000, ["hoarding", "hoarding"], ["nope"]]
    bent += ["2025-03-04T08:30:00-00:00", "2025-03-04T23:59:60Z", "2025-03-04T08:30:00+24:00", "2025-03-04T08:30Z"]
    bent += ["2025-03-04T08:30:00+0100", "20250304T083000Z", "2025-03-04T08:30:00.Z", "0000-01-01T00:00:00Z"]
    bent += ["2025-02-29T08:30:00Z", "é-1", "a b", "A" * 128, "sk_" + "é" * 8, 2**64]
    bent += ["ab\x1fcd", "\x1e", "a\x1e", "abcdefgh\x1fabcdefgh", "0316\x1f0316"]  # the one-match separators
    bent += ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2025-03-04T09:30:00+01:00", "a\x00b"]
    bent += ["\udc00", "0316\x1f", "\x1f0316", "\x1f"]
    variants = []
    for scope in ("envelope", "data"):
        target = value if scope == "envelope" else value["data"]
        for name in list(target):
            if scope == "envelope" and name == "data":
                continue
            for replacement in [*bent, "missing"]:
                variant = json.loads(json.dumps(value))
                where = variant if scope == "envelope" else variant["data"]
                if replacement == "missing":
                    del where[name]
                else:
                    where[name] = replacement
                variants.append(variant)
        for other in EVENT_TYPES:  # another type's name on this type's data
            variants.append({**json.loads(json.dumps(value)), "type": other})
        extra = json.loads(json.dumps(value))
        (extra if scope == "envelope" else extra["data"])["unexpected"] = 1
        variants.append(extra)
    return variants


@pytest.mark.parametrize("event_type", sorted(STRUCTS))
def test_no_mutation_the_contract_refuses_gets_through_a_struct(event_type: str) -> None:
    accepted_fast = refused = 0
    for variant in _mutations(EXAMPLES[event_type]):
        raw = json.dumps(variant).encode()
        slow = _contract(raw)
        refused += slow is None
        fast = decode_fast(raw)
        if fast is not None:
            accepted_fast += 1
            assert slow is not None, f"the Struct accepts what the contract refuses: {variant}"
            _same(fast, slow)
        replayed = decode_for_replay(raw)
        assert (replayed is None) == (slow is None)
    assert refused > 50 and accepted_fast > 0  # the mutations did probe both sides


def test_a_status_change_breaking_the_models_rule_is_refused_by_struct_and_contract() -> None:
    value = json.loads(json.dumps(EXAMPLES["referral.status_changed.v1"]))
    value["data"] |= {"to_status": "completed", "outcome": None}
    raw = json.dumps(value).encode()
    assert decode_fast(raw) is None
    assert _contract(raw) is None and decode_for_replay(raw) is None


def test_what_the_structs_do_not_take_goes_to_the_contracts() -> None:
    assert decode_for_replay(b"{not json") is None
    assert decode_for_replay(None) is None
    value = EXAMPLES["notification.delivered.v1"]
    by_python_name = json.loads(json.dumps(value))
    by_python_name["data"]["notified_event_type"] = by_python_name["data"].pop("event_type")
    raw = json.dumps(by_python_name).encode()
    # The contract also takes the field's Python name; the Struct does not, and the contract decides.
    assert decode_for_replay(raw) == decode(raw)
