"""Consultants' e-mail addresses by recipient id, from a data file (fictional in the demo)."""

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Mailbox:
    """Where an e-mail to a recipient goes."""

    email: str
    name: str


class AddressBook:
    """Recipient id -> mailbox; unknown ids answer None (the delivery is then dead, for ops to fix)."""

    def __init__(self, mailboxes: dict[str, Mailbox]):
        self._mailboxes = dict(mailboxes)

    @classmethod
    def from_file(cls, path: Path) -> "AddressBook":
        """Read `recipients:` from a YAML file."""
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))["recipients"] or {}
        return cls({rid: Mailbox(email=e["email"], name=e.get("name", "")) for rid, e in entries.items()})

    def get(self, recipient_id: str) -> Mailbox | None:
        """The mailbox of a recipient."""
        return self._mailboxes.get(recipient_id)
