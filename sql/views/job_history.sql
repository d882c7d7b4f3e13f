-- job_history: one row per distinct version of a job (SCD type 2, SPEC section 4). Closed
-- versions are stored in job_history_closed; the current one (valid_to IS NULL) is the job's own
-- row in jobs, which holds the same tracked attributes (migration 0003 says why).
CREATE OR REPLACE VIEW job_history AS
SELECT job_id, valid_from, valid_to, change_source, is_deleted,
       title, company, employment_type, location_raw, city, region, country_code, is_remote,
       salary_min, salary_max, salary_currency, salary_period, salary_period_inferred,
       salary_min_usd_annual, salary_max_usd_annual, posted_at,
       source_updated_at, row_hash, run_id, recorded_at
FROM job_history_closed
UNION ALL
SELECT job_id, updated_at, CAST(NULL AS TIMESTAMPTZ), version_source, deleted_at IS NOT NULL,
       title, company, employment_type, location_raw, city, region, country_code, is_remote,
       salary_min, salary_max, salary_currency, salary_period, salary_period_inferred,
       salary_min_usd_annual, salary_max_usd_annual, posted_at,
       source_updated_at, row_hash, version_run_id, version_recorded_at
FROM jobs;
