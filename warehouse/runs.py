"""The ``sync_runs`` audit trail: one row per sync/backfill run, counters filled in by loads.

A run is ``running`` from ``start_run`` until ``finish_run``; a process that dies in between leaves
it ``running``, which ``fail_stale_runs`` can close once it is clearly abandoned.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

import duckdb

from warehouse._sql import first_row

__all__ = [
    "RUN_COUNTERS",
    "RunMode",
    "RunStatus",
    "fail_if_running",
    "fail_stale_runs",
    "finish_run",
    "start_run",
]

RunMode = Literal["incremental", "full", "backfill"]
RunStatus = Literal["succeeded", "failed"]

RUN_COUNTERS = (
    "requests",
    "pages",
    "jobs_seen",
    "jobs_inserted",
    "jobs_updated",
    "jobs_unchanged",
    "jobs_stale",
    "jobs_deleted",
    "jobs_rejected",
)

_MODES = ("incremental", "full", "backfill")


def start_run(con: duckdb.DuckDBPyConnection, mode: RunMode, params: Mapping[str, Any]) -> str:
    """Record a new ``running`` run and return its id (a UUID4 string)."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    run_id = str(uuid.uuid4())
    con.execute(
        "INSERT INTO sync_runs (run_id, mode, started_at, status, params) "
        "VALUES (?, ?, current_timestamp, 'running', ?::JSON)",
        [run_id, mode, json.dumps(dict(params), default=_encode, sort_keys=True)],
    )
    return run_id


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    status: RunStatus,
    error: str | None = None,
    complete: bool | None = None,
    notes: str | None = None,
) -> None:
    """Close a run; ``complete``/``notes`` keep their stored value when left as None."""
    if status not in ("succeeded", "failed"):
        raise ValueError(f"status must be 'succeeded' or 'failed', got {status!r}")
    row = first_row(
        con,
        "UPDATE sync_runs SET status = ?, finished_at = current_timestamp, error = ?, "
        "complete = coalesce(?, complete), notes = coalesce(?, notes) WHERE run_id = ?",
        [status, error, complete, notes, run_id],
    )
    if not row or row[0] != 1:
        raise ValueError(f"no sync run with id {run_id!r}")


def fail_if_running(con: duckdb.DuckDBPyConnection, run_id: str, *, error: str) -> bool:
    """Mark ``run_id`` failed if it is still ``running`` (a run that died mid-way); True if so."""
    row = first_row(
        con,
        "UPDATE sync_runs SET status = 'failed', finished_at = current_timestamp, error = ? "
        "WHERE run_id = ? AND status = 'running'",
        [error, run_id],
    )
    return bool(row and row[0])


def fail_stale_runs(
    con: duckdb.DuckDBPyConnection,
    *,
    started_before: datetime,
    error: str = "abandoned: the process ended before finishing the run",
) -> int:
    """Mark runs still ``running`` that started before ``started_before`` as failed.

    Writers release the file between batches, so another run may legitimately be in progress:
    only runs older than any plausible run length should be passed in.
    """
    row = first_row(
        con,
        "UPDATE sync_runs SET status = 'failed', finished_at = current_timestamp, error = ? "
        "WHERE status = 'running' AND started_at < ?",
        [error, started_before],
    )
    return int(row[0]) if row else 0


def _encode(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
