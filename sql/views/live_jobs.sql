-- live_jobs: the jobs that are currently listed by JobSphere, i.e. not soft-deleted by a full
-- scan. Same columns as jobs.
CREATE OR REPLACE VIEW live_jobs AS
SELECT *
FROM jobs
WHERE deleted_at IS NULL;
