"""Adapters of the notify service: its PostgreSQL tables, Kafka, HTTP and SMTP ports."""
