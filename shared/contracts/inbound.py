"""What an integrated housing system sends on the concern-inbound topic (not a CloudEvent)."""

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.errors import INVALID_DATA, parse_object, validate
from shared.contracts.events import UtcDatetime
from shared.contracts.text import Line
from shared.contracts.topics import CONCERN_INBOUND, inbound_key

SystemId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class InboundConcern(BaseModel):
    """A raw concern from an integrated housing system, in that system's own format.

    intake maps `payload` with the mapping registered for `system`. Unlike the platform's own events,
    the payload may hold personal data and free text: the topic is read by intake only.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    topic: ClassVar[str] = CONCERN_INBOUND

    system: SystemId
    """Id of the source system (one mapping per system), e.g. `edora`."""
    external_id: Annotated[Line, Field(min_length=1, max_length=128)]
    """The concern's id in the source system; with `system` it is the natural key and the Kafka key."""
    sent_at: UtcDatetime | None = None
    """When the source system sent the concern."""
    payload: dict[str, Any]
    """Free-form JSON object in the source system's own format."""

    @property
    def key(self) -> str:
        """The Kafka key: source system + external id."""
        return inbound_key(self.system, self.external_id)


def encode_inbound(message: InboundConcern) -> bytes:
    """Compact UTF-8 JSON of an inbound concern."""
    return message.model_dump_json(exclude_none=True).encode()


def decode_inbound(raw: bytes | str) -> InboundConcern:
    """Parse and validate an inbound concern; raises ContractError."""
    return validate(InboundConcern, parse_object(raw), reason=INVALID_DATA, what="inbound concern")
