"""Adapters of the intake service: its PostgreSQL tables, Kafka, HTTP and SMTP ports."""
