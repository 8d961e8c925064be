"""Which concern categories are health data (GDPR art. 9): associations never see them, not even counted.

The one list of the platform: routing's default rules (`services/routing/rules/default.yaml`) are held to it by
`tests/unit/test_stats_disclosure.py`, and stats withholds these categories from associations in every figure.
"""

from typing import Final

from shared.contracts.vocabulary import Category

HEALTH_CATEGORIES: Final = frozenset(
    {Category.MENTAL_HEALTH, Category.DEMENTIA_SIGNS, Category.SUBSTANCE_ABUSE, Category.SELF_NEGLECT}
)
"""Health categories: signs of mental illness, of dementia, of substance abuse, and self-neglect."""
