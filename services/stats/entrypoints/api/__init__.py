"""HTTP routes of the stats service (DESIGN.md, "Public HTTP contract"): one router per resource."""

from services.stats.entrypoints.api import dashboard, stats

routers = [stats.router, dashboard.router]
"""One router per resource, mounted by bootstrap (the dashboard's static files are mounted beside them)."""
