"""The notify domain: pure Python, no faust, aiokafka, asyncpg or fastapi imports."""
