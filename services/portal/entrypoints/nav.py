"""The main navigation per role: (path, Danish label, roles that see it). Pages of other helpers add lines here."""

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    roles: frozenset[str]


REPORTING = frozenset({"reporter", "consultant"})

NAV: list[NavItem] = [
    NavItem("/arbejdsliste", "Arbejdsliste", frozenset({"consultant", "association"})),
    NavItem("/indbakke", "Indbakke", frozenset({"municipality"})),
    NavItem("/bekymringer/ny", "Meld en bekymring", REPORTING),
    NavItem("/bekymringer", "Mine bekymringer", REPORTING),
    NavItem("/foelg", "Følg en bekymring", REPORTING),
    NavItem("/admin/regler", "Regler", frozenset({"admin"})),
    NavItem("/admin/klienter", "API-klienter", frozenset({"admin"})),
    NavItem("/admin/webhooks", "Webhooks", frozenset({"admin", "ops"})),
]


def nav_for(role: str | None) -> list[NavItem]:
    """The items a person of `role` sees, in order."""
    return [item for item in NAV if role in item.roles]
