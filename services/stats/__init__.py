"""Stats: The flow made visible for ops, management and municipal cooperation."""
