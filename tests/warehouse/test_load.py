"""load_jobs: classification, newest wins, SCD2 history, bookkeeping in the same transaction."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.warehouse.conftest import T0, JobsFactory
from warehouse import get_state, load_jobs, open_warehouse, start_run, transaction

HOUR = timedelta(hours=1)


def _jobs(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql("SELECT * FROM jobs ORDER BY job_id").pl()


def _history(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.sql(
        "SELECT * EXCLUDE (recorded_at) FROM job_history ORDER BY job_id, valid_from"
    ).pl()


def _run(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return con.sql(f"SELECT * FROM sync_runs WHERE run_id = '{run_id}'").pl().row(0, named=True)


def test_first_load_inserts_jobs_and_one_history_version_each(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    result = load_jobs(con, make_jobs(["a", "b"]), observed_at=T0, change_source="sync")

    assert (result.inserted, result.updated, result.unchanged, result.stale) == (2, 0, 0, 0)
    jobs = _jobs(con)
    assert jobs["job_id"].to_list() == ["a", "b"]
    row = jobs.row(0, named=True)
    assert row["first_seen_at"] == row["last_seen_at"] == row["last_scanned_at"] == T0
    assert row["updated_at"] == row["version_at"] == T0
    assert row["deleted_at"] is None
    assert row["raw"] == '{"id": "a", "title": "Engineer a"}'
    history = _history(con)
    assert history.select("job_id", "valid_to", "change_source").rows() == [
        ("a", None, "sync"),
        ("b", None, "sync"),
    ]


def test_same_batch_twice_changes_nothing(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    batch = make_jobs(["a", "b", "c"])
    load_jobs(con, batch, observed_at=T0, change_source="sync")
    jobs_before, history_before = _jobs(con), _history(con)

    again = load_jobs(con, batch, observed_at=T0, change_source="sync")

    assert (again.inserted, again.updated, again.unchanged, again.stale) == (0, 0, 3, 0)
    assert_frame_equal(_jobs(con), jobs_before)
    assert_frame_equal(_history(con), history_before)


def test_resync_of_unchanged_data_adds_no_history_but_records_the_sighting(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    load_jobs(con, make_jobs(["a"]), observed_at=T0, change_source="sync")

    later = T0 + HOUR
    result = load_jobs(
        con, make_jobs(["a"], version_at=later), observed_at=later, change_source="sync"
    )

    assert result.unchanged == 1
    row = _jobs(con).row(0, named=True)
    assert row["last_seen_at"] == row["last_scanned_at"] == row["version_at"] == later
    assert row["updated_at"] == T0, "updated_at is when the current version started"
    assert _history(con).height == 1


def test_newer_change_closes_the_version_and_appends_a_new_one(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    load_jobs(con, make_jobs(["a"]), observed_at=T0, change_source="sync")
    later = T0 + HOUR
    result = load_jobs(
        con,
        make_jobs(["a"], version_at=later, title="Staff Engineer"),
        observed_at=later,
        change_source="webhook",
    )

    assert result.updated == 1
    assert _jobs(con).row(0, named=True)["title"] == "Staff Engineer"
    assert _jobs(con).row(0, named=True)["updated_at"] == later
    history = _history(con)
    assert history.select("title", "valid_from", "valid_to", "change_source").rows() == [
        ("Engineer a", T0, later, "sync"),
        ("Staff Engineer", later, None, "webhook"),
    ]


def test_older_version_is_stale_and_not_applied(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    run_id = start_run(con, "incremental", {})
    load_jobs(
        con,
        make_jobs(["a"], version_at=T0 + HOUR, title="new"),
        observed_at=T0,
        change_source="sync",
    )

    result = load_jobs(
        con,
        make_jobs(["a"], version_at=T0, title="old"),
        observed_at=T0 + 2 * HOUR,
        change_source="webhook",
        run_id=run_id,
    )

    assert (result.stale, result.outcomes["outcome"].to_list()) == (1, ["stale"])
    assert _jobs(con).row(0, named=True)["title"] == "new"
    assert _history(con).height == 1
    assert _run(con, run_id)["jobs_stale"] == 1


def test_duplicates_in_one_batch_keep_the_newest_and_report_each_input_row(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    batch = make_jobs(
        rows=[
            {"job_id": "a", "version_at": T0 + HOUR, "title": "v2", "event_id": "e1"},
            {"job_id": "a", "version_at": T0 + 2 * HOUR, "title": "v3", "event_id": "e2"},
            {"job_id": "a", "version_at": T0, "title": "v1", "event_id": "e3"},
            {"job_id": "b", "version_at": T0, "event_id": "e4"},
            {"job_id": "b", "version_at": T0, "event_id": "e5"},
        ]
    )

    result = load_jobs(con, batch, observed_at=T0, change_source="webhook")

    assert result.outcomes.columns == ["job_id", "version_at", "outcome", "event_id"]
    assert result.outcomes.select("event_id", "outcome").rows() == [
        ("e1", "stale"),
        ("e2", "inserted"),
        ("e3", "stale"),
        ("e4", "unchanged"),
        ("e5", "inserted"),
    ]
    assert (result.inserted, result.updated, result.unchanged, result.stale) == (2, 0, 1, 2)
    assert _jobs(con).filter(pl.col("job_id") == "a")["title"].to_list() == ["v3"]
    assert _history(con).height == 2


def test_equal_timestamps_with_different_content_resolve_the_same_in_any_order(
    tmp_path: Path, make_jobs: JobsFactory
) -> None:
    first, second = make_jobs(["a"], title="left"), make_jobs(["a"], title="right")
    finals = []
    for name, order in (("ab", [first, second]), ("ba", [second, first])):
        with open_warehouse(tmp_path / f"{name}.duckdb") as con:
            for batch in order:
                load_jobs(con, batch, observed_at=T0, change_source="webhook")
            finals.append(_jobs(con)["title"].item())
    assert finals[0] == finals[1]


def test_payload_only_change_refreshes_raw_without_a_new_version(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    load_jobs(
        con,
        make_jobs(["a"], raw='{"id": "a", "description": "old"}'),
        observed_at=T0,
        change_source="sync",
    )
    later = T0 + HOUR

    result = load_jobs(
        con,
        make_jobs(
            ["a"],
            version_at=later,
            raw='{"id": "a", "description": "new"}',
            source_updated_at=later,
        ),
        observed_at=later,
        change_source="sync",
    )

    assert result.unchanged == 1
    row = _jobs(con).row(0, named=True)
    assert (row["raw"], row["source_updated_at"]) == ('{"id": "a", "description": "new"}', later)
    assert _history(con).height == 1


def test_rejected_counters_and_state_land_with_the_batch(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    run_id = start_run(con, "full", {"q": None})
    rejected = pl.DataFrame(
        {"job_id": [None, "x"], "reason": ["not a JSON object", "empty id"], "raw": ["[1]", "{}"]},
        schema={"job_id": pl.String, "reason": pl.String, "raw": pl.String},
    )

    load_jobs(
        con,
        make_jobs(["a", "b"]),
        observed_at=T0,
        change_source="sync",
        run_id=run_id,
        rejected=rejected,
        counters={"requests": 3, "pages": 2, "jobs_seen": 4, "jobs_rejected": 2},
        state={"cursor": {"posted_at": T0, "id": "b"}},
    )
    load_jobs(
        con,
        make_jobs(["a"], title="changed", version_at=T0 + HOUR),
        observed_at=T0 + HOUR,
        change_source="sync",
        run_id=run_id,
        counters={"requests": 1},
    )

    run = _run(con, run_id)
    assert {
        k: run[k]
        for k in (
            "requests",
            "pages",
            "jobs_seen",
            "jobs_rejected",
            "jobs_inserted",
            "jobs_updated",
        )
    } == {
        "requests": 4,
        "pages": 2,
        "jobs_seen": 4,
        "jobs_rejected": 2,
        "jobs_inserted": 2,
        "jobs_updated": 1,
    }
    stored = con.execute(
        "SELECT run_id, job_id, reason, raw FROM rejected_records ORDER BY reason"
    ).fetchall()
    assert stored == [(run_id, "x", "empty id", "{}"), (run_id, None, "not a JSON object", "[1]")]
    assert get_state(con, "cursor") == {"posted_at": T0.isoformat(), "id": "b"}


def test_a_failure_mid_load_leaves_nothing_of_the_batch(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    run_id = start_run(con, "incremental", {})
    load_jobs(
        con,
        make_jobs(["a"]),
        observed_at=T0,
        change_source="sync",
        run_id=run_id,
        state={"cursor": "1"},
    )
    before = {
        t: con.sql(f"SELECT * FROM {t}").pl()
        for t in ("jobs", "job_history", "sync_runs", "sync_state", "rejected_records")
    }
    rejected = pl.DataFrame({"job_id": ["z"], "reason": ["bad"], "raw": ["?"]})

    with pytest.raises(TypeError, match="JSON-serializable"):
        load_jobs(
            con,
            make_jobs(["a", "b"], title="changed", version_at=T0 + HOUR),
            observed_at=T0 + HOUR,
            change_source="sync",
            run_id=run_id,
            rejected=rejected,
            counters={"pages": 1},
            state={"cursor": "2", "checkpoint": object()},  # fails last, after every write
        )

    for name, frame in before.items():
        assert_frame_equal(con.sql(f"SELECT * FROM {name}").pl(), frame)


def test_unknown_run_id_rolls_the_batch_back(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    with pytest.raises(ValueError, match="no sync run"):
        load_jobs(
            con,
            make_jobs(["a"]),
            observed_at=T0,
            change_source="sync",
            run_id="nope",
            counters={"pages": 1},
        )
    assert con.execute("SELECT count(*) FROM jobs").fetchall() == [(0,)]


def test_inside_a_caller_transaction_the_caller_decides(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    with pytest.raises(RuntimeError), transaction(con):
        load_jobs(con, make_jobs(["a"]), observed_at=T0, change_source="webhook")
        assert con.execute("SELECT count(*) FROM jobs").fetchall() == [(1,)]
        raise RuntimeError("the applier failed after the load")
    assert con.execute("SELECT count(*) FROM jobs").fetchall() == [(0,)]

    with transaction(con):
        load_jobs(con, make_jobs(["a"]), observed_at=T0, change_source="webhook")
    assert con.execute("SELECT count(*) FROM jobs").fetchall() == [(1,)]


def test_webhook_observations_do_not_count_as_scanned(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    load_jobs(con, make_jobs(["a"]), observed_at=T0, change_source="webhook")
    load_jobs(
        con, make_jobs(["a"], version_at=T0 + HOUR), observed_at=T0 + HOUR, change_source="webhook"
    )
    row = _jobs(con).row(0, named=True)
    assert (row["last_scanned_at"], row["last_seen_at"]) == (None, T0 + HOUR)


def test_stale_listing_still_counts_as_a_sighting(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    load_jobs(
        con,
        make_jobs(["a"], version_at=T0 + 2 * HOUR, title="new"),
        observed_at=T0,
        change_source="webhook",
    )
    result = load_jobs(
        con,
        make_jobs(["a"], version_at=T0, title="old"),
        observed_at=T0 + 3 * HOUR,
        change_source="sync",
    )
    assert result.stale == 1
    assert _jobs(con).row(0, named=True)["last_scanned_at"] == T0 + 3 * HOUR


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop("raw"), "missing columns: raw"),
        (lambda f: f.with_columns(job_id=pl.lit(None, pl.String)), "null job_id"),
        (
            lambda f: f.with_columns(version_at=pl.col("version_at").dt.replace_time_zone(None)),
            "timezone-aware",
        ),
    ],
    ids=["missing-column", "null-id", "naive-datetime"],
)
def test_malformed_frames_are_refused_before_any_write(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory, mutate: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        load_jobs(con, mutate(make_jobs(["a"])), observed_at=T0, change_source="sync")
    assert con.execute("SELECT count(*) FROM jobs").fetchall() == [(0,)]


def test_counters_that_load_jobs_computes_itself_are_refused(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    run_id = start_run(con, "full", {})
    with pytest.raises(ValueError, match="unknown counters"):
        load_jobs(
            con,
            make_jobs(["a"]),
            observed_at=T0,
            change_source="sync",
            run_id=run_id,
            counters={"jobs_inserted": 1},
        )


def test_empty_batch_still_writes_bookkeeping(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    run_id = start_run(con, "incremental", {})
    result = load_jobs(
        con,
        make_jobs([]),
        observed_at=T0,
        change_source="sync",
        run_id=run_id,
        counters={"requests": 1, "pages": 1},
        state={"cursor": None},
    )
    assert result.outcomes.height == 0
    assert _run(con, run_id)["requests"] == 1
    assert con.execute("SELECT key FROM sync_state").fetchall() == [("cursor",)]


def test_a_failed_load_inside_a_caller_transaction_raises_its_own_error(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    con.begin()
    with pytest.raises(ValueError, match="no sync run"):
        load_jobs(con, make_jobs(["a"]), observed_at=T0, change_source="sync", run_id="nope")
    con.rollback()
    assert con.execute("SELECT count(*) FROM jobs").fetchall() == [(0,)]


def test_several_versions_in_rounds_of_one_caller_transaction(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    load_jobs(con, make_jobs(["a"], title="v0"), observed_at=T0, change_source="sync")
    with transaction(con):
        for number in range(1, 4):
            when = T0 + number * HOUR
            batch = make_jobs(["a"], version_at=when, title=f"v{number}")
            assert load_jobs(con, batch, observed_at=when, change_source="webhook").updated == 1
    assert con.execute("SELECT title, first_seen_at FROM jobs").fetchall() == [("v3", T0)]
    history = con.execute("SELECT title, valid_to IS NULL FROM job_history ORDER BY valid_from")
    assert history.fetchall() == [("v0", False), ("v1", False), ("v2", False), ("v3", True)]
