"""Result helpers: DuckDB 2 refuses new work on a connection while an ``execute()`` result is
only partly fetched, so single values are always read with ``fetchall()``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

__all__ = ["first_row", "scalar"]


def first_row(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> tuple[Any, ...] | None:
    """The first row of ``sql`` (or None), with the whole result consumed."""
    rows = con.execute(sql, params).fetchall()
    return tuple(rows[0]) if rows else None


def scalar(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Sequence[Any] | Mapping[str, Any] | None = None,
) -> Any:
    """The first column of the first row (DML returns its affected-row count this way)."""
    row = first_row(con, sql, params)
    return None if row is None else row[0]
