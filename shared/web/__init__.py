"""The HTTP edge every service shares: app factory, errors, health, readiness, auth dependencies."""
