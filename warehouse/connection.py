"""Open the warehouse file for one batch, and only for one batch.

DuckDB lets a single process hold a database file read-write and locks out every other process,
readers included. Writers therefore open the file per batch and close it right after, so an analyst
can open it read-only in between; whoever finds it locked retries with exponential backoff for a
bounded time instead of failing on the first collision.

Read-write opens attach the file with a smaller row group size (``_ROW_GROUP_SIZE``). DuckDB
writes an append of at least one row group straight to the file at insert time ("optimistic
write"), while a smaller append goes through the WAL and a checkpoint that re-processes the jobs
primary-key index: for a 50,000-row batch that commit cost ~1 s of CPU, three times the insert
itself. With 16,384-row groups a sync batch is written optimistically and only its remainder takes
the WAL path. The setting is per attach, not stored in the file, so every writer applies it; a
plain ``duckdb.connect`` (analysts, read-only opens) reads the file exactly as before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.errors import WarehouseError, WarehouseLockedError, WarehouseMissingError
from warehouse.migrations import migrate

__all__ = ["open_warehouse"]

_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0
_LOCK_PID = re.compile(r"\(PID (\d+)\)")
# A multiple of DuckDB's 2,048-row vector; below the default sync batch (flows.defaults).
_ROW_GROUP_SIZE = 16_384
# Catalog names an in-memory connection already uses: such a file stem keeps the plain connect.
_RESERVED_CATALOGS = frozenset({"memory", "temp", "system", "main"})


@contextmanager
def open_warehouse(
    path: str | Path,
    *,
    read_only: bool = False,
    lock_timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to the warehouse at ``path`` and close it when the block ends.

    A read-write open creates the file if needed and applies pending migrations (a single cheap
    query when the schema is current). Sessions run in UTC so that timestamps render and cast the
    same for every caller. ``sleep``/``clock`` exist so tests can drive the backoff without waiting.
    """
    db_path = Path(path)
    con = _connect(
        db_path, read_only=read_only, lock_timeout=lock_timeout, sleep=sleep, clock=clock
    )
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        if not read_only:
            # Row order of loaded tables carries no meaning; not preserving it speeds up inserts.
            con.execute("SET preserve_insertion_order = false")
            migrate(con)
        yield con
    finally:
        con.close()


def _connect(
    path: Path,
    *,
    read_only: bool,
    lock_timeout: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> duckdb.DuckDBPyConnection:
    if read_only and not path.exists():
        raise WarehouseMissingError(
            f"no warehouse at {path}; run `jobsphere sync --db {path}` first or check --db/JOBSPHERE_DB"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = clock() + max(lock_timeout, 0.0)
    delay = _FIRST_DELAY
    while True:
        try:
            return _open(path, read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if not _is_lock_conflict(message):
                raise WarehouseError(
                    f"cannot open warehouse {path}: {_first_line(message)}"
                ) from exc
            remaining = deadline - clock()
            if remaining <= 0:
                raise WarehouseLockedError(_locked_message(path, message, lock_timeout)) from exc
            sleep(min(delay, remaining))
            delay = min(delay * 2, _MAX_DELAY)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open warehouse {path}: {_first_line(str(exc))}") from exc


def _open(path: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A writer attaches the file under the catalog name ``duckdb.connect`` would give it (the
    file stem), so views and ``current_database()`` behave identically either way."""
    catalog = path.stem
    if read_only or catalog.lower() in _RESERVED_CATALOGS:
        return duckdb.connect(str(path), read_only=read_only)
    con = duckdb.connect()
    try:
        quoted_path = str(path).replace("'", "''")
        quoted_catalog = catalog.replace('"', '""')
        con.execute(
            f"ATTACH '{quoted_path}' AS \"{quoted_catalog}\" (ROW_GROUP_SIZE {_ROW_GROUP_SIZE})"
        )
        con.execute(f'USE "{quoted_catalog}"')
    except BaseException:
        con.close()
        raise
    return con


def _is_lock_conflict(message: str) -> bool:
    lowered = message.lower()
    return "conflicting lock" in lowered or "could not set lock" in lowered


def _locked_message(path: Path, message: str, lock_timeout: float) -> str:
    match = _LOCK_PID.search(message)
    holder = f"process {match.group(1)}" if match else "another process"
    return (
        f"warehouse {path} is locked by {holder} (still locked after {lock_timeout:g}s); "
        "wait for that sync/receiver batch to finish or stop it, then retry"
    )


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unknown DuckDB error"
