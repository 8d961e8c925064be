"""Every test module carries its tier's marker: `make test` selects each tier with `-m <tier>`, so a module
without it would be deselected silently and never run in CI."""

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]
TIERS = ("unit", "integration", "e2e", "chaos", "browser", "portal")


@pytest.mark.parametrize("tier", TIERS)
def test_every_module_of_a_tier_is_marked_with_it(tier: str) -> None:
    unmarked = [
        path.name for path in sorted((TESTS / tier).glob("test_*.py")) if f"pytest.mark.{tier}" not in path.read_text()
    ]
    assert not unmarked, f"tests/{tier}: no pytest.mark.{tier} in {unmarked}"
