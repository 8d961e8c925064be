"""Event contracts: the CloudEvents envelope, every event of DESIGN.md, topics and keys."""
