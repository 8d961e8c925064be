"""Kafka helpers: idempotent producer, consumer with dead letters, topic administration."""
