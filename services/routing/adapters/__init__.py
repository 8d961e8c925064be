"""Adapters of the routing service: its PostgreSQL tables, Kafka, HTTP and SMTP ports."""
