"""Soft-delete jobs that a complete, unfiltered full scan did not see.

Only the flows know whether a scan was complete (no drift, no filter), so they decide whether to
call this; the rule here is the safety net: a job counts as seen when any listing observed it at
or after ``scan_started_at`` (``last_scanned_at``), and a job first seen after the scan started
(e.g. created by webhook mid-scan) is never deleted, because the scan could not have listed it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from warehouse._sql import first_row
from warehouse.history import close_current_versions
from warehouse.transaction import transaction

__all__ = ["mark_vanished"]


def mark_vanished(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    scan_started_at: datetime,
    observed_at: datetime,
) -> int:
    """Mark live jobs unseen by the scan as deleted at ``observed_at``; return how many.

    Each deletion closes the current history version and adds a ``reconcile`` version with
    ``is_deleted = true`` (the job's row itself, see ``warehouse.history``);
    ``sync_runs.jobs_deleted`` of ``run_id`` grows by the same count.
    """
    if scan_started_at.tzinfo is None or observed_at.tzinfo is None:
        raise ValueError("scan_started_at and observed_at must be timezone-aware")
    with transaction(con):
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE _mv_gone AS
            SELECT job_id FROM jobs
            WHERE deleted_at IS NULL
              AND (last_scanned_at IS NULL OR last_scanned_at < $scan_started_at)
              AND first_seen_at < $scan_started_at
            """,
            {"scan_started_at": scan_started_at},
        )
        row = first_row(con, "SELECT count(*) FROM _mv_gone")
        deleted = int(row[0]) if row else 0
        if deleted:
            # The current version ends here; the job's row then carries the deletion version
            # (same attributes, is_deleted, from reconcile).
            close_current_versions(
                con,
                "jobs AS j JOIN _mv_gone AS g ON g.job_id = j.job_id",
                "$observed_at",
                {"observed_at": observed_at},
            )
            con.execute(
                "UPDATE jobs SET deleted_at = $observed_at, updated_at = $observed_at, "
                "version_source = 'reconcile', version_run_id = $run_id, "
                "version_recorded_at = current_timestamp "
                "FROM _mv_gone AS g "
                "WHERE jobs.job_id = g.job_id",
                {"observed_at": observed_at, "run_id": run_id},
            )
        row = first_row(
            con,
            "UPDATE sync_runs SET jobs_deleted = jobs_deleted + ? WHERE run_id = ?",
            [deleted, run_id],
        )
        if not row or row[0] != 1:
            raise ValueError(f"no sync run with id {run_id!r}; start_run() it first")
        con.execute("DROP TABLE _mv_gone")
    return deleted
