"""HTTP routes of the routing service (DESIGN.md, "Public HTTP contract"): one router per resource."""

from fastapi import APIRouter

from services.routing.entrypoints.api import demo, referrals, rules
from shared.settings import Settings

routers = [referrals.router, rules.router]
"""One router per resource, mounted by bootstrap."""


def local_dev_routers(settings: Settings) -> list[APIRouter]:
    """The demo clock's route, only on a local development stack (LOCAL_DEV); elsewhere its path is a 404."""
    return [demo.router] if demo.demo_clock_enabled(settings) else []
