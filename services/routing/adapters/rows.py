"""Rows of a table that holds one domain dataclass: its columns are the dataclass's fields, enums stored as their
values (the enum columns are read off the field types, so a new field needs no table of its own here)."""

from collections.abc import Callable, Iterable
from dataclasses import fields
from enum import Enum
from types import NoneType, UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

import asyncpg

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


def _enum(hint: Any) -> type[Enum] | None:
    """The enum a field holds (also when optional), or None."""
    if get_origin(hint) in (UnionType, Union):
        args = [a for a in get_args(hint) if a is not NoneType]
        hint = args[0] if len(args) == 1 else None
    return hint if isinstance(hint, type) and issubclass(hint, Enum) else None


class Rows(Generic[T]):
    """Converts between rows and instances of dataclass `T`; `columns` are its fields, in order."""

    def __init__(self, cls: type[T]):
        self.cls = cls
        self.columns: tuple[str, ...] = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
        hints = get_type_hints(cls)
        self.enums: dict[str, type[Enum]] = {n: e for n in self.columns if (e := _enum(hints[n]))}
        """Columns of one enum value (or null)."""
        self.enum_tuples: dict[str, type[Enum]] = {
            n: e for n in self.columns if get_origin(hints[n]) is tuple and (e := _enum(get_args(hints[n])[0]))
        }
        """Columns of an array of enum values."""

    def decode(self, row: asyncpg.Record) -> T:
        """An instance from a row holding every column."""
        values = {name: row[name] for name in self.columns}
        for name, enum in self.enums.items():
            if values[name] is not None:
                values[name] = enum(values[name])
        for name, enum in self.enum_tuples.items():
            values[name] = tuple(enum(v) for v in values[name])
        return self.cls(**values)

    def values(self, item: T) -> list[Any]:
        """The row of an instance, column by column (enums as their values)."""
        return [_stored(getattr(item, name)) for name in self.columns]


def _stored(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple) and value and isinstance(value[0], Enum):
        return [v.value for v in value]
    return value


def grouped(keys: Iterable[K], rows: Iterable[asyncpg.Record], key: str, build: Callable[[Any], V]) -> dict[K, list[V]]:
    """`build(row)` of each row, grouped by the row's `key` column; every one of `keys` has a list (maybe empty)."""
    found: dict[K, list[V]] = {k: [] for k in keys}
    for row in rows:
        found[row[key]].append(build(row))
    return found
