"""Small named JSON values (incremental cursor, scan checkpoints) kept in ``sync_state``.

Loads write their state keys in the same transaction as the rows they describe (see
``load_jobs(state=...)``), so a cursor never runs ahead of the data; these helpers are for reads
and for writes that stand alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import duckdb

from warehouse._sql import first_row

__all__ = ["all_state", "get_state", "set_state", "write_state"]


def get_state(con: duckdb.DuckDBPyConnection, key: str) -> Any | None:
    """The decoded value stored under ``key``, or None when it was never set."""
    row = first_row(con, "SELECT value FROM sync_state WHERE key = ?", [key])
    return None if row is None or row[0] is None else json.loads(row[0])


def set_state(con: duckdb.DuckDBPyConnection, key: str, value: Any) -> None:
    """Store ``value`` (JSON-serializable; datetimes/dates become ISO 8601 strings)."""
    write_state(con, {key: value})


def all_state(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every stored key with its decoded value, for status reports."""
    rows = con.execute("SELECT key, value FROM sync_state ORDER BY key").fetchall()
    return {key: None if value is None else json.loads(value) for key, value in rows}


def write_state(con: duckdb.DuckDBPyConnection, values: Mapping[str, Any]) -> None:
    """Upsert several keys; runs inside the caller's transaction when one is open."""
    for key, value in values.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"state keys must be non-empty strings, got {key!r}")
        con.execute(
            "INSERT INTO sync_state VALUES (?, ?::JSON, current_timestamp) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            [key, json.dumps(value, default=_encode, sort_keys=True)],
        )


def _encode(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"state values must be JSON-serializable, got {type(value).__name__}")
