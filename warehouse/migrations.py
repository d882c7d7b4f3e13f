"""Bring a warehouse file's schema up to date from the numbered SQL files shipped in ``sql/``.

Runs on every read-write open, so the up-to-date path is one catalog lookup and one small SELECT.
Each migration runs in its own transaction together with its ``schema_migrations`` row, so a
failure leaves the file at the previous version. Files are read through ``importlib.resources``
so a regular (non-editable) install works.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import duckdb

from warehouse._sql import first_row, scalar
from warehouse.errors import MigrationError
from warehouse.fx import load_seed_fx_rates
from warehouse.hashing import HASH_PROBE_SQL, raw_hash_sql, row_hash_sql
from warehouse.transaction import transaction

__all__ = ["Migration", "available_migrations", "migrate", "schema_version"]

_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class _View:
    name: str
    sql: str
    checksum: str


@cache
def available_migrations() -> tuple[Migration, ...]:
    """The migrations shipped with this build, in version order."""
    found: list[Migration] = []
    for entry in resources.files("sql").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions shipped: {versions}")
    return tuple(found)


@cache
def _available_views() -> tuple[_View, ...]:
    views: list[_View] = []
    for entry in resources.files("sql").joinpath("views").iterdir():
        if entry.name.endswith(".sql"):
            text = entry.read_text("utf-8")
            digest = hashlib.sha256(text.encode()).hexdigest()
            views.append(_View(entry.name.removesuffix(".sql"), text, digest))
    views.sort(key=lambda v: v.name)
    return tuple(views)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Highest applied migration version, 0 for a file that has never been migrated."""
    if not _table_exists(con, "schema_migrations"):
        return 0
    row = first_row(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply pending migrations, refresh changed views, seed fx rates; return migrations applied."""
    if _up_to_date(con):
        return 0
    migrations = available_migrations()
    if not _table_exists(con, "schema_migrations"):
        con.execute(
            "CREATE TABLE schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
        )
    applied = {int(r[0]) for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    known = {m.version for m in migrations}
    if applied - known:
        raise MigrationError(
            f"warehouse schema version {max(applied)} is newer than this jobsphere knows "
            f"({max(known, default=0)}); upgrade jobsphere-etl or use another --db"
        )
    count = 0
    for migration in migrations:
        if migration.version in applied:
            continue
        _apply(con, migration)
        count += 1
    _refresh_views(con)
    _check_hash_probe(con)
    if count:
        _seed_fx_rates_if_empty(con)
    return count


def _up_to_date(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether every migration, view and the hash probe are current, in one query.

    Every writer batch opens the file, so this is the common path: answered by the separate
    checks below it took ~5 ms of the ~8 ms an open costs. Anything unexpected (a file without
    the bookkeeping tables, say) answers no, and the full path decides.
    """
    expected = _expected_meta()
    try:
        row = first_row(
            con,
            "SELECT (SELECT list(version ORDER BY version) FROM schema_migrations), "
            "(SELECT list(key || chr(31) || value) FROM schema_meta "
            " WHERE key LIKE 'view:%' OR key = 'hash_probe'), "
            f"({HASH_PROBE_SQL})",
        )
    except duckdb.CatalogException:
        return False
    if row is None or row[0] != [m.version for m in available_migrations()]:
        return False
    recorded = dict(entry.split(chr(31), 1) for entry in row[1] or [])
    return recorded.get("hash_probe") == row[2] and all(
        recorded.get(key) == value for key, value in expected.items()
    )


@cache
def _expected_meta() -> dict[str, str]:
    return {f"view:{view.name}": view.checksum for view in _available_views()}


def _apply(con: duckdb.DuckDBPyConnection, migration: Migration) -> None:
    try:
        with transaction(con):
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp)",
                [migration.version, migration.name],
            )
    except duckdb.Error as exc:
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} failed: "
            f"{str(exc).strip().splitlines()[0]}"
        ) from exc


def _refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    if not _table_exists(con, "schema_meta"):
        return
    recorded = dict(
        con.execute("SELECT key, value FROM schema_meta WHERE key LIKE 'view:%'").fetchall()
    )
    stale = [v for v in _available_views() if recorded.get(f"view:{v.name}") != v.checksum]
    if not stale:
        return
    try:
        with transaction(con):
            for view in stale:
                con.execute(view.sql)
                _set_meta(con, f"view:{view.name}", view.checksum)
    except duckdb.Error as exc:
        raise MigrationError(
            f"creating analyst views failed: {str(exc).strip().splitlines()[0]}"
        ) from exc


def _check_hash_probe(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute stored hashes once if this DuckDB's ``hash()`` differs from the last one's."""
    if not _table_exists(con, "schema_meta"):
        return
    current = scalar(con, HASH_PROBE_SQL)
    recorded = scalar(con, "SELECT value FROM schema_meta WHERE key = 'hash_probe'")
    if recorded == current:
        return
    # Also when no probe was recorded yet (a file from before schema_meta): its hashes may come
    # from another DuckDB release, and recomputing once is cheap compared to spurious versions.
    with transaction(con):
        con.execute(
            f"UPDATE jobs SET row_hash = {row_hash_sql('jobs')}, raw_hash = {raw_hash_sql('jobs')}"
        )
        con.execute(
            f"UPDATE job_history_closed SET row_hash = {row_hash_sql('job_history_closed')}"
        )
        _set_meta(con, "hash_probe", str(current))


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute(
        "INSERT INTO schema_meta VALUES (?, ?, current_timestamp) ON CONFLICT (key) "
        "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, value],
    )


def _seed_fx_rates_if_empty(con: duckdb.DuckDBPyConnection) -> None:
    if not _table_exists(con, "fx_rates"):
        return
    row = first_row(con, "SELECT count(*) FROM fx_rates")
    if row and row[0] == 0:
        load_seed_fx_rates(con)


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = first_row(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = ?",
        [name],
    )
    return bool(row and row[0])
