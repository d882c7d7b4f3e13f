"""load_jobs has two write paths; both must leave exactly the same warehouse.

A batch whose key range holds no stored job is written straight from the input (the all-new
path); any other batch is classified row by row, and rows taking new values are rewritten as
delete + insert. The property test replays random histories of batches (new, changed, stale,
duplicated, payload-only, deleted and revived jobs) into two warehouses, one of them forced onto
the general path, and compares every table the loads write.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import warehouse.load as load_module
from tests.warehouse.conftest import T0, JobsFactory
from warehouse import load_jobs, mark_vanished, open_warehouse, start_run

HOUR = timedelta(hours=1)
_IDS = ("a", "b", "c", "d", "e", "f")

_row = st.fixed_dictionaries(
    {
        "job_id": st.sampled_from(_IDS),
        "title": st.sampled_from(["Engineer", "Senior Engineer"]),
        "raw": st.sampled_from(['{"v": 1}', '{"v": 2}']),
        "version_hours": st.integers(min_value=0, max_value=4),
    }
)
# A step is a batch (sync or webhook) or "delete every live job" (a complete full scan's
# reconciliation that saw none of them), so that later batches revive deleted jobs.
_step = st.one_of(
    st.tuples(st.sampled_from(["sync", "webhook"]), st.lists(_row, min_size=1, max_size=6)),
    st.just(("delete", [])),
)


@contextmanager
def _warehouse(template: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warehouse.duckdb"
        shutil.copyfile(template, path)
        with open_warehouse(path) as con:
            yield con


def _replay(
    con: duckdb.DuckDBPyConnection,
    make_jobs: JobsFactory,
    steps: list[tuple[str, list[dict[str, Any]]]],
) -> list[pl.DataFrame]:
    """Apply ``steps`` in order (step i observed at T0 + i hours); return each load's outcomes."""
    outcomes = []
    for number, (kind, rows) in enumerate(steps):
        observed = T0 + number * HOUR
        if kind == "delete":
            run_id = start_run(con, "full", {})
            mark_vanished(
                con, run_id=run_id, scan_started_at=observed + HOUR, observed_at=observed + HOUR
            )
            continue
        batch = make_jobs(
            rows=[
                {
                    "job_id": r["job_id"],
                    "title": r["title"],
                    "raw": r["raw"],
                    "version_at": T0 + r["version_hours"] * HOUR,
                }
                for r in rows
            ]
        )
        result = load_jobs(con, batch, observed_at=observed, change_source=kind)  # type: ignore[arg-type]
        outcomes.append(result.outcomes)
    return outcomes


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    # run_id and recorded_at differ between any two warehouses (a uuid, the wall clock).
    return {
        "jobs": con.sql(
            "SELECT * EXCLUDE (version_run_id, version_recorded_at) FROM jobs ORDER BY job_id"
        ).pl(),
        "job_history": con.sql(
            "SELECT * EXCLUDE (run_id, recorded_at) FROM job_history "
            "ORDER BY job_id, valid_from, valid_to NULLS LAST, is_deleted, row_hash"
        ).pl(),
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(_step, min_size=1, max_size=6))
def test_all_new_path_and_general_path_write_the_same_tables(
    steps: list[tuple[str, list[dict[str, Any]]]],
    migrated_template: Path,
    make_jobs: JobsFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _warehouse(migrated_template) as fast:
        fast_outcomes = _replay(fast, make_jobs, steps)
        fast_tables = _tables(fast)
    with monkeypatch.context() as patch, _warehouse(migrated_template) as general:
        patch.setattr(load_module, "_any_stored", lambda con, params: True)
        general_outcomes = _replay(general, make_jobs, steps)
        general_tables = _tables(general)

    for name, table in fast_tables.items():
        assert_frame_equal(table, general_tables[name], check_row_order=True)
    for ours, theirs in zip(fast_outcomes, general_outcomes, strict=True):
        assert_frame_equal(ours, theirs)


def test_only_batches_of_unseen_key_ranges_take_the_all_new_path(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = load_module._insert_all_new

    def spy(connection: duckdb.DuckDBPyConnection, params: Any) -> None:
        calls.append(1)
        original(connection, params)

    monkeypatch.setattr(load_module, "_insert_all_new", spy)

    def load(ids: list[str], **overrides: Any) -> None:
        load_jobs(con, make_jobs(ids, **overrides), observed_at=T0, change_source="sync")

    load(["job_3", "job_4"])  # empty warehouse
    load(["job_5", "job_6"])  # beyond every stored id
    assert len(calls) == 2
    load(["job_1", "job_2", "job_2"])  # duplicates: ranked by the general path
    load(["job_0", "job_7"])  # new ids, but the range spans stored ones
    load(["job_4"], title="changed")  # a stored id
    assert len(calls) == 2
    assert con.execute("SELECT count(*) FROM jobs").fetchall() == [(8,)]
    assert con.execute("SELECT count(*) FROM job_history").fetchall() == [(9,)]


def test_rewritten_rows_keep_their_sightings_and_leave_one_row_per_job(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    """A new version is written as delete + insert: the row keeps first_seen_at and the key
    stays unique, also when the same job changes several times in one caller transaction."""
    load_jobs(con, make_jobs(["a", "b"]), observed_at=T0, change_source="sync")
    con.begin()
    for number in (1, 2):
        when = T0 + number * HOUR
        batch = make_jobs(["a"], version_at=when, title=f"v{number}")
        assert load_jobs(con, batch, observed_at=when, change_source="sync").updated == 1
    con.commit()
    rows = con.execute(
        "SELECT job_id, title, first_seen_at, last_seen_at, updated_at FROM jobs ORDER BY job_id"
    ).fetchall()
    assert rows == [
        ("a", "v2", T0, T0 + 2 * HOUR, T0 + 2 * HOUR),
        ("b", "Engineer b", T0, T0, T0),
    ]
