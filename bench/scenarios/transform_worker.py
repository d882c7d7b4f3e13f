"""``python -m bench.scenarios.transform_worker --rows N --repeat R``: transforms and loading alone.

Runs in its own process (so earlier scenarios leave no memory behind) and prints one JSON line of
rows/s samples. The records are the sandbox's own seeded jobs, built before any clock starts.
Each step is timed the way the sync pipeline runs it (``flows/pipeline.py``): records -> raw
frame, normalization, then per batch of ``--batch-rows`` normalize + ``with_version_at`` on one
thread while the previous batch is loaded on another (open the warehouse + ``load_jobs`` in one
transaction). The decoded records are dropped once the raw frames are built, as a sync drops
each batch's records.

``resync_later`` is the ``--resyncs``-th re-sync in a row into the same warehouse, each changing
a different 1% of the jobs: what a weekly full sync meets after some months. A rewritten job is
deleted and re-inserted (``warehouse.load``), so the rows each re-sync replaces stay stored
until the checkpoint's vacuum merges row groups (1,080,606 stored rows for 1,000,000 live after
ten). Profiled per loader step (README, Benchmarks): the tenth re-sync spends more than the first
in classifying, in applying and, most, in the checkpoint when the file closes (0.28 -> 0.57 s
per 1M), which is where the vacuum runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from flows.defaults import DEFAULT_BATCH_ROWS
from sandbox.generate import BaseJobs
from transforms import jobs_frame, normalize_jobs, with_version_at
from warehouse import load_jobs, open_warehouse, read_fx_rates, start_run

__all__ = ["main", "seeded_records"]


def seeded_records(rows: int, seed: int = 42) -> list[dict[str, Any]]:
    """The sandbox's jobs as the API would serve them (``GET /jobs`` bodies, decoded)."""
    base = BaseJobs(rows, seed)
    return [base.job(index, with_updated_at=False) for index in range(rows)]


def _changed(records: list[dict[str, Any]], share: float) -> list[dict[str, Any]]:
    """A copy where every ``1/share``-th job has a new title (a tracked attribute)."""
    step = round(1 / share)
    return [
        {**record, "title": f"{record['title']} (reposted)"} if index % step == 0 else record
        for index, record in enumerate(records)
    ]


def _load(
    db: Path, raw: pl.DataFrame, fx: pl.DataFrame, batch_rows: int, observed: datetime
) -> float:
    """Normalize and upsert ``raw`` batch by batch; return the seconds it took."""
    with open_warehouse(db) as con:
        run_id = start_run(con, "full", {})

    def prepare(offset: int) -> pl.DataFrame:
        return with_version_at(normalize_jobs(raw.slice(offset, batch_rows), fx), observed)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare") as preparer:
        preparing = preparer.submit(prepare, 0)
        for offset in range(0, raw.height, batch_rows):
            frame = preparing.result()
            if offset + batch_rows < raw.height:
                preparing = preparer.submit(prepare, offset + batch_rows)
            with open_warehouse(db) as con:
                load_jobs(
                    con,
                    frame,
                    observed_at=observed,
                    change_source="sync",
                    run_id=run_id,
                    counters={"jobs_seen": frame.height},
                )
            del frame
    return time.perf_counter() - started


def _changed_again(raw: pl.DataFrame, round_: int) -> pl.DataFrame:
    """``raw`` with the title of another 1% of the jobs changed, in ``raw`` too; applied to the
    previous round's frame, so exactly that 1% differs from what the warehouse holds (rounds
    2 to 99 pick distinct residues, none of them the first re-sync's)."""
    tag = f"(round {round_}) "
    hit = (pl.int_range(pl.len()) % 100) == (round_ * 37) % 100
    return raw.with_columns(
        title=pl.when(hit).then(pl.lit(tag) + pl.col("title")).otherwise(pl.col("title")),
        raw=pl.when(hit)
        .then(pl.col("raw").str.replace('"title":"', '"title":"' + tag, literal=True))
        .otherwise(pl.col("raw")),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS)
    parser.add_argument("--resyncs", type=int, default=10, help="re-syncs in a row (2-99)")
    args = parser.parse_args(argv)
    if not 2 <= args.resyncs <= 99:
        parser.error("--resyncs must be between 2 and 99")

    records = seeded_records(args.rows)
    changed_raw = jobs_frame(_changed(records, 0.01))
    samples: dict[str, list[float]] = {
        "frame": [],
        "normalize": [],
        "load_empty": [],
        "resync": [],
        "resync_later": [],
    }
    for _ in range(args.repeat):
        started = time.perf_counter()
        raw = jobs_frame(records)
        samples["frame"].append(args.rows / (time.perf_counter() - started))
    # A sync holds a batch of decoded records at a time, never the whole dataset: a million live
    # dicts here would tax every later step with memory and collector work no sync pays.
    del records
    gc.collect()
    work = Path(tempfile.mkdtemp(prefix="bench-transforms-"))
    try:
        with open_warehouse(work / "fx.duckdb") as con:
            fx = read_fx_rates(con)
        for repeat in range(args.repeat):
            started = time.perf_counter()
            normalized = normalize_jobs(raw, fx)
            samples["normalize"].append(normalized.height / (time.perf_counter() - started))
            del normalized
            db = work / f"load-{repeat}.duckdb"
            first = datetime.now(UTC)
            seconds = _load(db, raw, fx, args.batch_rows, first)
            samples["load_empty"].append(args.rows / seconds)
            seconds = _load(db, changed_raw, fx, args.batch_rows, first + timedelta(hours=1))
            samples["resync"].append(args.rows / seconds)
            current = changed_raw
            for round_ in range(2, args.resyncs + 1):
                current = _changed_again(current, round_)
                later = first + timedelta(hours=round_)
                seconds = _load(db, current, fx, args.batch_rows, later)
            del current
            samples["resync_later"].append(args.rows / seconds)
            db.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.stdout.write(json.dumps({"rows": args.rows, "rows_per_s": samples}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
