"""Thin entrypoints of the intake service: HTTP routes and event consumers."""
