"""Code shared by the four services: contracts, config, Kafka and PostgreSQL helpers, auth, metrics."""
