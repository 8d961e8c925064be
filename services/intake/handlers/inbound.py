"""Concerns from integrated housing systems: map with the system's mapping, then the same path as HTTP."""

from typing import NoReturn

from services.intake.adapters.mappings import MappingError, map_inbound
from services.intake.domain.concern import ConcernRefused
from services.intake.handlers.concerns import ConcernConflict, accept_concern
from services.intake.handlers.deps import Deps
from services.intake.metrics import CONCERNS_REFUSED, source_label
from shared.contracts.inbound import InboundConcern
from shared.contracts.vocabulary import IntakeChannel
from shared.kafka.errors import PermanentError


class InboundRefused(PermanentError):
    """An inbound message that can never become a concern: dead-lettered with the reason."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


async def handle_inbound(deps: Deps, message: InboundConcern) -> None:
    """Map, check and accept an inbound concern; a duplicate (same system + external id) is a replay."""
    mapping = deps.mappings.get(message.system)
    if mapping is None:
        _refuse(message.system, False, "unknown_system", "no mapping for this source system")
    try:
        report = map_inbound(mapping, message.payload, message.external_id)
    except MappingError as error:
        # Every field at fault, so the sender fixes them in one go (the dead letter's error is cut at 500 characters).
        _refuse(message.system, True, "invalid_mapping_result", f"mapped concern invalid: {error}")
    try:
        await accept_concern(deps, report, channel=IntakeChannel.INBOUND, source_system=message.system)
    except ConcernRefused as error:
        _refuse(message.system, True, error.reason, f"mapped concern refused: {error}")
    except ConcernConflict as error:
        _refuse(message.system, True, "conflicting_duplicate", f"external id reused: {error}")


def _refuse(system: str, known: bool, reason: str, message: str) -> NoReturn:
    CONCERNS_REFUSED.labels(source_label("inbound", system, known), reason).inc()
    raise InboundRefused(reason, message)
