"""The demo clock's route, mounted only when LOCAL_DEV is on (elsewhere it does not exist: 404)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.routing.entrypoints.deps import DepsDep
from services.routing.handlers import demo_clock
from shared.auth.principal import Principal, Role
from shared.settings import Settings
from shared.web.auth import require_roles
from shared.web.errors import AUTHENTICATED, problem_responses

router = APIRouter(prefix="/v1/demo", tags=["demo (LOCAL_DEV only)"], responses=problem_responses(*AUTHENTICATED))
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]
MAX_WORKING_DAYS = 250


class ClockAdvance(BaseModel):
    """How far the demo's clocks move."""

    model_config = ConfigDict(extra="forbid")

    working_days: int = Field(ge=1, le=MAX_WORKING_DAYS, description="Danish working days (helligdage excluded).")


class ClockAdvanced(BaseModel):
    """What followed: the referrals whose clocks moved, and the reminders and escalations that fell due."""

    working_days: int
    shifted_by_hours: float
    """The span the open referrals' stored times went back (weekends and public holidays included)."""
    now: datetime
    referrals_moved: int
    """Open referrals whose clocks moved."""
    reminders: int
    """Reminders now due (`referral.sla_breached.v1`): unacknowledged referrals past their due time, and
    underretninger whose receipt is unconfirmed past its clock."""
    escalations: int
    """Unacknowledged referrals now past twice their due time: `referral.escalated.v1` to the escalation contact."""


def demo_clock_enabled(settings: Settings) -> bool:
    """Only a local development stack has the demo clock; never a production deployment, whatever LOCAL_DEV says."""
    return settings.local_dev and settings.environment != "production"


@router.post(
    "/clock/advance",
    summary="Move the open referrals' clocks N working days on (local demo stack only).",
)
async def advance_clock(body: ClockAdvance, principal: Admin, deps: DepsDep) -> ClockAdvanced:
    """Shifts the open referrals' stored times back in one transaction, then runs the clocks' normal path."""
    done = await demo_clock.advance(deps, body.working_days)
    return ClockAdvanced(
        working_days=done.working_days,
        shifted_by_hours=done.shifted_by.total_seconds() / 3600,
        now=done.now,
        referrals_moved=done.referrals,
        reminders=done.reminders_due,
        escalations=done.escalations_due,
    )
