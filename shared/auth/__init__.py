"""Token authentication with roles and scopes; only token hashes are ever stored."""
