"""The four services; each runs as its own process with its own database, consumer group and port."""
