"""The intake domain: pure Python, no faust, aiokafka, asyncpg or fastapi imports."""
