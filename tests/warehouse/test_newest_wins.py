"""Newest wins under any arrival order: a property test against a small reference model.

Versions of a few jobs arrive shuffled and split into random batches. The model replays the
documented rules (in-batch newest first, then against the stored watermark) and predicts every
outcome, the final row and the exact SCD2 history; the warehouse must agree.
"""

from __future__ import annotations

import itertools
import shutil
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.warehouse.conftest import T0, JobsFactory
from warehouse import load_jobs, open_warehouse


@dataclass(frozen=True)
class Version:
    job_id: str
    version_at_minutes: int
    title: str


@st.composite
def versions_and_batches(draw: st.DrawFn) -> tuple[list[Version], list[int]]:
    versions: list[Version] = []
    for job_id in draw(st.lists(st.sampled_from("abc"), min_size=1, max_size=3, unique=True)):
        minutes = draw(st.lists(st.integers(0, 50), min_size=1, max_size=4, unique=True))
        versions += [Version(job_id, m, draw(st.sampled_from(["x", "y", "z"]))) for m in minutes]
    shuffled = draw(st.permutations(versions))
    cuts = sorted(
        draw(st.lists(st.integers(1, max(1, len(shuffled) - 1)), max_size=3, unique=True))
    )
    return list(shuffled), [c for c in cuts if c < len(shuffled)]


def _model(
    batches: list[list[Version]],
) -> tuple[list[str], dict[str, Version], list[tuple[str, int, str]]]:
    outcomes: list[str] = []
    current: dict[str, Version] = {}
    watermark: dict[str, int] = {}
    history: list[tuple[str, int, str]] = []
    for batch in batches:
        newest = {}
        for v in batch:
            if v.job_id not in newest or v.version_at_minutes > newest[v.job_id].version_at_minutes:
                newest[v.job_id] = v
        for v in batch:
            winner = newest[v.job_id]
            if v is not winner:
                outcomes.append("stale")
            elif v.job_id not in current:
                outcomes.append("inserted")
            elif v.version_at_minutes < watermark[v.job_id]:
                outcomes.append("stale")
            elif v.title == current[v.job_id].title:
                outcomes.append("unchanged")
            else:
                outcomes.append("updated")
            if v is winner and outcomes[-1] in ("inserted", "updated"):
                current[v.job_id] = v
                history.append((v.job_id, v.version_at_minutes, v.title))
            if v is winner and outcomes[-1] != "stale":
                watermark[v.job_id] = max(watermark.get(v.job_id, -1), v.version_at_minutes)
    return outcomes, current, sorted(history)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=versions_and_batches())
def test_final_state_and_history_follow_the_newest_version(
    case: tuple[list[Version], list[int]],
    make_jobs: JobsFactory,
    migrated_template: Path,
    tmp_path: Path,
) -> None:
    versions, cuts = case
    bounds = [0, *cuts, len(versions)]
    batches = [versions[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    expected_outcomes, expected_current, expected_history = _model(batches)

    path = tmp_path / f"{uuid.uuid4().hex}.duckdb"
    shutil.copyfile(migrated_template, path)
    outcomes: list[str] = []
    with open_warehouse(path) as con:
        for number, batch in enumerate(batches):
            frame = make_jobs(
                rows=[
                    {
                        "job_id": v.job_id,
                        "version_at": T0 + timedelta(minutes=v.version_at_minutes),
                        "title": v.title,
                    }
                    for v in batch
                ]
            )
            result = load_jobs(
                con,
                frame,
                observed_at=T0 + timedelta(hours=number),
                change_source="sync" if number % 2 else "webhook",
            )
            outcomes += result.outcomes["outcome"].to_list()
        jobs = con.sql("SELECT job_id, title, version_at FROM jobs ORDER BY job_id").pl()
        history = con.sql(
            "SELECT job_id, valid_from, valid_to, title FROM job_history ORDER BY job_id, valid_from"
        ).pl()
    path.unlink()

    assert outcomes == expected_outcomes
    newest = {}
    for v in versions:
        if v.job_id not in newest or v.version_at_minutes > newest[v.job_id].version_at_minutes:
            newest[v.job_id] = v
    assert jobs["title"].to_list() == [newest[j].title for j in sorted(newest)]
    assert jobs["version_at"].to_list() == [
        T0 + timedelta(minutes=newest[j].version_at_minutes) for j in sorted(newest)
    ]
    assert {j: expected_current[j].title for j in expected_current} == {
        j: newest[j].title for j in newest
    }
    minutes = ((pl.col("valid_from") - pl.lit(T0)).dt.total_minutes()).alias("m")
    assert history.select("job_id", minutes, "title").rows() == expected_history
    # SCD2 chain: each version ends where the next begins; only the last is open.
    for _, versions_of_job in history.group_by("job_id"):
        assert versions_of_job["valid_to"].to_list() == [
            *versions_of_job["valid_from"].to_list()[1:],
            None,
        ]
        titles = versions_of_job["title"].to_list()
        assert all(a != b for a, b in itertools.pairwise(titles))


def test_in_order_arrival_keeps_every_distinct_version(
    db_path: Path, make_jobs: JobsFactory
) -> None:
    titles = ["x", "y", "y", "z", "x"]
    with open_warehouse(db_path) as con:
        for minute, title in enumerate(titles):
            batch = make_jobs(["a"], version_at=T0 + timedelta(minutes=minute), title=title)
            load_jobs(con, batch, observed_at=T0 + timedelta(minutes=minute), change_source="sync")
        history = con.execute("SELECT title FROM job_history ORDER BY valid_from").fetchall()
    assert [t for (t,) in history] == ["x", "y", "z", "x"]
