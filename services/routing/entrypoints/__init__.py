"""Thin entrypoints of the routing service: HTTP routes and event consumers."""
