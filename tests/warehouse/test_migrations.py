"""Migrations: a fresh file, an upgrade from schema 1, idempotent re-opens, the SPEC columns."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from tests.warehouse.conftest import T0, JobsFactory
from warehouse import MigrationError, load_jobs, migrate, open_warehouse, schema_version
from warehouse.hashing import row_hash_sql
from warehouse.migrations import available_migrations

# SPEC section 4: names and listed columns are the contract.
CONTRACT = {
    "jobs": "job_id title company employment_type location_raw city region country_code is_remote "
    "salary_min salary_max salary_currency salary_period salary_period_inferred "
    "salary_min_usd_annual salary_max_usd_annual posted_at first_seen_at last_seen_at updated_at "
    "deleted_at raw",
    "job_history": "job_id valid_from valid_to change_source title company employment_type "
    "location_raw city region country_code is_remote salary_min salary_max salary_currency "
    "salary_period salary_period_inferred salary_min_usd_annual salary_max_usd_annual posted_at",
    "applications": "application_id job_id candidate_id status applied_at updated_at",
    "application_status_history": "application_id job_id candidate_id previous_status status "
    "changed_at event_id",
    "webhook_events": "event_id event_type created_at received_at applied_at outcome deliveries payload",
    "sync_runs": "run_id mode started_at finished_at status requests pages jobs_seen jobs_inserted "
    "jobs_updated jobs_deleted jobs_rejected error",
    "rejected_records": "run_id job_id reason raw rejected_at",
    "fx_rates": "currency usd_per_unit as_of",
}
VIEWS = (
    "job_history",
    "live_jobs",
    "salary_percentiles",
    "postings_per_day",
    "open_applications_per_job",
)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
    ).fetchall()
    return {name for (name,) in rows}


def _apply_only_first_migration(path: Path) -> None:
    """A file as the first release left it: schema 1, no bookkeeping of later migrations."""
    first = available_migrations()[0]
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL)"
    )
    con.execute(first.sql)
    con.execute(
        "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp)",
        [first.version, first.name],
    )
    con.execute(
        "INSERT INTO fx_rates VALUES ('USD', 1.0, DATE '2025-01-01'), ('EUR', 1.1, DATE '2025-01-01')"
    )
    con.execute(
        "INSERT INTO jobs (job_id, title, first_seen_at, last_seen_at, updated_at, version_at, "
        "row_hash, raw_hash, raw, posted_at) VALUES ('old-1', 'Legacy', ?, ?, ?, ?, 0, 0, '{}', ?)",
        [T0, T0, T0, T0, T0],
    )
    con.close()


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_fresh_warehouse_has_every_contract_column(tmp_path: Path, table: str) -> None:
    with open_warehouse(tmp_path / "w.duckdb") as con:
        assert set(CONTRACT[table].split()) <= _columns(con, table)


def test_fresh_warehouse_is_at_the_latest_version_with_views_and_seeded_rates(
    tmp_path: Path,
) -> None:
    with open_warehouse(tmp_path / "w.duckdb") as con:
        assert schema_version(con) == available_migrations()[-1].version >= 2
        views = {
            name
            for (name,) in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        assert set(VIEWS) <= views
        assert con.execute(
            "SELECT count(*) >= 30, min(usd_per_unit) > 0 FROM fx_rates"
        ).fetchall() == [(True, True)]
        assert migrate(con) == 0, "an up-to-date file needs nothing"


def test_upgrade_from_schema_1_keeps_data_and_adds_the_rest(
    tmp_path: Path, make_jobs: JobsFactory
) -> None:
    path = tmp_path / "v1.duckdb"
    _apply_only_first_migration(path)

    with open_warehouse(path) as con:
        assert schema_version(con) == available_migrations()[-1].version
        assert con.execute("SELECT currency FROM fx_rates ORDER BY 1").fetchall() == [
            ("EUR",),
            ("USD",),
        ], "user rates are never replaced by the seed"
        assert con.execute("SELECT job_id FROM live_jobs").fetchall() == [("old-1",)]
        # Hashes written before the hash probe existed are recomputed once on upgrade.
        assert con.execute(f"SELECT row_hash = {row_hash_sql('jobs')} FROM jobs").fetchall() == [
            (True,)
        ]
        load_jobs(con, make_jobs(["new-1"]), observed_at=T0, change_source="sync")
        assert con.execute("SELECT count(*) FROM postings_per_day").fetchall()[0][0] >= 1

    with open_warehouse(path) as con:
        assert migrate(con) == 0


def _apply_migrations_up_to(path: Path, version: int) -> None:
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL)"
    )
    for migration in available_migrations():
        if migration.version <= version:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp)",
                [migration.version, migration.name],
            )
    con.close()


_HISTORY_ORDER = "ORDER BY job_id, valid_from, valid_to NULLS LAST"


def test_upgrade_to_schema_3_keeps_every_history_version(tmp_path: Path) -> None:
    """Schema 2 stored current versions in the job_history table; 3 keeps them in jobs."""
    path = tmp_path / "v2.duckdb"
    _apply_migrations_up_to(path, 2)
    t1, t2 = T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    con = duckdb.connect(str(path))
    con.execute(
        "INSERT INTO jobs (job_id, title, first_seen_at, last_seen_at, updated_at, version_at, "
        "deleted_at, row_hash, raw_hash, raw) VALUES "
        "('a', 'Second', $t0, $t1, $t1, $t1, NULL, 11, 0, '{}'), "
        "('b', 'Gone', $t0, $t0, $t2, $t0, $t2, 22, 0, '{}')",
        {"t0": T0, "t1": t1, "t2": t2},
    )
    con.execute(
        "INSERT INTO job_history (job_id, valid_from, valid_to, change_source, is_deleted, title, "
        "row_hash, run_id, recorded_at) VALUES "
        "('a', $t0, $t1, 'sync', false, 'First', 10, 'r1', $t0), "
        "('a', $t1, NULL, 'webhook', false, 'Second', 11, NULL, $t1), "
        "('b', $t0, $t2, 'sync', false, 'Gone', 22, 'r1', $t0), "
        "('b', $t2, NULL, 'reconcile', true, 'Gone', 22, 'r2', $t2)",
        {"t0": T0, "t1": t1, "t2": t2},
    )
    # row_hash is left out: a file without a recorded hash probe gets its hashes recomputed.
    query = f"SELECT * EXCLUDE (row_hash) FROM job_history {_HISTORY_ORDER}"
    before = con.execute(query).fetchall()
    con.close()

    with open_warehouse(path) as con:
        assert schema_version(con) == available_migrations()[-1].version
        after = con.execute(query).fetchall()
        assert after == before
        assert con.execute(
            "SELECT job_id, version_source, version_run_id FROM jobs ORDER BY job_id"
        ).fetchall() == [("a", "webhook", None), ("b", "reconcile", "r2")]
        assert con.execute("SELECT count(*) FROM job_history_closed").fetchall() == [(2,)]


def test_a_file_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    with open_warehouse(path) as con:
        con.execute("INSERT INTO schema_migrations VALUES (9999, 'future', current_timestamp)")
    with pytest.raises(MigrationError, match="newer than this jobsphere"), open_warehouse(path):
        pass


def test_a_changed_view_file_is_recreated_on_open(db_path: Path) -> None:
    with open_warehouse(db_path) as con:
        con.execute("DROP VIEW live_jobs")
        con.execute("UPDATE schema_meta SET value = 'outdated' WHERE key = 'view:live_jobs'")
    with open_warehouse(db_path) as con:
        assert con.execute("SELECT count(*) FROM live_jobs").fetchall() == [(0,)]


def test_stored_hashes_are_recomputed_when_the_hash_function_changes(
    db_path: Path, make_jobs: JobsFactory
) -> None:
    later = T0 + timedelta(hours=1)
    with open_warehouse(db_path) as con:
        load_jobs(con, make_jobs(["a"], title="First"), observed_at=T0, change_source="sync")
        load_jobs(
            con,
            make_jobs(["a"], title="Second", version_at=later),
            observed_at=later,
            change_source="sync",
        )
        closed_hash = con.execute("SELECT row_hash FROM job_history_closed").fetchall()
        # Simulate a DuckDB release whose hash() differs from the one that wrote the rows.
        con.execute("UPDATE jobs SET row_hash = 1, raw_hash = 2")
        con.execute("UPDATE job_history_closed SET row_hash = 1")
        con.execute("UPDATE schema_meta SET value = 'old-probe' WHERE key = 'hash_probe'")
    with open_warehouse(db_path) as con:
        assert con.execute("SELECT row_hash FROM job_history_closed").fetchall() == closed_hash
        result = load_jobs(
            con,
            make_jobs(["a"], title="Second", version_at=later),
            observed_at=later,
            change_source="sync",
        )
        assert result.unchanged == 1
        assert con.execute("SELECT count(*) FROM job_history").fetchall() == [(2,)]
