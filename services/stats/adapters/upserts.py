"""The merge rules of the keyed projections (referrals, deliveries, suggestions), written once.

Each write is an `Upsert`: the columns an event gives and, for a row that exists already, what each of them does to
it (`LEAST`, `ADD`, `follows(...)`, ...); a column without a rule keeps the row's first value (its identity). Both
paths are made from it: the live `INSERT ... ON CONFLICT DO UPDATE` (`sql`, in `projections.py`) and the rebuild's
in-memory fold of the same rows (`fold`, in `folding.py`), so the two cannot drift apart. As in SQL, every rule of
one write reads the row as it was before that write.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from services.stats.domain.calendar import local_day
from services.stats.domain.facts import StatusChange

Row = list[Any]
Rows = dict[str, Row]


@dataclass(frozen=True)
class Rule:
    """What a write does to a column of an existing row, in SQL and in Python (`{old}`, `{new}` and, for rules
    that look at another column `by`, `{old_by}`, `{new_by}`)."""

    sql: str
    python: str
    by: str | None = None


LEAST = Rule("LEAST({old}, {new})", "least({old}, {new})")
"""The earlier of the two (NULL ignored)."""
GREATEST = Rule("GREATEST({old}, {new})", "greatest({old}, {new})")
"""The later of the two (NULL ignored)."""
ADD = Rule("{old} + {new}", "{old} + {new}")
"""A counter."""
EITHER = Rule("{old} OR {new}", "({old} or {new})")
"""Once true, true."""
FILL = Rule("COALESCE({old}, {new})", "({old} if {old} is not None else {new})")
"""The first value given that is not NULL."""


def while_null(marker: str) -> Rule:
    """The write's value as long as the row's `marker` is NULL (the first write that sets it wins)."""
    return Rule(
        "CASE WHEN {old_by} IS NULL THEN {new} ELSE {old} END", "({new} if {old_by} is None else {old})", marker
    )


def follows(by: str, wins: str) -> Rule:
    """The write's value when its `by` beats the row's (`wins` is `<`: the earlier, `>=`: the later or a tie)."""
    if wins not in ("<", ">="):
        raise ValueError(wins)
    sql = (
        "CASE WHEN {new_by} IS NOT NULL AND ({old_by} IS NULL OR {new_by} "
        + wins
        + " {old_by}) THEN {new} ELSE {old} END"
    )
    python = "({new} if {new_by} is not None and ({old_by} is None or {new_by} " + wins + " {old_by}) else {old})"
    return Rule(sql, python, by)


def least(a: Any, b: Any) -> Any:
    """LEAST of SQL: the smaller, ignoring NULLs."""
    return b if a is None else a if b is None or a <= b else b


def greatest(a: Any, b: Any) -> Any:
    """GREATEST of SQL: the larger, ignoring NULLs."""
    return b if a is None else a if b is None or a >= b else b


@dataclass(frozen=True)
class Table:
    """A keyed projection table: its columns (the key first) and the values of those a write may leave out."""

    name: str
    columns: tuple[str, ...]
    defaults: dict[str, Any]


class Upsert:
    """One kind of write to a table, given values for the columns `given`: `sql` and `fold` apply them."""

    def __init__(self, table: Table, given: tuple[str, ...], rules: dict[str, Rule]):
        if given[0] != table.columns[0] or not set(given) | set(rules) <= set(table.columns):
            raise ValueError(f"an upsert of {table.name} must give its key first, and only its columns")
        if not set(rules) <= set(given) or any(r.by and r.by not in table.columns for r in rules.values()):
            raise ValueError(f"an upsert of {table.name} has a rule for a column it does not give")
        self.table, self.given, self.rules = table, given, rules
        self.sql = self._sql()
        self.fold: Callable[[Rows, tuple[Any, ...]], None] = self._fold()

    def _sql(self) -> str:
        t = self.table
        defaults = [c for c in t.columns if c not in self.given and c in t.defaults]
        values = [f"${i}" for i in range(1, len(self.given) + 1)] + [_literal(t.defaults[c]) for c in defaults]
        sets = [
            f"{column} = "
            + rule.sql.format(
                old=f"{t.name}.{column}",
                new=f"EXCLUDED.{column}",
                old_by=f"{t.name}.{rule.by}",
                new_by=f"EXCLUDED.{rule.by}",
            )
            for column, rule in self.rules.items()
        ]
        action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
        return (
            f"INSERT INTO {t.name} ({', '.join([*self.given, *defaults])}) VALUES ({', '.join(values)}) "  # noqa: S608
            f"ON CONFLICT ({t.columns[0]}) {action}"
        )

    def _fold(self) -> Callable[[Rows, tuple[Any, ...]], None]:
        # Made from source, as dataclasses make __init__: a rebuild folds every event, and a generic loop over the
        # rules took several times as long. Only column positions and the rules' own templates reach the source.
        t, at = self.table, {c: i for i, c in enumerate(self.given)}
        new_row = [f"v[{at[c]}]" if c in at else f"D[{c!r}]" if c in t.defaults else "None" for c in t.columns]
        lines = ["def fold(rows, v):", "    row = rows.get(v[0])", "    if row is None:"]
        lines += [f"        rows[v[0]] = [{', '.join(new_row)}]", "        return"]
        for n, (column, rule) in enumerate(self.rules.items()):
            by = rule.by or column
            expression = rule.python.format(
                old=f"row[{t.columns.index(column)}]",
                new=f"v[{at[column]}]",
                old_by=f"row[{t.columns.index(by)}]",
                new_by=f"v[{at[by]}]" if by in at else "None",
            )
            lines.append(f"    n{n} = {expression}")
        for n, column in enumerate(self.rules):
            lines.append(f"    row[{t.columns.index(column)}] = n{n}")
        namespace = {"least": least, "greatest": greatest, "D": dict(t.defaults)}
        exec("\n".join(lines) + "\n", namespace)  # noqa: S102 - source made from this module's constants only
        return namespace["fold"]


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and "'" not in value:
        return f"'{value}'"
    raise TypeError(f"no SQL literal for {value!r}")


REFERRALS = Table(
    "referrals",
    (
        "referral_id",
        "concern_id",
        "target",
        "recipient_id",
        "department_id",
        "municipality_code",
        "categories",
        "severity",
        "urgent",
        "created_at",
        "day",
        "status",
        "status_changed_at",
        "acknowledged_at",
        "completed_at",
        "outcome",
        "sla_breaches",
        "escalations",
    ),
    {"status": "requested", "sla_breaches": 0, "escalations": 0},
)
DELIVERIES = Table(
    "deliveries",
    (
        "delivery_id",
        "channel",
        "municipality_code",
        "day",
        "delivered_at",
        "latency_ms",
        "failed_attempts",
        "final_failed",
    ),
    {"failed_attempts": 0, "final_failed": False},
)
SUGGESTIONS = Table(
    "suggestions",
    (
        "suggestion_id",
        "concern_id",
        "hint",
        "target",
        "department_id",
        "municipality_code",
        "day",
        "suggested_at",
        "decision",
        "decided_at",
    ),
    {},
)
_REFERRAL = ("referral_id", "concern_id", "target", "department_id", "municipality_code")
_SUGGESTION = ("suggestion_id", "concern_id", "hint", "target", "department_id", "municipality_code", "day")


def _referral(data: Any) -> tuple[Any, ...]:
    return (
        *(data.referral_id, data.concern_id, str(data.target), data.recipient_id, data.department_id),
        *(data.municipality_code, [str(c) for c in data.categories], str(data.severity), data.urgent),
        *(data.created_at, local_day(data.created_at)),
    )


def _status_change(change: StatusChange) -> tuple[Any, ...]:
    at = change.changed_at
    return (
        *(change.referral_id, change.concern_id, change.target, change.department_id, change.municipality_code),
        *(change.to_status, at, at if change.acknowledges else None, at if change.completes else None),
        change.outcome if change.completes else None,
    )


def _clock_event(data: Any) -> tuple[Any, ...]:
    return data.referral_id, data.concern_id, str(data.target), data.department_id, data.municipality_code, 1


def _delivery(data: Any, delivered: bool) -> tuple[Any, ...]:
    at = data.delivered_at if delivered else data.failed_at
    return (
        *(data.delivery_id, str(data.channel), data.municipality_code, local_day(at), at if delivered else None),
        *(data.latency_ms if delivered else None, 0 if delivered else 1, (not delivered) and data.final),
    )


def _suggestion(data: Any, at: Any, *rest: Any) -> tuple[Any, ...]:
    return (
        *(data.suggestion_id, data.concern_id, str(data.hint), str(data.target), data.department_id),
        *(data.municipality_code, local_day(at), at, *rest),
    )


_CREATION = ("recipient_id", "categories", "severity", "urgent", "created_at", "day")
REFERRAL_CREATED = Upsert(
    REFERRALS, (*_REFERRAL[:3], "recipient_id", *_REFERRAL[3:], *_CREATION[1:]),
    dict.fromkeys(_CREATION, while_null("created_at")),
)  # fmt: skip
"""A referral's creation: the first one fills in what a row begun by a status or clock event lacks."""
STATUS_CHANGED = Upsert(
    REFERRALS,
    (*_REFERRAL, "status", "status_changed_at", "acknowledged_at", "completed_at", "outcome"),
    {
        "status": follows("status_changed_at", ">="),  # the latest state; the later arrival on a tie
        "status_changed_at": GREATEST,
        "acknowledged_at": LEAST,  # the first answer
        "completed_at": LEAST,
        "outcome": follows("completed_at", "<"),  # the first completion's
    },
)
"""A lifecycle move folded into the referral."""
SLA_BREACHED = Upsert(REFERRALS, (*_REFERRAL, "sla_breaches"), {"sla_breaches": ADD})
ESCALATED = Upsert(REFERRALS, (*_REFERRAL, "escalations"), {"escalations": ADD})
DELIVERY = Upsert(
    DELIVERIES,
    DELIVERIES.columns,
    {
        "municipality_code": FILL,
        "day": LEAST,
        "latency_ms": follows("delivered_at", "<"),  # the first success's
        "delivered_at": LEAST,
        "failed_attempts": ADD,
        "final_failed": EITHER,
    },
)
"""A delivery that succeeded or an attempt that failed (finally or not)."""
SUGGESTED = Upsert(
    SUGGESTIONS,
    (*_SUGGESTION, "suggested_at"),
    dict.fromkeys(("day", "suggested_at"), while_null("suggested_at")),
)
"""A suggestion; its day is the suggestion's (a row a decision began keeps the decision's day until then)."""
SUGGESTION_DECIDED = Upsert(
    SUGGESTIONS,
    (*_SUGGESTION, "decided_at", "decision"),
    dict.fromkeys(("decided_at", "decision"), while_null("decision")),
)
"""The decision on a suggestion: the first one counts."""
CLOCK_EVENTS = {"sla_breaches": SLA_BREACHED, "escalations": ESCALATED}
TABLES = (REFERRALS, DELIVERIES, SUGGESTIONS)


class KeyedWrites:
    """The ProjectionWriter methods of the keyed tables, each one `Upsert`; a writer says how to apply it."""

    async def apply(self, upsert: Upsert, values: tuple[Any, ...]) -> None:
        """Apply one write's values (live: its statement; the rebuild: its fold)."""
        raise NotImplementedError

    def record_referral(self, data: Any) -> Awaitable[None]:
        """A new referral; the first creation event wins, later status events only fold in."""
        return self.apply(REFERRAL_CREATED, _referral(data))

    def record_status_change(self, change: StatusChange) -> Awaitable[None]:
        """Fold a lifecycle move in: latest state, first answer, first completion and its outcome."""
        return self.apply(STATUS_CHANGED, _status_change(change))

    def count_clock_event(self, data: Any, column: str) -> Awaitable[None]:
        """One more SLA breach or escalation of a referral."""
        return self.apply(CLOCK_EVENTS[column], _clock_event(data))

    def record_delivery(self, data: Any, *, delivered: bool) -> Awaitable[None]:
        """A delivery succeeded or an attempt failed (finally or not)."""
        return self.apply(DELIVERY, _delivery(data, delivered))

    def record_suggestion(self, data: Any) -> Awaitable[None]:
        """A recipient a hint suggested; its day is the suggestion's (a decision read first kept its own)."""
        return self.apply(SUGGESTED, _suggestion(data, data.suggested_at))

    def record_suggestion_decision(self, data: Any) -> Awaitable[None]:
        """The consultant's decision on a suggestion; the first one counts (a suggestion is decided once)."""
        return self.apply(SUGGESTION_DECIDED, _suggestion(data, data.decided_at, str(data.decision)))
