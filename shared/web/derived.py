"""HTTP views derived from the domain's dataclasses: one source for the fields, the view declares only what it
shows differently.

`derived_from(Referral, leave_out=...)` is a pydantic base holding the dataclass's fields in their order and
with their types; a view subclasses it and declares its own fields (retyped, added). A field added to the domain
appears in the view unless it is left out by name, and a name that is not a field of the domain is an error.
"""

from collections.abc import Collection
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, ClassVar, get_type_hints

from pydantic import BaseModel, Field, create_model


class DerivedView(BaseModel):
    """A view whose fields come from a domain dataclass (`derived_from` makes its bases)."""

    domain: ClassVar[type]
    """The dataclass the fields come from."""
    shown: ClassVar[tuple[str, ...]]
    """The domain fields the view shows, in the domain's order."""
    left_out: ClassVar[frozenset[str]]
    """The domain fields the view leaves out on purpose."""

    @classmethod
    def domain_values(cls, item: Any) -> dict[str, Any]:
        """The shown fields of a domain object, by name (the view's own fields are the caller's to add)."""
        return {name: getattr(item, name) for name in cls.shown}


def derived_from(domain: type, *, leave_out: Collection[str] = (), defaults: Collection[str] = ()) -> type[DerivedView]:
    """A base for views of `domain`: its fields but `leave_out`, each required unless named in `defaults` (those
    keep the domain's default, so a view can add fields older answers lacked without making them required)."""
    if not is_dataclass(domain):
        raise TypeError(f"{domain!r} is not a dataclass")
    known = {f.name: f for f in fields(domain)}
    unknown = sorted((set(leave_out) | set(defaults)) - known.keys())
    if unknown:
        raise TypeError(f"{domain.__name__} has no fields {', '.join(unknown)}")
    hints = get_type_hints(domain, include_extras=True)
    definitions: dict[str, Any] = {}
    for name, field in known.items():
        if name in leave_out:
            continue
        default: Any = ...
        if name in defaults:
            if field.default is not MISSING:
                default = field.default
            elif field.default_factory is not MISSING:
                default = Field(default_factory=field.default_factory)
            else:
                raise TypeError(f"{domain.__name__}.{name} has no default to keep")
        definitions[name] = (hints[name], default)
    base = create_model(f"{domain.__name__}Fields", __base__=DerivedView, __module__=domain.__module__, **definitions)
    base.domain = domain
    base.shown = tuple(definitions)
    base.left_out = frozenset(leave_out)
    return base
