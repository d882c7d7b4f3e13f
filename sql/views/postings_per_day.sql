-- postings_per_day: how many jobs were posted on each UTC calendar day (by posted_at), counting
-- every job ever seen, with how many of them are still live and how many are remote.
-- Jobs without posted_at are left out.
CREATE OR REPLACE VIEW postings_per_day AS
SELECT
    CAST(timezone('UTC', posted_at) AS DATE) AS posted_date,
    count(*) AS postings,
    count(*) FILTER (WHERE deleted_at IS NULL) AS live_postings,
    count(*) FILTER (WHERE is_remote) AS remote_postings
FROM jobs
WHERE posted_at IS NOT NULL
GROUP BY posted_date;
