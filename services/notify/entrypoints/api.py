"""HTTP routes of the notify service (DESIGN.md, "Public HTTP contract")."""

from services.notify.entrypoints import api_deliveries, api_feed, api_subscriptions

routers = [api_subscriptions.router, api_feed.router, api_deliveries.router]
