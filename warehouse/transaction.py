"""One transaction per unit of work, or the caller's when it already has one open.

The webhook applier wants a job change, the application rows and the ``webhook_events`` record in
one transaction; a sync wants each batch in its own. Warehouse writers therefore open a
transaction unless one is already active, in which case they join it and leave commit or
rollback to its owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from warehouse._sql import scalar

__all__ = ["in_transaction", "transaction"]


def in_transaction(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con`` has an explicit transaction open.

    DuckDB has no direct probe, and a failed ``BEGIN`` aborts the caller's transaction, so this
    asks for the transaction id twice: in auto-commit mode each statement gets a new one.
    """
    return bool(scalar(con, "SELECT txid_current()") == scalar(con, "SELECT txid_current()"))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit on success and roll back on any exception, unless the caller owns the transaction."""
    if in_transaction(con):
        yield  # joined the caller's transaction: it commits or rolls back
        return
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()
