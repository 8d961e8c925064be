"""How intake may reach a reporter: an e-mail address, a phone number for SMS, or neither."""

import re
from dataclasses import dataclass
from typing import Literal

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()-]+$")


@dataclass(frozen=True)
class ReporterContact:
    """A reporter's contact as notify uses it; channel None means: kept, but not usable for notifications."""

    channel: Literal["email", "sms"] | None
    address: str


def classify_contact(contact: str) -> ReporterContact:
    """Read a free-text contact as an e-mail address or a (Danish by default) mobile number."""
    text = contact.strip()
    if _EMAIL.match(text):
        return ReporterContact("email", text)
    if _PHONE_CHARS.match(text):
        digits = re.sub(r"[^0-9]", "", text)
        if text.startswith("+") and 8 <= len(digits) <= 15:
            return ReporterContact("sms", "+" + digits)
        if text.startswith("00") and 10 <= len(digits) <= 17:
            return ReporterContact("sms", "+" + digits[2:])
        if len(digits) == 8:
            return ReporterContact("sms", "+45" + digits)
    return ReporterContact(None, text)
