"""E-mail over SMTP (aiosmtplib): consultants from the address book, reporters via intake, Danish templates."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Protocol

import aiosmtplib

from services.notify.adapters.address_book import AddressBook
from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.reporter_contacts import ContactLookupFailed, ReporterContacts
from services.notify.adapters.templates import TemplateRenderer
from services.notify.domain.fanout import REPORTER
from services.notify.domain.model import AttemptKind, AttemptResult


class MailTransport(Protocol):
    """Hands one message to the mail system; raises aiosmtplib's errors (or OSError) when it cannot."""

    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class SmtpTransport:
    """aiosmtplib to the configured SMTP server."""

    host: str
    port: int
    timeout_s: float
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    use_tls: bool = False

    async def send(self, message: EmailMessage) -> None:
        """One connection per message: e-mail volume is low and a broken connection never lingers."""
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            timeout=self.timeout_s,
            username=self.username,
            password=self.password,
            start_tls=self.start_tls,
            use_tls=self.use_tls,
        )


@dataclass
class InMemoryMailTransport:
    """Fake MailTransport for unit tests: keeps what was sent; can fail with a given error."""

    sent: list[EmailMessage] = field(default_factory=list)
    fail_with: Exception | None = None

    async def send(self, message: EmailMessage) -> None:
        """Record the message, or raise the configured error."""
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(message)


def _smtp_failure(error: Exception) -> AttemptResult:
    """Refused recipients or content (5xx) will not change by retrying; anything else may."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        permanent = all(r.code >= 500 for r in error.recipients)
        return AttemptResult(AttemptKind.PERMANENT if permanent else AttemptKind.RETRY, "smtp_rejected")
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError) and error.code >= 500:
        return AttemptResult(AttemptKind.PERMANENT, "smtp_rejected")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return AttemptResult(AttemptKind.RETRY, "smtp_error")
    return AttemptResult(AttemptKind.RETRY, "smtp_unavailable")


class EmailSender:
    """Resolves the address at sending time (so none is stored with the delivery), renders, sends."""

    def __init__(
        self,
        transport: MailTransport,
        renderer: TemplateRenderer,
        address_book: AddressBook,
        contacts: ReporterContacts | None,
        *,
        sender: str,
    ):
        self._transport = transport
        self._renderer = renderer
        self._address_book = address_book
        self._contacts = contacts
        self._sender = sender
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "notify.invalid"

    async def _address(self, delivery: ClaimedDelivery) -> tuple[str, str, dict[str, str]] | AttemptResult:
        """The recipient's name and address, and what the mail adds to the delivery's context (a receipt code)."""
        if delivery.recipient_id == REPORTER:
            if self._contacts is None or not delivery.concern_id:
                return AttemptResult(AttemptKind.CANCELLED, "receipts_not_configured")
            try:
                contact = await self._contacts.contact(delivery.concern_id)
            except ContactLookupFailed:
                return AttemptResult(AttemptKind.RETRY, "contact_lookup_failed")
            if contact is None or not contact.channel or not contact.address:
                return AttemptResult(AttemptKind.CANCELLED, "no_reporter_contact")
            if contact.channel != "email":
                return AttemptResult(AttemptKind.CANCELLED, "unsupported_channel")
            if not contact.receipt_code:
                return AttemptResult(AttemptKind.RETRY, "contact_lookup_failed")
            return "", contact.address, {"receipt_code": contact.receipt_code}
        if not self._address_book.loaded:  # notify has just started: the reference directory is on its way
            return AttemptResult(AttemptKind.RETRY, "reference_data_loading")
        mailbox = self._address_book.get(delivery.recipient_id or "")
        if mailbox is None:
            return AttemptResult(AttemptKind.PERMANENT, "unknown_recipient")
        return mailbox.name, mailbox.email, {}

    async def send(self, delivery: ClaimedDelivery) -> AttemptResult:
        """One attempt; never raises for the mail system's faults."""
        address = await self._address(delivery)
        if isinstance(address, AttemptResult):
            return address
        name, email, extra = address
        subject, text = self._renderer.render(delivery.template or "", json.loads(delivery.body) | extra)
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = formataddr((name, email))
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(UTC))
        # The same id on every attempt, so a mail system can drop a second copy after a crash.
        message["Message-ID"] = f"<{delivery.id}@{self._domain}>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        try:
            await self._transport.send(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            return _smtp_failure(error)
        return AttemptResult.ok()
