"""Building one record from another that names its fields alike: a referral from its plan, an event from its
referral or suggestion (the contracts name their fields as the domain does)."""

from collections.abc import Iterable
from typing import Any, TypeVar

from shared.contracts.events import EventData

E = TypeVar("E", bound=EventData)


def same_named(source: object, names: Iterable[str]) -> dict[str, Any]:
    """`source`'s values of `names`."""
    return {name: getattr(source, name) for name in names}


def event_of(event: type[E], source: object, **otherwise: Any) -> E:
    """`event` with `source`'s values of its fields, and `otherwise` for those `source` names differently or lacks
    (an event never takes more than its own fields: free text on the source stays there)."""
    return event(**same_named(source, event.model_fields.keys() - otherwise.keys()), **otherwise)
