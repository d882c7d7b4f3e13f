-- 0001: the contract tables of SPEC section 4 plus the internal bookkeeping tables.
-- Timestamps are TIMESTAMPTZ (an instant); the writer sessions run with TimeZone = 'UTC'.
-- Only primary keys that the contract names are declared: DuckDB maintains an ART index per key,
-- and every extra index slows the batch loads down. jobs.raw is JSON text in a VARCHAR (DuckDB's
-- JSON functions and ->/->> operators accept it) so loads skip re-validating every payload; it is
-- ZSTD-compressed, which is both smaller and cheaper to checkpoint than the automatic choice.
-- row_hash/raw_hash are DuckDB hash() values used by the loader to detect change cheaply.

CREATE TABLE jobs (
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
    raw                     VARCHAR USING COMPRESSION zstd
);

CREATE TABLE job_history (
    job_id                  VARCHAR NOT NULL,
    valid_from              TIMESTAMPTZ NOT NULL,
    valid_to                TIMESTAMPTZ,
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

CREATE TABLE applications (
    application_id  VARCHAR PRIMARY KEY,
    job_id          VARCHAR,
    candidate_id    VARCHAR,
    status          VARCHAR,
    applied_at      TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ
);

CREATE TABLE application_status_history (
    application_id   VARCHAR NOT NULL,
    job_id           VARCHAR,
    candidate_id     VARCHAR,
    previous_status  VARCHAR,
    status           VARCHAR,
    changed_at       TIMESTAMPTZ,
    event_id         VARCHAR
);

CREATE TABLE webhook_events (
    event_id     VARCHAR PRIMARY KEY,
    event_type   VARCHAR NOT NULL,
    created_at   TIMESTAMPTZ,
    received_at  TIMESTAMPTZ NOT NULL,
    applied_at   TIMESTAMPTZ,
    outcome      VARCHAR CHECK (outcome IN ('applied', 'stale', 'ignored')),
    deliveries   INTEGER NOT NULL DEFAULT 1,
    payload      JSON
);

CREATE TABLE sync_runs (
    run_id          VARCHAR PRIMARY KEY,
    mode            VARCHAR NOT NULL CHECK (mode IN ('incremental', 'full', 'backfill')),
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    requests        BIGINT NOT NULL DEFAULT 0,
    pages           BIGINT NOT NULL DEFAULT 0,
    jobs_seen       BIGINT NOT NULL DEFAULT 0,
    jobs_inserted   BIGINT NOT NULL DEFAULT 0,
    jobs_updated    BIGINT NOT NULL DEFAULT 0,
    jobs_unchanged  BIGINT NOT NULL DEFAULT 0,
    jobs_stale      BIGINT NOT NULL DEFAULT 0,
    jobs_deleted    BIGINT NOT NULL DEFAULT 0,
    jobs_rejected   BIGINT NOT NULL DEFAULT 0,
    error           VARCHAR,
    params          JSON,
    complete        BOOLEAN,
    notes           VARCHAR
);

CREATE TABLE rejected_records (
    run_id       VARCHAR,
    job_id       VARCHAR,
    reason       VARCHAR NOT NULL,
    raw          VARCHAR,
    rejected_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE fx_rates (
    currency      VARCHAR PRIMARY KEY,
    usd_per_unit  DOUBLE NOT NULL CHECK (usd_per_unit > 0),
    as_of         DATE NOT NULL
);

CREATE TABLE sync_state (
    key         VARCHAR PRIMARY KEY,
    value       JSON,
    updated_at  TIMESTAMPTZ NOT NULL
);
