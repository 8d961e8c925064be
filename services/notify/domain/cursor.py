"""Opaque cursors for the feed and the delivery list: callers pass them back, never build them."""

import base64
import binascii


class BadCursor(ValueError):
    """The cursor was not one this service handed out."""


def encode_cursor(kind: str, position: int) -> str:
    """An opaque cursor for `position` in a list of `kind`."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> int:
    """The position a cursor stands for (0 for none); BadCursor when it is not one of ours."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor("not a cursor of this list") from None
    prefix, _, number = text.partition(":")
    if prefix != kind or not number.isdigit() or len(number) > 18:
        raise BadCursor("not a cursor of this list")
    return int(number)
