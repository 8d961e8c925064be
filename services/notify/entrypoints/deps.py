"""Dependencies of notify's routes, as types: the service's parts live on app.state.notify."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Request

from services.notify.adapters.delivery_log import DeliveryLog
from services.notify.adapters.resolver import Resolver
from services.notify.adapters.secrets import SecretBox
from services.notify.adapters.subscriptions import SubscriptionStore
from services.notify.settings import NotifySettings


@dataclass
class NotifyParts:
    """What the routes use; bootstrap sets it on app.state.notify."""

    settings: NotifySettings
    pool: asyncpg.Pool
    subscriptions: SubscriptionStore
    deliveries: DeliveryLog
    secrets: SecretBox
    resolver: Resolver
    wake_workers: Callable[[], None]


def notify_parts(request: Request) -> NotifyParts:
    """The service's parts, set by the lifespan."""
    return request.app.state.notify


PartsDep = Annotated[NotifyParts, Depends(notify_parts)]
