"""Intake: Concerns reported over HTTP and from integrated housing systems: receipt, guidance, nothing lost."""
