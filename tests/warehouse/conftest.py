"""Fixtures for warehouse tests: real DuckDB files in tmp_path and frames in the normalized schema.

Frames are built here, not with ``transforms``, so these tests pin the warehouse contract alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from warehouse import NORMALIZED_SCHEMA, open_warehouse

T0 = datetime(2026, 1, 1, tzinfo=UTC)

JobsFactory = Callable[..., pl.DataFrame]


def _job_row(job_id: str, version_at: datetime, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "job_id": job_id,
        "title": f"Engineer {job_id}",
        "company": "Acme",
        "employment_type": "full_time",
        "location_raw": "San Francisco, CA",
        "city": "San Francisco",
        "region": "US-CA",
        "country_code": "US",
        "is_remote": False,
        "salary_min": 100_000.0,
        "salary_max": 150_000.0,
        "salary_currency": "USD",
        "salary_period": "year",
        "salary_period_inferred": False,
        "salary_min_usd_annual": 100_000.0,
        "salary_max_usd_annual": 150_000.0,
        "posted_at": T0 - timedelta(days=1),
        "source_updated_at": None,
        "raw": None,
        "version_at": version_at,
    }
    row.update(overrides)
    if row["raw"] is None:
        row["raw"] = f'{{"id": "{job_id}", "title": "{row["title"]}"}}'
    return row


@pytest.fixture
def make_jobs() -> JobsFactory:
    """``make_jobs(["a", "b"], version_at=..., title=...)`` or ``make_jobs(rows=[{...}, ...])``."""

    def factory(
        job_ids: Sequence[str] = (),
        *,
        version_at: datetime = T0,
        rows: Sequence[dict[str, Any]] = (),
        **overrides: Any,
    ) -> pl.DataFrame:
        built = [_job_row(j, version_at, **overrides) for j in job_ids]
        built += [
            _job_row(
                r["job_id"],
                r.get("version_at", version_at),
                **{k: v for k, v in r.items() if k not in ("job_id", "version_at")},
            )
            for r in rows
        ]
        schema = {**NORMALIZED_SCHEMA, "version_at": pl.Datetime("us", "UTC")}
        if any("event_id" in r for r in rows) or "event_id" in overrides:
            schema["event_id"] = pl.String()
            for r in built:
                r.setdefault("event_id", None)
        return pl.DataFrame(built, schema=schema)

    return factory


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly migrated warehouse per session; tests get copies (migrating costs ~0.5 s)."""
    path = tmp_path_factory.mktemp("template") / "warehouse.duckdb"
    with open_warehouse(path):
        pass
    return path


@pytest.fixture
def db_path(tmp_path: Path, migrated_template: Path) -> Path:
    """A migrated warehouse file of this test's own (a copy of the session template)."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(migrated_template, path)
    return path


@pytest.fixture
def con(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A migrated read-write connection for tests that need no second process."""
    with open_warehouse(db_path) as connection:
        yield connection
