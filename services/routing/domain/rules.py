"""Routing rules as data: a condition (`when`) and the referrals it asks for (`refer`), with a pure `matches()`."""

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.routing.domain.facts import ConcernFacts
from shared.contracts.text import FreeText
from shared.contracts.vocabulary import Category, ChildrenInHousehold, Hint, ReferralTarget, Severity, Task

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]


class Strict(BaseModel):
    """Rules documents are typed by people: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(Strict):
    """Every condition given must hold; an absent condition holds for every concern."""

    categories_any: frozenset[Category] = frozenset()
    """The concern has at least one of these categories."""
    also_any: frozenset[Category] = frozenset()
    """... and also at least one of these (e.g. neglect combined with mental health)."""
    severities: frozenset[Severity] = frozenset()
    """The concern's severity (after repeats raised it) is one of these."""
    repeated: bool | None = None
    """The concern is (True) or is not (False) the third or later within 90 days about its tenancy."""
    hints_any: frozenset[Hint] = frozenset()
    """intake's triage read at least one of these hints in the description."""
    children_in_household: frozenset[ChildrenInHousehold] = frozenset()
    """The reporter's answer to whether children live in the household is one of these."""

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        given = self.categories_any or self.also_any or self.severities or self.hints_any
        if not (given or self.children_in_household or self.repeated is not None):
            raise ValueError("a rule needs at least one condition")
        return self

    def holds(self, facts: ConcernFacts) -> bool:
        """Whether the concern meets this condition."""
        if self.categories_any and not (self.categories_any & facts.categories):
            return False
        if self.also_any and not (self.also_any & facts.categories):
            return False
        if self.severities and facts.effective_severity not in self.severities:
            return False
        if self.hints_any and not (self.hints_any & facts.hints):
            return False
        if self.children_in_household and facts.children_in_household not in self.children_in_household:
            return False
        return self.repeated is None or self.repeated == facts.repeated


class ReferralSpec(Strict):
    """One referral a rule asks for: the kind of recipient, the task, and how urgent."""

    target: ReferralTarget
    task: Task = Task.ACT
    suggested_function: Code | None = None
    """The municipal function suggested (only for the municipality)."""
    urgent: bool = False
    """Handle at once: the clock is one hour whatever the severity."""
    statutory_duty: bool = False
    """The recipient has a statutory duty here (e.g. eviction prevention): a legal basis of its own."""
    otherwise: ReferralTarget | None = None
    """Where the referral goes when no recipient of `target` serves the department (associations)."""
    underretning: bool = False
    """An underretning (barnets lov) to the municipality's children and youth entry, on statutory duty, acknowledged
    within 1 working day (24 hours when acute) and its receipt confirmed within 6 (municipality only)."""
    vital_interest_when_confirmed: bool = False
    """Vital interest is the legal basis when the reporter confirmed the danger (municipality only); without that
    (and without consent), the consultant is asked to call at once (task `call`)."""

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.suggested_function and self.target is not ReferralTarget.MUNICIPALITY:
            raise ValueError("suggested_function is for municipality referrals only")
        if self.statutory_duty and self.target is not ReferralTarget.MUNICIPALITY:
            raise ValueError("statutory_duty applies to municipality referrals only")
        if self.underretning and self.target is not ReferralTarget.MUNICIPALITY:
            raise ValueError("underretning applies to municipality referrals only")
        if self.vital_interest_when_confirmed and self.target is not ReferralTarget.MUNICIPALITY:
            raise ValueError("vital_interest_when_confirmed applies to municipality referrals only")
        if self.otherwise is not None and self.otherwise is self.target:
            raise ValueError("otherwise must name another target")
        return self


class Rule(Strict):
    """A named rule: when its condition holds, it asks for its referrals."""

    id: Code
    description: FreeText = Field("", max_length=500)
    when: Condition
    refer: Annotated[tuple[ReferralSpec, ...], Field(min_length=1)]

    def matches(self, facts: ConcernFacts) -> bool:
        """Whether this rule fires for the concern (pure)."""
        return self.when.holds(facts)
