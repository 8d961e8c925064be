"""Routing's move and decision handlers through the in-memory unit of work: no PostgreSQL.

A move is one unit with its events (the history line, the referral.status_changed.v1, a re-route's new referral);
a refused move writes nothing; a suggestion is decided once.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.routing.domain.clock import FakeClock
from services.routing.domain.lifecycle import IllegalTransition
from services.routing.domain.referral import Referral, from_plan
from services.routing.domain.routing import decide
from services.routing.domain.suggestions import SuggestionStatus, Verdict, suggest
from services.routing.handlers import suggestions
from services.routing.handlers.deps import Deps
from services.routing.handlers.ports import InMemoryUnitOfWork, moves_of
from services.routing.handlers.transitions import Forbidden, Move, NotFound, move_referral
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import ReferralStatus, ReferralTarget
from tests.unit.test_routing_hints import hinted
from tests.unit.test_routing_rules import RULES

pytestmark = pytest.mark.unit
S = ReferralStatus
T0 = datetime(2025, 3, 4, 9, tzinfo=UTC)
OPS = Principal("cli_ops", Role.OPS)
KALUNDBORG = Principal("cli_kalundborg", Role.MUNICIPALITY, municipality_code="0326")
CONSULTANT = Principal("cli_consultant", Role.CONSULTANT, department_ids=frozenset({"holbaek-1"}))


def routed(*categories: str, hints: tuple[str, ...] = ()) -> tuple[Deps, InMemoryUnitOfWork, list[Referral]]:
    """A concern routed by the default rules, its referrals stored in the fake; the clock an hour later."""
    facts = hinted(categories, *hints)
    referrals = [from_plan(p, facts, rules_version=1, now=T0) for p in decide(facts, RULES)]
    uow = InMemoryUnitOfWork(rules=(1, RULES))
    uow.tables.referrals.update({r.referral_id: r for r in referrals})
    deps = Deps(None, FakeClock(T0 + timedelta(hours=1)), None, "routing", "referral-events", "/services/routing",  # type: ignore[arg-type]
                uow=uow)  # fmt: skip
    return deps, uow, referrals


def recipient(referral: Referral) -> Principal:
    role = {ReferralTarget.MUNICIPALITY: Role.MUNICIPALITY, ReferralTarget.CONSULTANT: Role.CONSULTANT,
            ReferralTarget.ASSOCIATION: Role.ASSOCIATION}[referral.target]  # fmt: skip
    return Principal(f"cli_{referral.recipient_id}", role, municipality_code=referral.municipality_code,
                     department_ids=frozenset({referral.department_id}))  # fmt: skip


def types(uow: InMemoryUnitOfWork) -> list[str]:
    return [event.type for event in uow.tables.outbox]


async def test_the_recipients_move_is_saved_with_its_history_line_and_its_event() -> None:
    deps, uow, (referral, *_) = routed("loneliness")

    moved = await move_referral(deps, recipient(referral), referral.referral_id, Move(S.RECEIVED))

    assert moved.referral.status is S.RECEIVED and moved.rerouted_to is None
    assert uow.tables.referrals[referral.referral_id].status is S.RECEIVED
    assert moves_of(uow, referral.referral_id) == [(S.REQUESTED, S.RECEIVED, T0 + timedelta(hours=1))]
    assert types(uow) == ["referral.status_changed.v1"]
    assert uow.tables.outbox[0].data.to_status is S.RECEIVED
    assert uow.commits == 1


async def test_a_referral_outside_the_callers_scope_is_not_found_and_ops_may_look_but_not_move() -> None:
    deps, uow, (referral, *_) = routed("loneliness")

    with pytest.raises(NotFound):
        await move_referral(deps, KALUNDBORG, referral.referral_id, Move(S.RECEIVED))
    with pytest.raises(NotFound):
        await move_referral(deps, OPS, "no-such-referral", Move(S.RECEIVED))
    with pytest.raises(Forbidden):
        await move_referral(deps, OPS, referral.referral_id, Move(S.RECEIVED))

    assert uow.tables.referrals[referral.referral_id].status is S.REQUESTED
    assert uow.tables.transitions == [] and uow.tables.outbox == []


async def test_an_illegal_move_writes_nothing() -> None:
    deps, uow, (referral, *_) = routed("loneliness")

    with pytest.raises(IllegalTransition):
        await move_referral(deps, recipient(referral), referral.referral_id, Move(S.COMPLETED))

    assert uow.tables.transitions == [] and uow.tables.outbox == [] and uow.commits == 0


async def test_a_move_whose_event_cannot_be_queued_is_not_saved_either() -> None:
    deps, uow, (referral, *_) = routed("loneliness")

    async def broken(events: list[Any]) -> None:
        raise ConnectionError("the outbox is unavailable")

    uow.outbox.add = broken  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await move_referral(deps, recipient(referral), referral.referral_id, Move(S.RECEIVED))

    assert uow.tables.referrals[referral.referral_id].status is S.REQUESTED
    assert uow.tables.transitions == []


async def test_a_rejection_hands_the_concern_on_in_the_same_unit() -> None:
    deps, uow, (referral, *_) = routed("loneliness")
    who = recipient(referral)
    await move_referral(deps, who, referral.referral_id, Move(S.RECEIVED))

    moved = await move_referral(deps, who, referral.referral_id, Move(S.REJECTED, reason="capacity"))

    carried = moved.rerouted_to
    assert moved.referral.status is S.REJECTED and carried is not None
    assert carried.recipient_id != referral.recipient_id
    assert uow.tables.referrals[carried.referral_id].status is S.REQUESTED  # the new referral, stored
    assert types(uow) == ["referral.status_changed.v1", "referral.status_changed.v1", "referral.created.v1"]
    assert uow.tables.outbox[1].data.rerouted_to_referral_id == carried.referral_id
    assert uow.tables.transitions[-1]["rerouted_to"] == carried.referral_id


async def test_a_suggestion_is_confirmed_once_into_a_referral_with_both_events() -> None:
    deps, uow, referrals = routed("loneliness", hints=("possible_hoarding",))
    facts = hinted(("loneliness",), "possible_hoarding")
    (suggestion,) = suggest(facts, decide(facts, RULES), lambda f: decide(f, RULES), rules_version=1, now=T0)
    uow.suggestions.store(suggestion)

    decided = await suggestions.decide(deps, CONSULTANT, suggestion.suggestion_id, Verdict.CONFIRM, None)

    assert decided.suggestion.status is SuggestionStatus.CONFIRMED and decided.referral is not None
    assert uow.tables.referrals[decided.referral.referral_id].recipient_id == suggestion.recipient_id
    assert uow.tables.suggestions[suggestion.suggestion_id].referral_id == decided.referral.referral_id
    assert types(uow) == ["referral.created.v1", "referral.suggestion_decided.v1"]
    with pytest.raises(IllegalTransition):
        await suggestions.decide(deps, CONSULTANT, suggestion.suggestion_id, Verdict.DISMISS, "already handled")
    assert len(uow.tables.outbox) == 2
    with pytest.raises(NotFound):
        await suggestions.decide(deps, KALUNDBORG, suggestion.suggestion_id, Verdict.DISMISS, None)
    assert len(referrals) + 1 == len(uow.tables.referrals)
