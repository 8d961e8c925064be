"""Recipients' e-mail addresses by recipient id, from the reference directory (intake owns it; notify follows it)."""

from dataclasses import dataclass

from shared.contracts.reference import ReferenceDirectory


@dataclass(frozen=True)
class Mailbox:
    """Where an e-mail to a recipient goes."""

    email: str
    name: str


class AddressBook:
    """Recipient id -> mailbox; unknown ids answer None (the delivery is then dead, for ops to fix)."""

    def __init__(self, mailboxes: dict[str, Mailbox] | None = None):
        self._mailboxes = dict(mailboxes or {})
        self.loaded = mailboxes is not None
        """False until the first directory arrived (an e-mail waits for it rather than fail)."""

    def replace(self, directory: ReferenceDirectory) -> None:
        """Take the mailboxes of a new directory: every recipient with an e-mail address."""
        self._mailboxes = mailboxes_of(directory)
        self.loaded = True

    def get(self, recipient_id: str) -> Mailbox | None:
        """The mailbox of a recipient."""
        return self._mailboxes.get(recipient_id)


def mailboxes_of(directory: ReferenceDirectory) -> dict[str, Mailbox]:
    """The mailboxes of the directory's recipients that have an e-mail address."""
    return {rid: Mailbox(r.email, r.name) for rid, r in directory.recipients.items() if r.email is not None}
