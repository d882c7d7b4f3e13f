"""``applications`` and ``application_status_history`` from webhook events (SPEC sections 2, 4).

Both event kinds are folded into one frame of *facts* (see :data:`FACT_SCHEMA`), one per event:
``application.received`` says "status S as of ``applied_at``", ``candidate.status_changed``
says "status S as of ``changed_at``". Newest wins per application by that timestamp (``ts``):

- an event whose ``ts`` is older than what the warehouse (or an earlier-arrived event of the
  same batch) already holds is ``stale``: its status does not overwrite, but an
  ``applied_at`` it carries still fills an empty one;
- a status change for an application not seen yet creates the row (its ``applied_at`` comes
  later with ``application.received``); an application whose job is not in ``jobs`` yet is kept
  and joins once the job arrives (there is no foreign key on purpose);
- every status change is appended to ``application_status_history`` once per event id, stale
  or not: the history is a log of what happened, ordered by ``changed_at``.

Set-based SQL over one registered Arrow frame; the caller owns the transaction.
"""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse._arrow import frame_of, register_frame

__all__ = ["FACT_SCHEMA", "apply_application_facts"]

_UTC = pl.Datetime("us", "UTC")

#: One row per event; ``kind`` is ``received`` or ``status_changed``; ``seq`` is arrival order.
FACT_SCHEMA: dict[str, pl.DataType] = {
    "event_id": pl.String(),
    "seq": pl.Int64(),
    "kind": pl.String(),
    "application_id": pl.String(),
    "job_id": pl.String(),
    "candidate_id": pl.String(),
    "previous_status": pl.String(),
    "status": pl.String(),
    "applied_at": _UTC,
    "ts": _UTC,
}

_OUTCOMES = """
WITH f AS (
    SELECT f.event_id, f.seq, f.application_id, f.ts, a.updated_at AS stored_ts
    FROM _app_facts AS f LEFT JOIN applications AS a ON a.application_id = f.application_id
), r AS (
    SELECT *,
           max(ts) OVER (
               PARTITION BY application_id ORDER BY seq
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ) AS prior_ts
    FROM f
)
SELECT event_id,
       CASE WHEN greatest(stored_ts, prior_ts) > ts THEN 'stale' ELSE 'applied' END AS outcome
FROM r
"""

_LATEST = """
CREATE OR REPLACE TEMP VIEW _app_latest AS
WITH ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY application_id ORDER BY ts DESC NULLS LAST, seq DESC
    ) AS rn
    FROM _app_facts
), agg AS (
    SELECT application_id,
           min(applied_at) AS applied_at,
           arg_max(job_id, seq) FILTER (WHERE job_id IS NOT NULL) AS job_id,
           arg_max(candidate_id, seq) FILTER (WHERE candidate_id IS NOT NULL) AS candidate_id
    FROM _app_facts GROUP BY application_id
)
SELECT r.application_id, g.job_id, g.candidate_id, r.status, g.applied_at, r.ts AS updated_at
FROM ranked AS r JOIN agg AS g ON g.application_id = r.application_id
WHERE r.rn = 1
"""

_UPDATE = """
UPDATE applications AS t SET
    status = CASE WHEN t.updated_at IS NULL OR n.updated_at >= t.updated_at
                  THEN n.status ELSE t.status END,
    updated_at = CASE WHEN t.updated_at IS NULL OR n.updated_at > t.updated_at
                      THEN n.updated_at ELSE t.updated_at END,
    applied_at = coalesce(t.applied_at, n.applied_at),
    job_id = coalesce(t.job_id, n.job_id),
    candidate_id = coalesce(t.candidate_id, n.candidate_id)
FROM _app_latest AS n
WHERE t.application_id = n.application_id
"""

_INSERT = """
INSERT INTO applications (application_id, job_id, candidate_id, status, applied_at, updated_at)
SELECT n.application_id, n.job_id, n.candidate_id, n.status, n.applied_at, n.updated_at
FROM _app_latest AS n
WHERE NOT EXISTS (SELECT 1 FROM applications AS a WHERE a.application_id = n.application_id)
"""

_HISTORY = """
INSERT INTO application_status_history
    (application_id, job_id, candidate_id, previous_status, status, changed_at, event_id)
SELECT f.application_id, f.job_id, f.candidate_id, f.previous_status, f.status, f.ts, f.event_id
FROM _app_facts AS f
WHERE f.kind = 'status_changed'
  AND NOT EXISTS (
      SELECT 1 FROM application_status_history AS h WHERE h.event_id = f.event_id
  )
"""


def apply_application_facts(con: duckdb.DuckDBPyConnection, facts: pl.DataFrame) -> pl.DataFrame:
    """Apply ``facts`` (unique event ids, non-null ``application_id`` and ``ts``).

    Returns ``event_id, outcome`` with outcome ``applied`` or ``stale``, decided against the
    state before this batch and the earlier-arrived facts of the batch.
    """
    if facts.is_empty():
        return pl.DataFrame(schema={"event_id": pl.String(), "outcome": pl.String()})
    frame = facts.select(list(FACT_SCHEMA)).cast(FACT_SCHEMA)
    register_frame(con, "_app_facts", frame)
    try:
        outcomes = frame_of(con.sql(_OUTCOMES))
        con.execute(_LATEST)
        try:
            con.execute(_UPDATE)
            con.execute(_INSERT)
        finally:
            con.execute("DROP VIEW IF EXISTS _app_latest")
        con.execute(_HISTORY)
    finally:
        con.unregister("_app_facts")
    return outcomes.cast({"event_id": pl.String, "outcome": pl.String})
