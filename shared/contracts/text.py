"""Text a service may store: PostgreSQL refuses NUL in text and jsonb, so every string taken in is checked here.

One rule for every service, every HTTP body, query and header field and every Kafka record: `Line` for
names, ids, e-mail addresses, URLs and labels (no control character at all), `FreeText` for what a person
writes (tab and line breaks allowed, no other C0 control character); neither holds a lone surrogate. Refused at
validation: a 422 naming the field, or a dead letter.
"""

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticKnownError

LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
"""Control characters a one-line value may not hold: all of C0 (NUL included) and DEL."""
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters free text may not hold: C0 (NUL included) except tab, line feed, carriage return; DEL."""
SURROGATE = re.compile(r"[\ud800-\udfff]")
"""A lone surrogate (JSON's "\\udc00"): no UTF-8 text holds one, so PostgreSQL cannot store it either."""


def _not_unicode(value: str) -> None:
    # A plain `str` field refuses it as not unicode; a validated one must as well, in the same words.
    if SURROGATE.search(value):
        raise PydanticKnownError("string_unicode")


def one_line(value: str) -> str:
    """The value, or ValueError when it holds a control character."""
    _not_unicode(value)
    if LINE_CONTROL.search(value):
        raise ValueError("must not hold control characters")
    return value


def free_text(value: str) -> str:
    """The value, or ValueError when it holds a control character other than tab and line breaks."""
    _not_unicode(value)
    if TEXT_CONTROL.search(value):
        raise ValueError("must not hold control characters other than tab and line breaks")
    return value


ONE_LINE = AfterValidator(one_line)
"""The check of `Line`, to put after constraints that strip whitespace or hold a pattern: `Annotated[str,
StringConstraints(...), ONE_LINE]` (a `Line` checks before them, so it would refuse a trailing line break they
strip, and its pattern would be missing from the JSON Schema)."""
FREE_TEXT = AfterValidator(free_text)
"""The check of `FreeText`, to put after constraints that strip whitespace."""
Line = Annotated[str, ONE_LINE]
"""A one-line string without control characters; add constraints: `Annotated[Line, Field(max_length=200)]`."""
FreeText = Annotated[str, FREE_TEXT]
"""Free text without control characters other than tab, line feed and carriage return."""
