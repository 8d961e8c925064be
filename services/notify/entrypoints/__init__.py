"""Thin entrypoints of the notify service: HTTP routes and event consumers."""
