"""A read-only summary of the warehouse for ``jobsphere status``: what ran, what landed, what waits."""

from __future__ import annotations

from typing import Any

import duckdb

from warehouse._sql import first_row
from warehouse.migrations import schema_version
from warehouse.runs import RUN_COUNTERS
from warehouse.state import all_state

__all__ = ["CONTRACT_TABLES", "warehouse_status"]

CONTRACT_TABLES = (
    "jobs",
    "job_history",
    "applications",
    "application_status_history",
    "webhook_events",
    "sync_runs",
    "rejected_records",
)

_RUN_FIELDS = ("run_id", "status", "started_at", "finished_at", "complete", "error", "notes")


def warehouse_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Everything an operator asks first, as plain Python values (works on read-only opens).

    Keys: ``schema_version``, ``state`` (cursor and checkpoints), ``last_runs`` (latest run per
    mode with its counters, None when that mode never ran), ``row_counts`` per contract table,
    ``jobs`` (live/deleted), ``webhooks`` (events by outcome, pending = stored but not applied,
    last received).
    """
    version = schema_version(con)
    if version == 0:
        return {
            "schema_version": 0,
            "state": {},
            "last_runs": {},
            "row_counts": {},
            "jobs": {},
            "webhooks": {},
        }
    columns = ", ".join((*_RUN_FIELDS, *RUN_COUNTERS))
    last_runs: dict[str, dict[str, Any] | None] = {}
    for mode in ("incremental", "full", "backfill"):
        row = first_row(
            con,
            f"SELECT {columns} FROM sync_runs WHERE mode = ? ORDER BY started_at DESC LIMIT 1",
            [mode],
        )
        last_runs[mode] = (
            None if row is None else dict(zip((*_RUN_FIELDS, *RUN_COUNTERS), row, strict=True))
        )
    counts_sql = " UNION ALL ".join(
        f"SELECT '{table}' AS name, count(*) AS n FROM {table}" for table in CONTRACT_TABLES
    )
    row_counts = {name: int(n) for name, n in con.execute(counts_sql).fetchall()}
    live, deleted = first_row(
        con,
        "SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM jobs",
    ) or (0, 0)
    by_outcome = {
        (outcome or "pending"): int(n)
        for outcome, n in con.execute(
            "SELECT outcome, count(*) FROM webhook_events GROUP BY outcome ORDER BY outcome"
        ).fetchall()
    }
    last_received = first_row(con, "SELECT max(received_at) FROM webhook_events")
    return {
        "schema_version": version,
        "state": all_state(con),
        "last_runs": last_runs,
        "row_counts": row_counts,
        "jobs": {"live": int(live), "deleted": int(deleted)},
        "webhooks": {
            "by_outcome": by_outcome,
            "pending": by_outcome.get("pending", 0),
            "last_received_at": last_received[0] if last_received else None,
        },
    }
