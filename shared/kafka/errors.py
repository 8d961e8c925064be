"""What a consumer's handler can say about an event it cannot apply, and how the pipeline names an event's type."""


class PermanentError(Exception):
    """The message can never be applied as it is (e.g. it names an unknown department): dead-letter it."""

    reason = "rejected"


class UnhandledEvent(PermanentError):
    """No handler for this type yet: dead-letter it, so it can be replayed once one exists."""

    reason = "unhandled_type"


UNAPPLIABLE_DATA = "unappliable_data"
"""Dead-letter reason: valid by the contract, but the database refuses a value (e.g. a number out of range)."""


def event_type_of(event: object) -> str:
    """The CloudEvents type of an envelope, else the class name (e.g. InboundConcern)."""
    return str(getattr(event, "type", None) or type(event).__name__)
