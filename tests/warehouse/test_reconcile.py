"""mark_vanished: only jobs a complete scan did not see are soft-deleted, and they can come back."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from tests.warehouse.conftest import T0, JobsFactory
from warehouse import load_jobs, mark_vanished, start_run

SCAN_START = T0 + timedelta(hours=1)
SCAN_END = T0 + timedelta(hours=2)


@pytest.fixture
def scanned(con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory) -> str:
    """Jobs a..d known before the scan; the scan lists a and b; d arrives by webhook mid-scan
    (first seen during the scan); e is first seen by webhook during the scan too."""
    load_jobs(con, make_jobs(["a", "b", "c", "d"]), observed_at=T0, change_source="sync")
    run_id = start_run(con, "full", {})
    during = SCAN_START + timedelta(minutes=5)
    load_jobs(
        con,
        make_jobs(["a", "b"], version_at=during),
        observed_at=during,
        change_source="sync",
        run_id=run_id,
    )
    load_jobs(
        con,
        make_jobs(["d", "e"], version_at=during, title="via webhook"),
        observed_at=during,
        change_source="webhook",
    )
    return run_id


def test_only_jobs_unseen_by_the_scan_and_known_before_it_are_deleted(
    con: duckdb.DuckDBPyConnection, scanned: str
) -> None:
    deleted = mark_vanished(con, run_id=scanned, scan_started_at=SCAN_START, observed_at=SCAN_END)

    rows = con.execute("SELECT job_id, deleted_at FROM jobs ORDER BY job_id").fetchall()
    assert con.execute("SELECT updated_at FROM jobs WHERE job_id = 'c'").fetchall() == [(SCAN_END,)]
    # c: unseen -> deleted. d: known before the scan and only touched by a webhook -> deleted
    # (a webhook is not a listing). e: first seen during the scan -> kept.
    assert rows == [("a", None), ("b", None), ("c", SCAN_END), ("d", SCAN_END), ("e", None)]
    assert deleted == 2
    runs = con.execute("SELECT jobs_deleted FROM sync_runs WHERE run_id = ?", [scanned]).fetchall()
    assert runs == [(2,)]


def test_deletion_is_a_reconcile_version_in_history(
    con: duckdb.DuckDBPyConnection, scanned: str
) -> None:
    mark_vanished(con, run_id=scanned, scan_started_at=SCAN_START, observed_at=SCAN_END)

    history = con.execute(
        "SELECT valid_from, valid_to, change_source, is_deleted, title FROM job_history "
        "WHERE job_id = 'c' ORDER BY valid_from"
    ).fetchall()
    assert history == [
        (T0, SCAN_END, "sync", False, "Engineer c"),
        (SCAN_END, None, "reconcile", True, "Engineer c"),
    ]


def test_marking_twice_deletes_nothing_more(con: duckdb.DuckDBPyConnection, scanned: str) -> None:
    mark_vanished(con, run_id=scanned, scan_started_at=SCAN_START, observed_at=SCAN_END)
    history_rows = con.execute("SELECT count(*) FROM job_history").fetchall()

    again = mark_vanished(
        con, run_id=scanned, scan_started_at=SCAN_START, observed_at=SCAN_END + timedelta(1)
    )

    assert again == 0
    assert con.execute("SELECT count(*) FROM job_history").fetchall() == history_rows


def test_a_deleted_job_that_reappears_is_revived_with_a_history_row(
    con: duckdb.DuckDBPyConnection, scanned: str, make_jobs: JobsFactory
) -> None:
    mark_vanished(con, run_id=scanned, scan_started_at=SCAN_START, observed_at=SCAN_END)
    back = SCAN_END + timedelta(hours=1)

    # Same content and the same source timestamp as before the deletion: still a revival.
    result = load_jobs(con, make_jobs(["c"]), observed_at=back, change_source="sync")

    assert result.updated == 1
    assert con.execute("SELECT deleted_at, updated_at FROM jobs WHERE job_id = 'c'").fetchall() == [
        (None, back)
    ]
    history = con.execute(
        "SELECT valid_from, valid_to, change_source, is_deleted FROM job_history "
        "WHERE job_id = 'c' ORDER BY valid_from"
    ).fetchall()
    assert history[-2:] == [(SCAN_END, back, "reconcile", True), (back, None, "sync", False)]


def test_a_stale_event_does_not_revive_a_deleted_job(
    con: duckdb.DuckDBPyConnection, scanned: str, make_jobs: JobsFactory
) -> None:
    mark_vanished(con, run_id=scanned, scan_started_at=SCAN_START, observed_at=SCAN_END)

    result = load_jobs(
        con,
        make_jobs(["c"], version_at=T0 - timedelta(days=1)),
        observed_at=SCAN_END,
        change_source="webhook",
    )

    assert result.stale == 1
    assert con.execute("SELECT deleted_at FROM jobs WHERE job_id = 'c'").fetchall() == [(SCAN_END,)]


def test_unknown_run_rolls_back_the_deletions(con: duckdb.DuckDBPyConnection, scanned: str) -> None:
    with pytest.raises(ValueError, match="no sync run"):
        mark_vanished(con, run_id="nope", scan_started_at=SCAN_START, observed_at=SCAN_END)
    assert con.execute("SELECT count(*) FROM jobs WHERE deleted_at IS NOT NULL").fetchall() == [
        (0,)
    ]
