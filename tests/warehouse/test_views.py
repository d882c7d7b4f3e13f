"""Analyst views compute what docs/data-dictionary.md says they do."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from tests.warehouse.conftest import T0, JobsFactory
from warehouse import load_jobs, mark_vanished, start_run


def test_live_jobs_and_postings_per_day(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    day1, day2 = T0 - timedelta(days=2), T0 - timedelta(days=1)
    frame = make_jobs(
        rows=[
            {"job_id": "a", "posted_at": day1},
            {"job_id": "b", "posted_at": day1, "is_remote": True},
            {"job_id": "c", "posted_at": day2},
            {"job_id": "d", "posted_at": None},
        ]
    )
    load_jobs(con, frame, observed_at=T0, change_source="sync")
    run_id = start_run(con, "full", {})
    scan = T0 + timedelta(hours=1)
    listed = frame.filter(pl.col("job_id").is_in(["a", "c", "d"]))  # the full scan misses b
    load_jobs(con, listed, observed_at=scan, change_source="sync")
    mark_vanished(con, run_id=run_id, scan_started_at=scan, observed_at=scan)

    assert con.execute("SELECT job_id FROM live_jobs ORDER BY 1").fetchall() == [
        ("a",),
        ("c",),
        ("d",),
    ]
    assert con.execute("SELECT * FROM postings_per_day ORDER BY posted_date").fetchall() == [
        (date(2025, 12, 30), 2, 1, 1),
        (date(2025, 12, 31), 1, 1, 0),
    ]


def test_salary_percentiles_use_the_midpoint_or_the_lone_bound(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    rows = [
        {"job_id": "a", "salary_min_usd_annual": 100.0, "salary_max_usd_annual": 200.0},  # 150
        {"job_id": "b", "salary_min_usd_annual": 300.0, "salary_max_usd_annual": None},  # 300
        {"job_id": "c", "salary_min_usd_annual": None, "salary_max_usd_annual": 500.0},  # 500
        {"job_id": "d", "salary_min_usd_annual": None, "salary_max_usd_annual": None},  # left out
        {
            "job_id": "e",
            "country_code": "DE",
            "salary_min_usd_annual": 80.0,
            "salary_max_usd_annual": 80.0,
        },
    ]
    load_jobs(con, make_jobs(rows=rows), observed_at=T0, change_source="sync")

    result = con.execute(
        "SELECT country_code, employment_type, jobs, p25_usd, p50_usd, p75_usd, p90_usd "
        "FROM salary_percentiles ORDER BY country_code"
    ).fetchall()
    assert result == [
        ("DE", "full_time", 1, 80.0, 80.0, 80.0, 80.0),
        ("US", "full_time", 3, 225.0, 300.0, 400.0, 460.0),
    ]


def test_open_applications_exclude_hired_rejected_withdrawn(
    con: duckdb.DuckDBPyConnection, make_jobs: JobsFactory
) -> None:
    load_jobs(con, make_jobs(["a"]), observed_at=T0, change_source="webhook")
    con.execute(
        "INSERT INTO applications VALUES "
        "('1', 'a', 'c1', 'received', ?, ?), ('2', 'a', 'c2', 'Hired', ?, ?), "
        "('3', 'a', 'c3', 'withdrawn', ?, ?), ('4', 'a', 'c4', NULL, ?, ?), "
        "('5', 'zz', 'c5', 'interview', ?, ?)",
        [T0] * 10,
    )
    rows = con.execute(
        "SELECT job_id, title, job_is_live, open_applications, total_applications "
        "FROM open_applications_per_job ORDER BY job_id"
    ).fetchall()
    assert rows == [("a", "Engineer a", True, 2, 4), ("zz", None, False, 1, 1)]
