"""PostgreSQL helpers: the pool, migrations and the processed-events inbox."""
