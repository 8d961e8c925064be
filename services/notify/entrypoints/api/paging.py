"""Paging by opaque cursor: the position a list's `after` parameter stands for, or a 422 naming it."""

from fastapi import HTTPException

from services.notify.domain.cursor import BadCursor, decode_cursor


def position_after(kind: str, after: str | None) -> int:
    """The position of cursor `after` in a list of `kind` (0 for none); a 422 when it is not one of ours."""
    try:
        return decode_cursor(kind, after)
    except BadCursor as error:
        raise HTTPException(422, f"after: {error}") from None
