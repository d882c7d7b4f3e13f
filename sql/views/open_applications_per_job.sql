-- open_applications_per_job: per job that has applications, how many are still open.
-- "Open" means any status other than hired, rejected or withdrawn (case-insensitive); an
-- application with an unknown or NULL status counts as open, since nothing says it was closed.
-- Jobs not (yet) in the jobs table still appear, with NULL title/company.
CREATE OR REPLACE VIEW open_applications_per_job AS
WITH per_job AS (
    SELECT
        job_id,
        count(*) FILTER (
            WHERE coalesce(lower(status), '') NOT IN ('hired', 'rejected', 'withdrawn')
        ) AS open_applications,
        count(*) AS total_applications,
        max(applied_at) AS last_applied_at
    FROM applications
    WHERE job_id IS NOT NULL
    GROUP BY job_id
)
SELECT
    p.job_id,
    j.title,
    j.company,
    j.deleted_at IS NULL AND j.job_id IS NOT NULL AS job_is_live,
    p.open_applications,
    p.total_applications,
    p.last_applied_at
FROM per_job AS p
LEFT JOIN jobs AS j ON j.job_id = p.job_id;
