"""Thin entrypoints of the stats service: HTTP routes and event consumers."""
