"""A reporter's contact, read from intake's agreed endpoint when a receipt is sent; never stored here."""

from dataclasses import dataclass
from typing import Protocol

import httpx


class ContactLookupFailed(Exception):
    """Intake could not answer now (down, slow, refused our token): try again later."""


@dataclass(frozen=True)
class ReporterContact:
    """How to reach a reporter: `email` or `sms` and the address; no name. The receipt code every mail quotes."""

    channel: str | None
    address: str | None
    receipt_code: str | None = None


class ReporterContacts(Protocol):
    """The contact of a concern's reporter; None when there is none (or the concern was erased)."""

    async def contact(self, concern_id: str) -> ReporterContact | None: ...


class IntakeReporterContacts:
    """`GET /v1/concerns/{id}/reporter-contact` with notify's admin service token (intake audits each read)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, token: str):
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._token = token

    async def contact(self, concern_id: str) -> ReporterContact | None:
        """Intake's answer; ContactLookupFailed on anything but 200 or 404."""
        try:
            response = await self._http.get(
                f"{self._base_url}/v1/concerns/{concern_id}/reporter-contact",
                headers={"Authorization": f"Bearer {self._token}"},
            )
        except httpx.HTTPError as error:
            raise ContactLookupFailed(type(error).__name__) from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ContactLookupFailed(f"intake answered {response.status_code}")
        try:
            body = response.json()
            contact = ReporterContact(body.get("channel"), body.get("address"), body.get("receipt_code"))
        except (ValueError, AttributeError):
            raise ContactLookupFailed("intake answered no JSON object") from None
        if not contact.receipt_code:
            # The reporter is told to quote the code; a mail without it (an older intake) waits for one that has it.
            raise ContactLookupFailed("intake answered without receipt_code")
        return contact


class InMemoryReporterContacts:
    """Fake ReporterContacts for unit tests."""

    def __init__(self, contacts: dict[str, ReporterContact] | None = None):
        self.contacts = dict(contacts or {})
        self.asked: list[str] = []

    async def contact(self, concern_id: str) -> ReporterContact | None:
        """The configured contact."""
        self.asked.append(concern_id)
        return self.contacts.get(concern_id)
