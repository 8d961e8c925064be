"""Costs avoided: outcomes times configurable unit costs, always presented as an estimate."""

from dataclasses import dataclass

from shared.contracts.vocabulary import Outcome

ESTIMATE_LABEL = "Skøn: antal afsluttede sager med udfaldet gange en fast enhedsomkostning, ikke en opgørelse."
"""Danish label shown wherever the figure appears."""


@dataclass(frozen=True)
class UnitCosts:
    """DKK per concern with the outcome (DESIGN.md: 500,000 per eviction avoided, up to 500,000 per dwelling)."""

    eviction_avoided: int = 500_000
    dwelling_restored: int = 500_000

    def by_outcome(self) -> dict[str, int]:
        """Unit cost of each outcome that avoids a cost."""
        return {Outcome.EVICTION_AVOIDED: self.eviction_avoided, Outcome.DWELLING_RESTORED: self.dwelling_restored}


def estimate(concerns_by_outcome: dict[str, int], unit_costs: UnitCosts) -> dict:
    """The estimate: per outcome the concerns, the unit cost and the amount; a concern counts once per outcome."""
    items = [
        {
            "outcome": outcome,
            "concerns": concerns_by_outcome.get(outcome, 0),
            "unit_cost_dkk": unit_cost,
            "amount_dkk": concerns_by_outcome.get(outcome, 0) * unit_cost,
        }
        for outcome, unit_cost in unit_costs.by_outcome().items()
    ]
    return {
        "estimate": True,
        "label": ESTIMATE_LABEL,
        "currency": "DKK",
        "total_dkk": sum(item["amount_dkk"] for item in items),
        "items": items,
    }
