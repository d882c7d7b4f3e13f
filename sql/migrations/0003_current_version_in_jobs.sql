-- 0003: the current version of every job is stored once, in jobs; job_history becomes a view.
-- Every job has exactly one current version (valid_to IS NULL) and its tracked attributes are the
-- job's own, so writing it to job_history too doubled the columnar work of a first load (~1 s of
-- two cores per million jobs) and the history's storage. jobs gains the three facts only the
-- version knew (which writer, which run, when recorded); closed versions move to
-- job_history_closed, and sql/views/job_history.sql joins both back under the contract name. The
-- current version's valid_from is jobs.updated_at and its is_deleted is deleted_at IS NOT NULL:
-- every writer keeps those in step with the version it writes (warehouse.load, .reconcile).
-- jobs is rebuilt rather than altered: DuckDB 2.0 refuses SET NOT NULL after an UPDATE in the
-- same transaction ("outstanding updates"), and a migration is one transaction.

CREATE TABLE jobs_v3 (
    job_id                  VARCHAR PRIMARY KEY,
    title                   VARCHAR,
    company                 VARCHAR,
    employment_type         VARCHAR,
    location_raw            VARCHAR,
    city                    VARCHAR,
    region                  VARCHAR,
    country_code            VARCHAR,
    is_remote               BOOLEAN,
    salary_min              DOUBLE,
    salary_max              DOUBLE,
    salary_currency         VARCHAR,
    salary_period           VARCHAR,
    salary_period_inferred  BOOLEAN,
    salary_min_usd_annual   DOUBLE,
    salary_max_usd_annual   DOUBLE,
    posted_at               TIMESTAMPTZ,
    source_updated_at       TIMESTAMPTZ,
    first_seen_at           TIMESTAMPTZ NOT NULL,
    last_seen_at            TIMESTAMPTZ NOT NULL,
    last_scanned_at         TIMESTAMPTZ,
    updated_at              TIMESTAMPTZ NOT NULL,
    version_at              TIMESTAMPTZ NOT NULL,
    deleted_at              TIMESTAMPTZ,
    row_hash                UBIGINT NOT NULL,
    raw_hash                UBIGINT NOT NULL,
    raw                     VARCHAR USING COMPRESSION zstd,
    version_source          VARCHAR NOT NULL CHECK (version_source IN ('sync', 'webhook', 'reconcile')),
    version_run_id          VARCHAR,
    version_recorded_at     TIMESTAMPTZ NOT NULL
);

INSERT INTO jobs_v3
SELECT j.*, coalesce(h.change_source, 'sync'), h.run_id, coalesce(h.recorded_at, j.updated_at)
FROM jobs AS j
LEFT JOIN (
    SELECT job_id, change_source, run_id, recorded_at
    FROM job_history
    WHERE valid_to IS NULL
    QUALIFY row_number() OVER (PARTITION BY job_id ORDER BY valid_from DESC) = 1
) AS h ON h.job_id = j.job_id;

DROP TABLE jobs;
ALTER TABLE jobs_v3 RENAME TO jobs;

CREATE TABLE job_history_closed (
    job_id                  VARCHAR NOT NULL,
    valid_from              TIMESTAMPTZ NOT NULL,
    valid_to                TIMESTAMPTZ NOT NULL,
    change_source           VARCHAR NOT NULL CHECK (change_source IN ('sync', 'webhook', 'reconcile')),
    is_deleted              BOOLEAN NOT NULL DEFAULT false,
    title                   VARCHAR,
    company                 VARCHAR,
    employment_type         VARCHAR,
    location_raw            VARCHAR,
    city                    VARCHAR,
    region                  VARCHAR,
    country_code            VARCHAR,
    is_remote               BOOLEAN,
    salary_min              DOUBLE,
    salary_max              DOUBLE,
    salary_currency         VARCHAR,
    salary_period           VARCHAR,
    salary_period_inferred  BOOLEAN,
    salary_min_usd_annual   DOUBLE,
    salary_max_usd_annual   DOUBLE,
    posted_at               TIMESTAMPTZ,
    source_updated_at       TIMESTAMPTZ,
    row_hash                UBIGINT NOT NULL,
    run_id                  VARCHAR,
    recorded_at             TIMESTAMPTZ NOT NULL
);

INSERT INTO job_history_closed SELECT * FROM job_history WHERE valid_to IS NOT NULL;

DROP TABLE job_history;
