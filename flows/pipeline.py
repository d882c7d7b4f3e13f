"""The streaming core of every sync: pages -> batches -> normalized frames -> one transaction each.

Pages arrive from the connector in ascending order while further pages are already being fetched
in the background; records are gathered into batches of ``batch_rows`` and each batch is
normalized (Polars) and loaded (DuckDB) in one transaction *together with* the run counters and
the checkpoint that covers it. So a crash at any moment leaves whole batches or nothing, and the
next run resumes after the last committed page.

A full batch is prepared (parsed and normalized) on one thread and loaded on another while the
scan goes on fetching the next one: Polars and DuckDB release the GIL, so preparing a batch
overlaps loading the previous one, and both overlap the fetch instead of stalling it (the
connector's read-ahead window is only a few pages). One loader thread and a hand-off that waits
for the previous batch keep commits in page order, so checkpoints still only move forward over
committed data. Memory is bounded by three batches (loading, preparing, filling) plus the
read-ahead window and the scan's compact set of ids seen, never by the dataset's records.
"""

from __future__ import annotations

import contextvars
import gc
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import polars as pl

from connectors import Client, Page, RejectedRecord, ScanReport
from transforms import normalize_jobs, with_version_at
from transforms.records import frame_from_ndjson
from warehouse import load_jobs, open_warehouse

from .heap import release_free_heap
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


@dataclass
class _Batch:
    """The pages gathered for one warehouse transaction; handed whole to the loader thread."""

    chunks: list[bytes] = field(default_factory=list)  # one NDJSON chunk per page
    rows: int = 0
    rejected: list[RejectedRecord] = field(default_factory=list)
    pages: int = 0
    last_page: Page | None = None
    # When the batch's earliest page request went out: newest-wins compares it with webhook
    # events, so it must not be later than the source state the pages show.
    observed_at: datetime | None = None
    requests_at_close: int = 0

    def add(self, page: Page) -> None:
        fetched_at = page.fetched_at or datetime.now(UTC)
        if self.observed_at is None or fetched_at < self.observed_at:
            self.observed_at = fetched_at
        if page.texts:
            # The records' texts as the API sent them, one per line: a page's worth of NDJSON
            # without decoding or encoding a record (see connectors.models.decode_page).
            self.chunks.append(b"\n".join(page.texts))
            self.rows += len(page.texts)
        self.rejected.extend(page.rejected)
        self.pages += 1
        self.last_page = page

    def take_chunks(self) -> list[bytes]:
        """The gathered chunks, handed over: the batch keeps no reference to them."""
        chunks, self.chunks = self.chunks, []
        return chunks


@dataclass
class _Prepared:
    """A batch turned into what its transaction writes (Polars work only, no warehouse)."""

    batch: _Batch
    frame: pl.DataFrame
    seen: int
    rejected: pl.DataFrame


class _Batcher:
    """Accumulates pages; each full batch commits as one warehouse transaction on a loader thread.

    A full batch is first prepared (parsed and normalized, Polars) on a thread of its own, so
    that it overlaps the previous batch's load (DuckDB) instead of queueing behind it: the scan
    would otherwise hold the finished batch idle while it waits for that load. On 2 cores this
    took normalize + upsert of 1M jobs from ~212k to ~254k rows/s (bench transforms worker).
    Memory stays at three batches: the one loading, the one preparing and the one filling.

    Use as a context manager: leaving it waits for the batch in flight, so its commit (and
    checkpoint) lands before an error from the scan propagates and a rerun resumes after it.
    """

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
        self._preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobsphere-prepare")
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobsphere-load")
        self._in_flight: Future[None] | None = None
        self._filling = _Batch()

    def __enter__(self) -> _Batcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        try:
            if exc_type is None:
                self._wait()
            else:
                # The scan failed: let the batch in flight commit (a rerun resumes after it), but
                # the scan's own error is the one to report.
                with suppress(Exception):
                    self._wait()
        finally:
            self._loader.shutdown(wait=True)
            self._preparer.shutdown(wait=True)

    def add(self, page: Page) -> None:
        self._filling.add(page)
        if self._filling.rows >= self._settings.batch_rows:
            self.flush()

    def flush(self) -> None:
        """Start preparing the gathered pages, and hand them to the loader once the previous
        batch has committed (commits stay in page order)."""
        batch, self._filling = self._filling, _Batch()
        if batch.last_page is None:
            return
        batch.requests_at_close = self._requests_so_far()
        # Prefect's run context (and any other context variable) follows the work to the threads.
        prepared = self._preparer.submit(contextvars.copy_context().run, self._prepare, batch)
        self._wait()
        # In a one-item list the loader can take it out: its work item would otherwise keep the
        # future, and with it the batch's frame, alive until after the commit freed the heap.
        context = contextvars.copy_context()
        self._in_flight = self._loader.submit(context.run, self._commit, [prepared])

    def _wait(self) -> None:
        """Block until the batch in flight has committed; re-raise its error here."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.result()

    def _prepare(self, batch: _Batch) -> _Prepared:
        assert batch.observed_at is not None
        # Handed over as a call argument, never held here: frame_from_ndjson can then free the
        # chunks once it has joined them (a ``*tuple`` call would keep them alive: +20 MB).
        frame = frame_from_ndjson(batch.take_chunks())
        frame = with_version_at(normalize_jobs(frame, self._fx), batch.observed_at)
        seen = frame.height
        return _Prepared(
            batch=batch,
            frame=_in_window(frame, self._plan.since, self._plan.until),
            seen=seen,
            rejected=_rejected_frame(batch.rejected),
        )

    def _commit(self, handed: list[Future[_Prepared]]) -> None:
        prepared = handed.pop().result()
        batch, frame, seen, rejected = (
            prepared.batch,
            prepared.frame,
            prepared.seen,
            prepared.rejected,
        )
        del prepared  # so that ``del frame`` below really frees it before the heap is trimmed
        assert batch.last_page is not None and batch.observed_at is not None
        observed_at = batch.observed_at
        counters = {
            "requests": batch.requests_at_close - self._requests_committed,
            "pages": batch.pages,
            "jobs_seen": seen,
            "jobs_rejected": rejected.height,
        }
        state: dict[str, Any] = {}
        if self._plan.checkpoint_key is not None:
            state[self._plan.checkpoint_key] = {
                **self._plan.checkpoint_extra,
                "run_id": self._plan.run_id,
                "next_page": batch.last_page.number + 1,
                "expected_total": batch.last_page.meta.total,
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
        self._requests_committed = batch.requests_at_close
        t.requests += counters["requests"]
        t.pages += batch.pages
        t.jobs_seen += seen
        t.jobs_rejected += rejected.height
        t.jobs_inserted += result.inserted
        t.jobs_updated += result.updated
        t.jobs_unchanged += result.unchanged
        t.jobs_stale += result.stale
        t.batches += 1
        t.add_newest(frame)
        del frame, result
        release_free_heap()


# httpx's own transport left every response in a reference cycle (response <-> its bound
# stream), so a page's body was freed only by the cyclic collector; with the first threshold
# raised, hundreds of bodies piled up. The default transport now (connectors.transport) creates no
# cycles (0 unreachable objects after 50 pages), but a client given another httpx transport may,
# so a young-generation collection every 128 pages stays: it walks only the objects created since
# (imports are frozen out) and costs ~80 collections per 1M jobs. Every 32 pages cost ~1 s of GIL
# time per 1M jobs (py-spy --gil) for no measurable memory.
_COLLECT_EVERY_PAGES = 128


@contextmanager
def _relaxed_gc() -> Iterator[None]:
    """Defer the cyclic garbage collector while a scan allocates millions of small objects.

    A scan's objects hold no reference cycles, yet every 700 allocations CPython walks the young
    objects and, as batches pile up, the old ones too: about a fifth of a sync's CPU on this
    machine when pages were decoded into dicts (200k jobs: 24.2 s -> 17.8 s of CPU); pages are
    now texts and untracked keys, far fewer objects, but a caller's transport or ``on_page`` may
    still allocate per record. Long-lived objects from imports are frozen out
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
    known_total = False
    pages_seen = 0
    with (
        _relaxed_gc(),
        _Batcher(settings, plan, fx_rates, totals, lambda: scan.report.requests) as batcher,
    ):
        for page in scan:
            if not known_total and plan.stop_before is None:
                pages = -(-page.meta.total // max(page.meta.limit, 1))
                sink.set_total(max(pages - plan.start_page + 1, 0))
                known_total = True
            batcher.add(page)
            sink.advance(1, len(page.texts))
            pages_seen += 1
            if pages_seen % _COLLECT_EVERY_PAGES == 0:
                gc.collect(1)
        batcher.flush()
    return ScanResult(report=scan.report, totals=totals)
