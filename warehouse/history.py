"""How a job's current version becomes a closed ``job_history`` row.

A job's current version is its own ``jobs`` row (``sql/views/job_history.sql``): ``updated_at`` is
its ``valid_from``, ``deleted_at IS NOT NULL`` its ``is_deleted``, and the ``version_*`` columns say
who wrote it. Every writer that replaces or deletes a version moves it to ``job_history_closed``
the same way, through this one function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb

from warehouse.hashing import TRACKED_COLUMNS

__all__ = ["close_current_versions"]

_CLOSED_COLUMNS = (
    "job_id",
    "valid_from",
    "valid_to",
    "change_source",
    "is_deleted",
    *TRACKED_COLUMNS,
    "source_updated_at",
    "row_hash",
    "run_id",
    "recorded_at",
)


def close_current_versions(
    con: duckdb.DuckDBPyConnection,
    rows: str,
    valid_to: str,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Insert into ``job_history_closed`` the current version of every row ``rows`` yields.

    ``rows`` is a FROM clause (joins and WHERE allowed) in which ``j`` has the ``jobs`` columns of
    the version being closed; ``valid_to`` is the SQL for where it ends. Run it before the
    ``jobs`` rows change.
    """
    tracked = ", ".join(f"j.{column}" for column in TRACKED_COLUMNS)
    con.execute(
        f"""
        INSERT INTO job_history_closed ({", ".join(_CLOSED_COLUMNS)})
        SELECT j.job_id, j.updated_at, {valid_to}, j.version_source, j.deleted_at IS NOT NULL,
               {tracked}, j.source_updated_at, j.row_hash, j.version_run_id,
               j.version_recorded_at
        FROM {rows}
        """,
        params,
    )
