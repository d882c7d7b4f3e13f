"""sync_runs lifecycle, sync_state values, and the status summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pytest

from tests.warehouse.conftest import T0, JobsFactory
from warehouse import (
    fail_if_running,
    fail_stale_runs,
    finish_run,
    get_state,
    load_jobs,
    set_state,
    start_run,
    warehouse_status,
)


def test_a_run_goes_from_running_to_its_final_status(con: duckdb.DuckDBPyConnection) -> None:
    run_id = start_run(con, "full", {"q": "python", "since": T0})
    row = con.execute(
        "SELECT mode, status, finished_at, params->>'since' FROM sync_runs"
    ).fetchall()
    assert row == [("full", "running", None, T0.isoformat())]

    finish_run(
        con, run_id, status="succeeded", complete=False, notes="order drift on page 3; no deletions"
    )

    status, finished, complete, notes, error = con.execute(
        "SELECT status, finished_at, complete, notes, error FROM sync_runs"
    ).fetchall()[0]
    assert (status, complete, notes, error) == (
        "succeeded",
        False,
        "order drift on page 3; no deletions",
        None,
    )
    assert finished is not None


def test_finishing_an_unknown_run_is_an_error(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="no sync run"):
        finish_run(con, "nope", status="failed", error="boom")


def test_only_old_running_runs_are_failed_as_abandoned(con: duckdb.DuckDBPyConnection) -> None:
    old, fresh = start_run(con, "incremental", {}), start_run(con, "incremental", {})
    con.execute("UPDATE sync_runs SET started_at = ? WHERE run_id = ?", [T0, old])

    assert fail_stale_runs(con, started_before=T0 + timedelta(hours=1)) == 1

    rows = dict(con.execute("SELECT run_id, status FROM sync_runs").fetchall())
    assert rows == {old: "failed", fresh: "running"}


def test_only_a_running_run_is_failed_as_interrupted(con: duckdb.DuckDBPyConnection) -> None:
    running, done = start_run(con, "full", {}), start_run(con, "full", {})
    finish_run(con, done, status="succeeded")
    assert fail_if_running(con, running, error="interrupted") is True
    assert fail_if_running(con, done, error="interrupted") is False
    assert fail_if_running(con, running, error="again") is False
    rows = con.execute(
        "SELECT run_id, status, error FROM sync_runs WHERE run_id IN (?, ?)", [running, done]
    ).fetchall()
    assert sorted(rows) == sorted([(running, "failed", "interrupted"), (done, "succeeded", None)])


def test_state_round_trips_json_values(con: duckdb.DuckDBPyConnection) -> None:
    assert get_state(con, "cursor") is None
    set_state(con, "cursor", {"posted_at": datetime(2026, 1, 2, tzinfo=UTC), "ids": ["a", "b"]})
    set_state(con, "cursor", {"posted_at": "2026-01-03T00:00:00+00:00", "ids": []})
    assert get_state(con, "cursor") == {"posted_at": "2026-01-03T00:00:00+00:00", "ids": []}


def test_status_reports_runs_counts_state_and_webhook_backlog(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    run_id = start_run(con, "incremental", {})
    load_jobs(
        con,
        make_jobs(["a", "b"]),
        observed_at=T0,
        change_source="sync",
        run_id=run_id,
        counters={"requests": 2, "pages": 1},
        state={"cursor": "b"},
    )
    finish_run(con, run_id, status="succeeded")
    con.execute(
        "INSERT INTO webhook_events (event_id, event_type, received_at, outcome) VALUES "
        "('e1', 'job.updated', ?, 'applied'), ('e2', 'job.updated', ?, 'stale'), "
        "('e3', 'job.updated', ?, NULL)",
        [T0, T0, T0 + timedelta(minutes=1)],
    )

    status = warehouse_status(con)

    assert status["state"] == {"cursor": "b"}
    incremental = status["last_runs"]["incremental"]
    assert (
        incremental["run_id"],
        incremental["status"],
        incremental["jobs_inserted"],
        incremental["requests"],
    ) == (
        run_id,
        "succeeded",
        2,
        2,
    )
    assert status["last_runs"]["full"] is None
    assert status["row_counts"]["jobs"] == 2 and status["row_counts"]["job_history"] == 2
    assert status["row_counts"]["webhook_events"] == 3
    assert status["jobs"] == {"live": 2, "deleted": 0}
    assert status["webhooks"]["by_outcome"] == {"applied": 1, "stale": 1, "pending": 1}
    assert status["webhooks"]["last_received_at"] == T0 + timedelta(minutes=1)
