"""Throughput of ``warehouse.load_jobs`` (not a test; run ``python -m tests.warehouse.bench_load``).

Loads N synthetic normalized rows (default 1,000,000) into an empty warehouse in batches of
100,000, opening and closing the file per batch as the flows do, then re-syncs the same rows with
1% changed. Prints wall-clock and CPU rows/s: on a shared machine the CPU figure is the stable one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from warehouse import load_jobs, open_warehouse, start_run

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_RAW_TAIL = (
    '","location":"San Francisco, CA","type":"full_time","salary_range":{"min":50000,'
    '"max":80000,"currency":"USD"},"posted_at":"2026-01-01T00:00:00Z","description":"Lorem ipsum '
    'dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore."}'
)


def synthetic_jobs(n: int, version_at: datetime, *, changed_every: int = 0) -> pl.DataFrame:
    """N rows in the normalized schema; every ``changed_every``-th row gets another title."""
    i = pl.col("i")
    title = pl.format("Engineer {}", i)
    if changed_every:
        title = (
            pl.when(i % changed_every == 0)
            .then(pl.format("Senior Engineer {}", i))
            .otherwise(title)
        )
    salary_min = (i % 1000 * 100 + 50_000).cast(pl.Float64)
    salary_max = (i % 1000 * 100 + 80_000).cast(pl.Float64)
    return pl.DataFrame({"i": pl.int_range(n, eager=True)}).select(
        pl.format("job_{}", i).alias("job_id"),
        title.alias("title"),
        pl.format("Company {}", i % 5000).alias("company"),
        pl.lit("full_time").alias("employment_type"),
        pl.lit("San Francisco, CA").alias("location_raw"),
        pl.lit("San Francisco").alias("city"),
        pl.lit("US-CA").alias("region"),
        pl.lit("US").alias("country_code"),
        (i % 7 == 0).alias("is_remote"),
        salary_min.alias("salary_min"),
        salary_max.alias("salary_max"),
        pl.lit("USD").alias("salary_currency"),
        pl.lit("year").alias("salary_period"),
        pl.lit(False).alias("salary_period_inferred"),
        salary_min.alias("salary_min_usd_annual"),
        salary_max.alias("salary_max_usd_annual"),
        (pl.lit(T0) - pl.duration(minutes=i)).dt.cast_time_unit("us").alias("posted_at"),
        pl.lit(None, dtype=pl.Datetime("us", "UTC")).alias("source_updated_at"),
        pl.concat_str(
            pl.lit('{"id":"job_'), i.cast(pl.String), pl.lit('","title":"'), title,
            pl.lit('","company":"Company '), (i % 5000).cast(pl.String), pl.lit(_RAW_TAIL),
        ).alias("raw"),
        pl.lit(version_at).dt.cast_time_unit("us").alias("version_at"),
    )  # fmt: skip


def load_all(db: Path, frame: pl.DataFrame, observed_at: datetime, batch: int, label: str) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    totals = dict.fromkeys(("inserted", "updated", "unchanged", "stale"), 0)
    with open_warehouse(db) as con:
        run_id = start_run(con, "full", {"bench": label})
    for offset in range(0, frame.height, batch):
        rows = frame.slice(offset, batch)
        with open_warehouse(db) as con:
            result = load_jobs(
                con,
                rows,
                observed_at=observed_at,
                change_source="sync",
                run_id=run_id,
                counters={"pages": 1, "jobs_seen": rows.height},
            )
        for key in totals:
            totals[key] += getattr(result, key)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label}: {frame.height:,} rows, {wall:.1f} s wall = {frame.height / wall:,.0f} rows/s; "
        f"{cpu:.1f} CPU-s = {frame.height / cpu:,.0f} rows per CPU-second; {totals}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        load_all(db, synthetic_jobs(args.rows, T0), T0, args.batch, "initial load, empty warehouse")
        later = T0 + timedelta(days=1)
        resync = synthetic_jobs(args.rows, later, changed_every=100)
        load_all(db, resync, later, args.batch, "re-sync, 1% changed")
        print(f"warehouse file: {db.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
