"""The streaming core of every sync: pages -> batches -> normalized frames -> one transaction each.

Pages arrive from the connector in ascending order while further pages are already being fetched
in the background; records are gathered into batches of ``batch_rows`` and each batch is
normalized (Polars) and loaded (DuckDB) in one transaction *together with* the run counters and
the checkpoint that covers it. So a crash at any moment leaves whole batches or nothing, and the
next run resumes after the last committed page. Memory is bounded by one batch plus the
connector's small read-ahead buffer, never by the dataset.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import polars as pl

from connectors import Client, Page, RejectedRecord, ScanReport
from transforms import jobs_frame, normalize_jobs, with_version_at
from warehouse import load_jobs, open_warehouse

from .progress import NullProgress, ProgressSink
from .settings import SyncSettings

__all__ = ["BatchTotals", "ScanPlan", "ScanResult", "run_scan"]

Mode = Literal["incremental", "full", "backfill"]

_REJECTED_SCHEMA = {"job_id": pl.String, "reason": pl.String, "raw": pl.String}


@dataclass(frozen=True)
class ScanPlan:
    """What one pass over ``GET /jobs`` reads and where its checkpoint lives."""

    run_id: str
    filters: dict[str, str] = field(default_factory=dict)
    start_page: int = 1
    expected_total: int | None = None
    # Incremental: stop after the first page lying entirely before this instant.
    stop_before: datetime | tuple[datetime, str] | None = None
    # Backfill date window, applied to posted_at on our side (the API has no date filter).
    since: datetime | None = None
    until: datetime | None = None
    # Where the resume point is written after each committed batch (None: no checkpoint).
    checkpoint_key: str | None = None
    checkpoint_extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class BatchTotals:
    """What the batches of one scan did, summed; mirrors the ``sync_runs`` counters."""

    requests: int = 0
    pages: int = 0
    jobs_seen: int = 0
    jobs_inserted: int = 0
    jobs_updated: int = 0
    jobs_unchanged: int = 0
    jobs_stale: int = 0
    jobs_rejected: int = 0
    batches: int = 0
    # The newest (posted_at, job_id) loaded: the listing's sort key, so the next cursor.
    max_key: tuple[datetime, str] | None = None

    def add_newest(self, frame: pl.DataFrame) -> None:
        newest = (
            frame.select("posted_at", "job_id")
            .drop_nulls()
            .sort(["posted_at", "job_id"], descending=True)
            .head(1)
        )
        if newest.height:
            key = (newest["posted_at"][0], newest["job_id"][0])
            if self.max_key is None or key > self.max_key:
                self.max_key = key


@dataclass(frozen=True)
class ScanResult:
    report: ScanReport
    totals: BatchTotals


def _rejected_frame(rejected: list[RejectedRecord]) -> pl.DataFrame:
    """Rejects are rare and already Python objects; a tiny frame is built from them as is."""
    return pl.DataFrame(
        {
            "job_id": [r.job_id for r in rejected],
            "reason": [r.reason for r in rejected],
            "raw": [r.raw for r in rejected],
        },
        schema=_REJECTED_SCHEMA,
    )


def _in_window(frame: pl.DataFrame, since: datetime | None, until: datetime | None) -> pl.DataFrame:
    if since is None and until is None:
        return frame
    utc = pl.Datetime("us", "UTC")
    keep = pl.lit(True)
    if since is not None:
        keep = keep & (pl.col("posted_at") >= pl.lit(since, dtype=utc))
    if until is not None:
        keep = keep & (pl.col("posted_at") < pl.lit(until, dtype=utc))
    return frame.filter(keep)


class _Batcher:
    """Accumulates pages and commits them as one warehouse transaction per batch."""

    def __init__(
        self,
        settings: SyncSettings,
        plan: ScanPlan,
        fx_rates: pl.DataFrame,
        totals: BatchTotals,
        requests_so_far: Callable[[], int],
    ) -> None:
        self._settings = settings
        self._plan = plan
        self._fx = fx_rates
        self._totals = totals
        self._requests_so_far = requests_so_far
        self._requests_committed = 0
        self._reset()

    def _reset(self) -> None:
        self._records: list[dict[str, Any]] = []
        self._rejected: list[RejectedRecord] = []
        self._pages = 0
        self._last_page: Page | None = None
        self._observed_at: datetime | None = None

    def add(self, page: Page) -> None:
        if self._observed_at is None:
            # The earliest moment this batch's data is known to be the source's state: newest-wins
            # compares it with webhook events, so it must not be later than the fetch.
            fetched = getattr(page, "fetched_at", None)
            self._observed_at = fetched or datetime.now(UTC)
        self._records.extend(page.records)
        self._rejected.extend(page.rejected)
        self._pages += 1
        self._last_page = page
        if len(self._records) >= self._settings.batch_rows:
            self.flush()

    def flush(self) -> None:
        if self._last_page is None:
            return
        observed_at = self._observed_at or datetime.now(UTC)
        frame = with_version_at(normalize_jobs(jobs_frame(self._records), self._fx), observed_at)
        seen = frame.height
        frame = _in_window(frame, self._plan.since, self._plan.until)
        rejected = _rejected_frame(self._rejected)
        requests_now = self._requests_so_far()
        counters = {
            "requests": requests_now - self._requests_committed,
            "pages": self._pages,
            "jobs_seen": seen,
            "jobs_rejected": rejected.height,
        }
        state: dict[str, Any] = {}
        if self._plan.checkpoint_key is not None:
            state[self._plan.checkpoint_key] = {
                **self._plan.checkpoint_extra,
                "run_id": self._plan.run_id,
                "next_page": self._last_page.number + 1,
                "expected_total": self._last_page.meta.total,
            }
        with open_warehouse(self._settings.db, lock_timeout=self._settings.lock_timeout) as con:
            result = load_jobs(
                con,
                frame,
                observed_at=observed_at,
                change_source="sync",
                run_id=self._plan.run_id,
                rejected=rejected,
                counters=counters,
                state=state,
            )
        t = self._totals
        self._requests_committed = requests_now
        t.requests += counters["requests"]
        t.pages += self._pages
        t.jobs_seen += seen
        t.jobs_rejected += rejected.height
        t.jobs_inserted += result.inserted
        t.jobs_updated += result.updated
        t.jobs_unchanged += result.unchanged
        t.jobs_stale += result.stale
        t.batches += 1
        t.add_newest(frame)
        self._reset()


@contextmanager
def _relaxed_gc() -> Iterator[None]:
    """Defer the cyclic garbage collector while a scan builds millions of small dicts.

    Decoded records hold no reference cycles, yet every 700 allocations CPython walks the young
    objects and, as batches pile up, the old ones too: about a fifth of a sync's CPU on this
    machine (200k jobs: 24.2 s -> 17.8 s of CPU). Long-lived objects from imports are frozen out
    of the walk and the first threshold is raised; reference counting still frees each batch the
    moment it is committed, so memory stays bounded by the batch. Restored afterwards.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def run_scan(
    client: Client,
    plan: ScanPlan,
    settings: SyncSettings,
    fx_rates: pl.DataFrame,
    *,
    totals: BatchTotals | None = None,
    progress: ProgressSink | None = None,
) -> ScanResult:
    """Read every page the plan covers into the warehouse; return the connector's report."""
    sink = progress or NullProgress()
    totals = totals if totals is not None else BatchTotals()
    scan = client.jobs.scan(
        **plan.filters,
        start_page=plan.start_page,
        expected_total=plan.expected_total,
        stop_before=plan.stop_before,
    )
    batcher = _Batcher(settings, plan, fx_rates, totals, lambda: scan.report.requests)
    known_total = False
    with _relaxed_gc():
        for page in scan:
            if not known_total and plan.stop_before is None:
                pages = -(-page.meta.total // max(page.meta.limit, 1))
                sink.set_total(max(pages - plan.start_page + 1, 0))
                known_total = True
            batcher.add(page)
            sink.advance(1, len(page.records))
        batcher.flush()
    return ScanResult(report=scan.report, totals=totals)
