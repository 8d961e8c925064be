"""SQL of the rebuild: the shadow schema it loads, the tables it swaps, and how it finds their indexes."""

SHADOW = "stats_rebuild"
PROJECTION_TABLES = (
    "concern_facts",
    "erasures",
    "concern_counts",
    "concern_category_counts",
    "referrals",
    "deliveries",
    "suggestions",
    "processed_events",
)
"""Swapped in together; processed_events (the inbox) goes with them so live updates resume exactly."""

SHADOW_INDEXES = """
SELECT c.relname AS table_name, pg_get_indexdef(i.indexrelid) AS index_def, con.conname AS constraint_name,
       pg_get_constraintdef(con.oid) AS constraint_def
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = c.oid AND con.contype IN ('p', 'u')
 WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])
 ORDER BY con.conname IS NULL, c.relname
"""
"""The live tables' indexes and key constraints: the shadow tables get them once loaded (cheaper than per row)."""
