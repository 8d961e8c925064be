"""The rebuild's fast decoder: msgspec Structs made from the pydantic contracts at import time, never looser.

A replay reads every event ever published, so decoding dominates its cost; pydantic's models are the contract
but take about 2.7 times as long as msgspec (6.5 against 2.4 µs an event). The contracts stay the one source:
each Struct here is generated from its model's fields (names, wire names, types, optionality, defaults,
vocabularies, lengths, bounds, patterns, the `Line` check of shared/contracts/text.py) and runs the model's own
validators. A constraint or validator this module cannot translate stops the import, so a new one cannot make a
Struct looser than its model. Whatever a Struct refuses goes to the contracts' `decode`, which has the last word:
a refusal there is what live dead-letters. tests/unit/test_stats_replay_codec.py holds both to the same answers.
"""

import re
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from types import NoneType, UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import annotated_types
import msgspec
from pydantic import AfterValidator, AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from services.stats.handlers import EVENT_HANDLERS
from shared.contracts import events, text, vocabulary
from shared.contracts.envelope import ContractError, Envelope, decode
from shared.contracts.registry import EVENT_TYPES

Check = Callable[[Any], None]
"""A check of a decoded Struct, raising ValueError (msgspec then refuses the event)."""

_BOUNDS = {
    annotated_types.MinLen: "min_length",
    annotated_types.MaxLen: "max_length",
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
}
# The text checks as msgspec patterns. \Z, not $: $ matches before a final \n. Lone surrogates as `Line` refuses.
_TEXT_PATTERNS = {
    text.one_line: r"\A[^\x00-\x1f\x7f\ud800-\udfff]*\Z",
    text.free_text: r"\A[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]*\Z",
}
_SEPARATOR = "\x1f"


class Field:
    """One model field in msgspec terms: its type, and what msgspec cannot check by itself."""

    def __init__(self, name: str, info: FieldInfo, model: type[BaseModel]):
        self.name, self.where = name, f"{model.__name__}.{name}"
        self.pattern: str | None = None
        self.unique = False
        self.optional = False
        if info.default_factory is not None:
            raise TypeError(f"{self.where}: default factories have no msgspec form here")
        self.type = self._translate(info.annotation, list(info.metadata))
        self.spec: Any = msgspec.field(
            name=info.alias or name, default=msgspec.NODEFAULT if info.is_required() else info.default
        )

    def _translate(self, hint: Any, metadata: list[Any]) -> Any:
        origin = get_origin(hint)
        if origin is Annotated:
            inner, *extra = get_args(hint)
            return self._translate(inner, [*metadata, *extra])
        if origin in (Union, UnionType):
            args = [arg for arg in get_args(hint) if arg is not NoneType]
            if len(args) != 1 or len(get_args(hint)) != 2 or self.optional:
                raise TypeError(f"{self.where}: only `X | None` unions have a msgspec form here")
            self.optional = True
            return self._translate(args[0], metadata) | None
        meta: dict[str, Any] = {}
        for item in metadata:
            self._constrain(item, meta)
        if hint is AwareDatetime:
            meta["tz"] = True
            hint = datetime
        elif origin is tuple and len(get_args(hint)) == 2 and get_args(hint)[1] is Ellipsis:
            hint = tuple[self._leaf(get_args(hint)[0]), ...]
        elif origin is not Literal:
            hint = self._leaf(hint)
        if self.pattern is not None and re.fullmatch(self.pattern, "") is None:
            # Implied by the pattern, and it lets an absent optional value stand as "" in the joined match.
            meta["min_length"] = max(1, meta.get("min_length", 1))
        return Annotated[hint, msgspec.Meta(**meta)] if meta else hint

    def _leaf(self, hint: Any) -> Any:
        if hint in (str, int, bool) or (isinstance(hint, type) and issubclass(hint, Enum)):
            return hint
        raise TypeError(f"{self.where}: no msgspec form for {hint!r}")

    def _constrain(self, item: Any, meta: dict[str, Any]) -> None:
        if isinstance(item, FieldInfo):  # Annotated[..., Field(...)] inside an Optional
            for inner in item.metadata:
                self._constrain(inner, meta)
        elif type(item) in _BOUNDS:
            name = _BOUNDS[type(item)]
            meta[name] = getattr(item, name)
        elif type(item).__name__ == "_PydanticGeneralMetadata" and set(vars(item)) == {"pattern"}:
            self.pattern = _body(item.pattern, self.where)
        elif isinstance(item, AfterValidator) and item.func in _TEXT_PATTERNS:
            meta["pattern"] = _TEXT_PATTERNS[item.func]
        elif isinstance(item, AfterValidator) and item.func is vocabulary._unique:  # noqa: SLF001 - by identity
            self.unique = True
        # msgspec keeps the offset where the contracts convert to UTC: the same instant, and every local day.
        elif not (isinstance(item, AfterValidator) and item.func is events._to_utc):  # noqa: SLF001 - by identity
            raise TypeError(f"{self.where}: no msgspec form for {item!r}")


def _body(pattern: str, where: str) -> str:
    """A contract's ^...$ pattern as the body of a full match; \\d as [0-9] (never looser: \\d takes other scripts)."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise TypeError(f"{where}: pattern {pattern!r} is not anchored at both ends")
    return pattern[1:-1].replace(r"\d", "[0-9]")


def _patterns_check(fields: list[Field]) -> Check | None:
    """One full match over the pattern-bound fields joined by \\x1f: msgspec would search each field's pattern on
    its own, which took three quarters of the decoding time. The joined text must hold exactly the joins' \\x1f,
    so no value holds one and each pattern matches its own value. An absent optional value is "", which no
    present one can be (min_length). Made from source, as dataclasses make __init__ (a generic join took twice
    as long); field names are identifiers and the separator is escaped by repr."""
    bound = [f for f in fields if f.pattern is not None]
    if not bound:
        return None
    match = re.compile(_SEPARATOR.join(f"(?:{f.pattern})?" if f.optional else f"(?:{f.pattern})" for f in bound))
    values = _SEPARATOR.join(f"{{self.{f.name} or ''}}" if f.optional else f"{{self.{f.name}}}" for f in bound)
    source = (
        "def patterns_match(self):\n"
        f"    joined = f{values!r}\n"
        f"    if joined.count({_SEPARATOR!r}) != {len(bound) - 1} or match(joined) is None:\n"
        "        raise ValueError('an id or code does not match its pattern')\n"
    )
    namespace = {"match": match.fullmatch}
    exec(source, namespace)  # noqa: S102 - source made from field names only, see above
    return namespace["patterns_match"]


def _unique_check(name: str) -> Check:
    def unique(self: Any) -> None:
        values = getattr(self, name)
        # By identity: enum members are singletons, and an Enum's own hash is a Python call per member.
        if values is not None and len(values) > 1 and len(set(map(id, values))) != len(values):
            raise ValueError("items must be unique")

    return unique


def _model_checks(model: type[BaseModel]) -> list[Check]:
    """The model's own validators, run on the Struct (same attribute names and values)."""
    decorators = model.__pydantic_decorators__
    if decorators.field_validators or decorators.validators or decorators.root_validators:
        raise TypeError(f"{model.__name__}: field validators have no msgspec form here")
    checks = []
    for name, decorator in decorators.model_validators.items():
        if decorator.info.mode != "after":
            raise TypeError(f"{model.__name__}.{name}: only mode='after' model validators run on a Struct")
        checks.append(decorator.func)
    return checks


_OPTIONS: dict[str, Any] = {"forbid_unknown_fields": True, "frozen": True, "kw_only": True}
"""Every generated Struct's: `extra` forbidden, frozen (as the models); kw_only keeps the models' field order."""


class Data(msgspec.Struct, **_OPTIONS):
    """Base of the generated Structs: runs the checks msgspec cannot make itself."""

    _checks: ClassVar[tuple[Check, ...]] = ()


def _namespace(checks: list[Check], **more: Any) -> dict[str, Any]:
    """The class namespace running `checks` after decoding: a lone check is the hook itself (msgspec calls it per
    event, and a loop over one item doubled its cost)."""
    namespace: dict[str, Any] = {"_checks": tuple(checks), **more}
    if len(checks) == 1:
        namespace["__post_init__"] = checks[0]
    elif checks:

        def __post_init__(self: Any) -> None:  # noqa: N807 - msgspec's hook
            for check in checks:
                check(self)

        namespace["__post_init__"] = __post_init__
    return namespace


def _layout(model: type[BaseModel], skip: tuple[str, ...] = ()) -> tuple[list[tuple[str, Any, Any]], list[Check]]:
    """A model's fields (but `skip`) as msgspec fields, and the checks of their values."""
    fields = [Field(n, info, model) for n, info in model.model_fields.items() if n not in skip]
    checks = [c for c in [_patterns_check(fields), *(_unique_check(f.name) for f in fields if f.unique)] if c]
    return [(f.name, f.type, f.spec) for f in fields], checks


def struct_of(model: type[BaseModel]) -> type[Data]:
    """The msgspec Struct of a pydantic model; raises TypeError where it cannot be exactly as strict."""
    fields, checks = _layout(model)
    return msgspec.defstruct(
        model.__name__, fields, bases=(Data,), namespace=_namespace([*checks, *_model_checks(model)]), **_OPTIONS
    )


def _envelope(event_type: str, data: type[Data]) -> type[Data]:
    """The CloudEvents envelope around one event type: `type` is the tag, which does `_type_matches_data`'s work."""
    fields, checks = _layout(Envelope, skip=("type", "data"))
    return msgspec.defstruct(
        "Envelope",
        [*fields, ("data", data)],
        bases=(Data,),
        tag_field="type",
        tag=event_type,
        namespace=_namespace(checks, type=event_type),
        **_OPTIONS,
    )


ENVELOPE_VALIDATORS = {"_type_matches_data"}
"""The envelope's model validators the tag stands in for; a new one must be taught here."""


def _decoder(structs: dict[str, type[Data]]) -> msgspec.json.Decoder:
    if set(Envelope.__pydantic_decorators__.model_validators) != ENVELOPE_VALIDATORS:
        raise TypeError("the envelope has model validators the fast decoder does not know")
    envelopes = tuple(_envelope(event_type, data) for event_type, data in structs.items())
    # Decoded as a union: only a union requires the tag (a lone tagged Struct would take an object without `type`).
    return msgspec.json.Decoder(Union[envelopes])  # noqa: UP007


STRUCTS: dict[str, type[Data]] = {event_type: struct_of(EVENT_TYPES[event_type]) for event_type in EVENT_HANDLERS}
"""Event type -> the Struct of its data, for every event stats applies."""
_ANY = _decoder(STRUCTS)
_FINE_FRACTION = re.compile(rb"\.[0-9]{7}")
_CALENDAR_ENDS = (b'"0001-', b'"9999-')
"""What only the contracts decide: seconds with more than six decimals (msgspec rounds them to the microsecond,
pydantic cuts them off) and instants at the ends of the calendar (which may not convert to UTC). Looked for one by
one: a pattern with alternatives has no literal prefix to scan for, and took longer than decoding."""


def decode_fast(raw: bytes) -> Any:
    """The event through its generated Struct, or None where msgspec does not take it (the contracts then decide)."""
    if _FINE_FRACTION.search(raw) is None and _CALENDAR_ENDS[0] not in raw and _CALENDAR_ENDS[1] not in raw:
        try:
            return _ANY.decode(raw)  # picks the Struct by `type`
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
    return None


def decode_for_replay(raw: bytes | None) -> Any:
    """The event in `raw` (with `.id`, `.type`, `.data`), or None where the contracts refuse it."""
    raw = raw or b""
    event = decode_fast(raw)
    if event is not None:
        return event
    try:
        return decode(raw)
    except ContractError:
        return None
