-- Claims and lease extensions change no indexed column; free room on each page lets PostgreSQL update
-- those rows in place (HOT), without new index entries.
ALTER TABLE deliveries SET (fillfactor = 70);

-- Most deliveries end delivered: index by state only the others, which ops list (dead, pending, ...).
DROP INDEX IF EXISTS deliveries_by_state;
CREATE INDEX deliveries_unfinished_by_state ON deliveries (state, seq) WHERE state <> 'delivered';
