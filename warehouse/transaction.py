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

__all__ = ["transaction"]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit on success and roll back on any exception, unless the caller owns the transaction."""
    try:
        con.begin()
    except duckdb.TransactionException:
        yield  # joined the caller's transaction: it commits or rolls back
        return
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()
