"""The portal's routers, in the order they are included (add a page module's router here)."""

from services.portal.entrypoints.api import admin, auth, follow, health, home, municipality, report, worklist

routers = [health.router, auth.router, home.router, report.router, follow.router, worklist.router, municipality.router,
           admin.router]
