"""The portal's routers, in the order they are included (add a page module's router here)."""

from services.portal.entrypoints.api import auth, follow, health, home, report

routers = [health.router, auth.router, home.router, report.router, follow.router]
