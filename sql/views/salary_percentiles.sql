-- salary_percentiles: distribution of annual salaries in USD over live jobs, per country_code and
-- employment_type (NULL groups are kept: unknown country or type). A job's figure is the midpoint
-- of salary_min_usd_annual and salary_max_usd_annual, or the one bound it has; jobs without any
-- USD figure (unknown currency, no salary) are left out. Percentiles are continuous (interpolated).
CREATE OR REPLACE VIEW salary_percentiles AS
WITH salaries AS (
    SELECT
        country_code,
        employment_type,
        coalesce(
            (salary_min_usd_annual + salary_max_usd_annual) / 2,
            salary_min_usd_annual,
            salary_max_usd_annual
        ) AS annual_usd
    FROM jobs
    WHERE deleted_at IS NULL
)
SELECT
    country_code,
    employment_type,
    count(*) AS jobs,
    quantile_cont(annual_usd, 0.25) AS p25_usd,
    quantile_cont(annual_usd, 0.50) AS p50_usd,
    quantile_cont(annual_usd, 0.75) AS p75_usd,
    quantile_cont(annual_usd, 0.90) AS p90_usd
FROM salaries
WHERE annual_usd IS NOT NULL
GROUP BY country_code, employment_type;
