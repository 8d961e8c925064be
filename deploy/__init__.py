"""The local stack: Kafka, PostgreSQL and the four services as supervised processes, no containers."""
