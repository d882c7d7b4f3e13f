"""Real flow runs (one Prefect harness per session) against the real sandbox."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.settings import BackfillSlice
from flows.sync import run_backfill_flow, run_sync_flow
from sandbox.testing import SandboxHandle, running_sandbox

from .conftest import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def scalar(db: Path, sql: str) -> Any:
    return query(db, sql)[0][0]


def live_ids(db: Path) -> set[str]:
    return {r[0] for r in query(db, "SELECT job_id FROM jobs WHERE deleted_at IS NULL")}


def test_first_sync_loads_everything_then_incremental_is_cheap(
    sandbox: SandboxHandle, db_path: Path
) -> None:
    settings = settings_for(sandbox, db_path)
    first = run_sync_flow(settings, full=False, show_progress=False)
    assert first.status == "succeeded"
    assert live_ids(db_path) == sandbox.store.snapshot_ids()
    assert first.jobs_inserted == 1_000
    assert "empty warehouse" in first.notes
    run = query(
        db_path,
        "SELECT mode, status, jobs_seen, jobs_inserted, finished_at IS NOT NULL"
        " FROM sync_runs ORDER BY started_at",
    )
    assert run == [("incremental", "succeeded", 1_000, 1_000, True)]

    # No change at the source: at most 2 requests, nothing written but the run row.
    before = scalar(db_path, "SELECT count(*) FROM job_history")
    quiet = run_sync_flow(settings, full=False, show_progress=False)
    assert quiet.requests <= 2
    assert quiet.jobs_inserted == quiet.jobs_updated == 0
    assert scalar(db_path, "SELECT count(*) FROM job_history") == before

    # K new jobs: at most ceil(K/100) + 2 requests, and every one of them lands.
    k = 150
    created = sandbox.mutate(creates=k)
    new_ids = set(created["created"])
    grown = run_sync_flow(settings, full=False, show_progress=False)
    assert grown.requests <= math.ceil(k / 100) + 2
    assert grown.jobs_inserted == k
    assert new_ids <= live_ids(db_path)
    assert scalar(db_path, "SELECT count(*) FROM sync_runs WHERE status = 'succeeded'") == 3

    # The new jobs share posted_at seconds; the (posted_at, job_id) cursor still stops on page 1.
    cursor = scalar(db_path, "SELECT value FROM sync_state WHERE key = 'cursor:jobs'")
    assert max(new_ids) in str(cursor)
    again = run_sync_flow(settings, full=False, show_progress=False)
    assert again.requests == 1
    assert again.jobs_inserted == again.jobs_updated == 0


def test_full_sync_marks_vanished_jobs_deleted_and_revives(
    sandbox: SandboxHandle, db_path: Path
) -> None:
    settings = settings_for(sandbox, db_path)
    run_sync_flow(settings, full=True, show_progress=False)
    deleted = sandbox.mutate(deletes=7)["deleted"]
    summary = run_sync_flow(settings, full=True, show_progress=False)
    assert summary.complete
    assert summary.jobs_deleted == 7
    assert set(deleted) == {
        r[0] for r in query(db_path, "SELECT job_id FROM jobs WHERE deleted_at IS NOT NULL")
    }
    assert live_ids(db_path) == sandbox.store.snapshot_ids()
    assert (
        scalar(db_path, "SELECT jobs_deleted FROM sync_runs ORDER BY started_at DESC LIMIT 1") == 7
    )
    # An incremental run never deletes, even though those jobs are still gone.
    run_sync_flow(settings, full=False, show_progress=False)
    assert scalar(db_path, "SELECT count(*) FROM jobs WHERE deleted_at IS NOT NULL") == 7


def test_full_sync_under_drift_marks_nothing_it_cannot_prove(db_path: Path) -> None:
    with running_sandbox(jobs=1_500, seed=11, drift_deletes=2, drift_inserts=1) as sb:
        settings = settings_for(sb, db_path, concurrency=4)
        first = run_sync_flow(settings, full=True, show_progress=False)
        assert first.status == "succeeded"
        present = sb.store.snapshot_ids()
        second = run_sync_flow(settings, full=True, show_progress=False)
    assert second.status == "succeeded"
    # Whatever the scan could prove: never a job that exists at the end marked deleted.
    deleted = {r[0] for r in query(db_path, "SELECT job_id FROM jobs WHERE deleted_at IS NOT NULL")}
    assert not (deleted & present & sb.store.snapshot_ids())
    notes = scalar(db_path, "SELECT notes FROM sync_runs ORDER BY started_at DESC LIMIT 1")
    if not second.complete:
        assert second.jobs_deleted == 0
        assert "no deletions marked" in notes


def test_backfill_slice_never_moves_cursor_or_deletes(
    sandbox: SandboxHandle, db_path: Path
) -> None:
    settings = settings_for(sandbox, db_path)
    summary = run_backfill_flow(settings, BackfillSlice(type="contract"), show_progress=False)
    assert summary.status == "succeeded"
    types = query(db_path, "SELECT DISTINCT employment_type FROM jobs")
    assert types == [("contract",)]
    expected = {
        j for j in sandbox.store.snapshot_ids() if sandbox.store.get(j)["type"] == "contract"
    }
    assert live_ids(db_path) == expected
    assert scalar(db_path, "SELECT count(*) FROM sync_state WHERE key = 'cursor:jobs'") == 0
    assert scalar(db_path, "SELECT mode FROM sync_runs") == "backfill"


def test_backfill_date_window(sandbox: SandboxHandle, db_path: Path) -> None:
    settings = settings_for(sandbox, db_path)
    run_sync_flow(settings, full=True, show_progress=False)
    cursor_before = scalar(db_path, "SELECT value FROM sync_state WHERE key = 'cursor:jobs'")
    posted = sorted(
        r[0] for r in query(db_path, "SELECT posted_at FROM jobs WHERE posted_at IS NOT NULL")
    )
    since, until = posted[len(posted) // 4], posted[len(posted) // 2]
    with duckdb.connect(str(db_path)) as con:
        con.execute("DELETE FROM job_history_closed")
        con.execute("DELETE FROM jobs")
    summary = run_backfill_flow(
        settings, BackfillSlice(since=since, until=until), show_progress=False
    )
    assert summary.status == "succeeded"
    got = query(db_path, "SELECT min(posted_at), max(posted_at), count(*) FROM jobs")[0]
    assert got[0] >= since and got[1] < until
    assert got[2] == sum(1 for p in posted if since <= p < until)
    # Stopped early: it did not read every page of the source.
    assert summary.pages < math.ceil(1_000 / 100)
    assert (
        scalar(db_path, "SELECT value FROM sync_state WHERE key = 'cursor:jobs'") == cursor_before
    )
