"""HTTP routes of the notify service (DESIGN.md, "Public HTTP contract")."""

from services.notify.entrypoints.api import deliveries, feed, subscriptions

routers = [subscriptions.router, feed.router, deliveries.router]
"""One router per resource, mounted by bootstrap."""
