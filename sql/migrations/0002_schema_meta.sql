-- 0002: warehouse bookkeeping the migration runner keeps in step on every read-write open:
--   view:<name>  checksum of sql/views/<name>.sql; a view is (re)created when its file changes,
--                so a view can be fixed without a numbered migration;
--   hash_probe   hash() of a fixed tuple; when a DuckDB upgrade changes hash(), the runner
--                recomputes jobs.row_hash/raw_hash and job_history.row_hash once.
-- The analyst views themselves (sql/views/*.sql) are created right after this migration.

CREATE TABLE schema_meta (
    key         VARCHAR PRIMARY KEY,
    value       VARCHAR NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
