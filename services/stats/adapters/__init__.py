"""Adapters of the stats service: its PostgreSQL tables, Kafka, HTTP and SMTP ports."""
