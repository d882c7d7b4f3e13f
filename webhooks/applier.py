"""Drain the inbox into the warehouse in micro-batches, through the same load path as the sync.

One batch = one warehouse transaction: the events' effects (``jobs``/``job_history`` through
:func:`warehouse.load_jobs`, ``applications``, ``application_status_history``) and their
``webhook_events`` rows commit together. Only afterwards is the inbox told; if the process dies
in between, the next batch finds the ids in ``webhook_events`` and only re-syncs the inbox, so an
event is applied exactly once. The warehouse file is opened per batch and released right after
(SPEC section 4: analysts can read between batches). When another process holds it
(:class:`warehouse.WarehouseLockedError`), events simply wait in the inbox and the
:class:`Applier` retries with exponential backoff.

Job versions are applied in *arrival order*: the k-th event of a job in the batch goes in load
round k, so a batch behaves exactly like applying its events one by one (a late, older version
is ``stale``; every accepted version gets its ``job_history`` row) while each round stays one
set-based load.
"""

from __future__ import annotations

import logging
import multiprocessing.queues
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson
import polars as pl

from transforms import jobs_frame, normalize_jobs, with_version_at
from warehouse import WarehouseLockedError, load_jobs, open_warehouse, read_fx_rates
from warehouse.applications import apply_application_facts
from warehouse.events import known_events, record_events
from webhooks.inbox import Inbox
from webhooks.worker import ApplyReport, EventLike, LoopSettings

__all__ = [
    "JOB_EVENT_TYPES",
    "ApplyReport",
    "apply_events",
    "apply_pending",
    "backoff_delay",
    "run_loop",
]

logger = logging.getLogger("webhooks.applier")

JOB_EVENT_TYPES = ("job.created", "job.updated")
_APPLICATION_RECEIVED = "application.received"
_STATUS_CHANGED = "candidate.status_changed"
_UTC = pl.Datetime("us", "UTC")
#: The longest the applier sleeps between two attempts to open a busy warehouse file.
LOCK_RETRY_SECONDS = 0.05
_OUTCOME_SCHEMA = {"event_id": pl.String(), "outcome": pl.String()}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _outcomes(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col("event_id").cast(pl.String), pl.col("outcome").cast(pl.String))


def _valid_job(job: object) -> bool:
    return isinstance(job, dict) and isinstance(job.get("id"), str) and bool(job["id"])


def _apply_jobs(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, *, now: datetime
) -> pl.DataFrame:
    """Job events -> ``load_jobs`` in arrival rounds; returns ``event_id, outcome``."""
    if events.is_empty():
        return pl.DataFrame(schema=_OUTCOME_SCHEMA)
    # jobs_frame takes decoded records (the same contract as the sync's pages), so decoding
    # the payloads is the one step that is per event.
    jobs = [orjson.loads(payload).get("data", {}).get("job") for payload in events["payload"]]
    valid = pl.Series("valid", [_valid_job(job) for job in jobs], dtype=pl.Boolean)
    keyed = events.with_columns(
        valid,
        pl.Series("job_id", [job["id"] if _valid_job(job) else None for job in jobs], pl.String),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos"),
    )
    usable = keyed.filter(pl.col("valid")).with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over("job_id").alias("_round")
    )
    results: list[pl.DataFrame] = [
        keyed.filter(~pl.col("valid")).select("event_id", pl.lit("ignored").alias("outcome"))
    ]
    if usable.is_empty():
        return _outcomes(pl.concat(results))
    fx_rates = read_fx_rates(con)
    for (round_no,), part in usable.group_by("_round", maintain_order=True):
        logger.debug("applying job round %s (%d events)", round_no, part.height)
        records = [jobs[pos] for pos in part["_pos"]]
        normalized = normalize_jobs(jobs_frame(records), fx_rates)
        # Job ids are unique within a round, so the event columns join back by job_id.
        with_event = normalized.join(
            part.select("job_id", "event_id", pl.col("created_at").alias("_event_created_at")),
            on="job_id",
            how="left",
        )
        versioned = with_version_at(with_event, pl.col("_event_created_at")).drop(
            "_event_created_at"
        )
        # load_jobs joins the caller's open transaction (warehouse.transaction).
        result = load_jobs(con, versioned, observed_at=now, change_source="webhook")
        results.append(
            result.outcomes.select(
                "event_id",
                pl.when(pl.col("outcome") == "stale")
                .then(pl.lit("stale"))
                .otherwise(pl.lit("applied"))
                .alias("outcome"),
            )
        )
    outcomes = _outcomes(pl.concat(results))
    # An event that load_jobs did not report on (it should not happen) is not silently lost.
    missing = events.join(outcomes, on="event_id", how="anti")
    if not missing.is_empty():
        raise RuntimeError(f"load_jobs returned no outcome for {missing.height} job events")
    return outcomes


def _application_facts(events: pl.DataFrame) -> pl.DataFrame:
    """Both application event kinds as one frame of facts (columnar JSON extraction)."""

    def field(path: str) -> pl.Expr:
        return pl.col("payload").str.json_path_match(path)

    def stamp(path: str) -> pl.Expr:
        return field(path).str.to_datetime("%+", time_zone="UTC", strict=False)

    received = pl.col("event_type") == _APPLICATION_RECEIVED
    facts = events.select(
        "event_id",
        pl.col("_seq").alias("seq"),
        pl.when(received)
        .then(pl.lit("received"))
        .otherwise(pl.lit("status_changed"))
        .alias("kind"),
        pl.when(received)
        .then(field("$.data.application.id"))
        .otherwise(field("$.data.application_id"))
        .alias("application_id"),
        pl.when(received)
        .then(field("$.data.application.job_id"))
        .otherwise(field("$.data.job_id"))
        .alias("job_id"),
        pl.when(received)
        .then(field("$.data.application.candidate_id"))
        .otherwise(field("$.data.candidate_id"))
        .alias("candidate_id"),
        pl.when(received)
        .then(pl.lit(None, pl.String))
        .otherwise(field("$.data.previous_status"))
        .alias("previous_status"),
        pl.when(received)
        .then(field("$.data.application.status"))
        .otherwise(field("$.data.status"))
        .alias("status"),
        pl.when(received)
        .then(stamp("$.data.application.applied_at"))
        .otherwise(pl.lit(None, _UTC))
        .alias("applied_at"),
        pl.when(received)
        .then(stamp("$.data.application.applied_at"))
        .otherwise(stamp("$.data.changed_at"))
        .fill_null(pl.col("created_at"))
        .alias("ts"),
    )
    return facts


def _apply_applications(con: duckdb.DuckDBPyConnection, events: pl.DataFrame) -> pl.DataFrame:
    if events.is_empty():
        return pl.DataFrame(schema=_OUTCOME_SCHEMA)
    facts = _application_facts(events)
    usable = pl.col("application_id").is_not_null() & pl.col("status").is_not_null()
    ignored = facts.filter(~usable).select("event_id", pl.lit("ignored").alias("outcome"))
    applied = apply_application_facts(con, facts.filter(usable))
    return _outcomes(pl.concat([ignored, applied]))


def apply_events(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, *, now: datetime
) -> pl.DataFrame:
    """Apply inbox events (``Inbox.pending`` frame) inside the caller's transaction.

    Returns ``event_id, outcome, deliveries``: the warehouse's view of every event in
    ``events`` afterwards, which is what the inbox is marked with.
    """
    events = events.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_seq"))
    known = known_events(con, events["event_id"])
    # The warehouse decides: an event it already holds is never applied again, whatever the
    # inbox says (covers a crash between the warehouse commit and the inbox update).
    fresh = events.join(known.select("event_id"), on="event_id", how="anti").drop("outcome")
    job_mask = pl.col("event_type").is_in(JOB_EVENT_TYPES)
    app_mask = pl.col("event_type").is_in([_APPLICATION_RECEIVED, _STATUS_CHANGED])
    outcomes = pl.concat(
        [
            _apply_jobs(con, fresh.filter(job_mask), now=now),
            _apply_applications(con, fresh.filter(app_mask)),
            fresh.filter(~job_mask & ~app_mask).select(
                "event_id", pl.lit("ignored").alias("outcome")
            ),
        ]
    )
    new_rows = fresh.join(outcomes, on="event_id", how="left").with_columns(
        pl.lit(now).cast(_UTC).alias("applied_at")
    )
    redelivered = events.join(
        known.rename({"deliveries": "_stored", "outcome": "_stored_outcome"}),
        on="event_id",
        how="inner",
    )
    record_events(
        con,
        pl.concat(
            [
                new_rows.select(
                    "event_id",
                    "event_type",
                    "created_at",
                    "received_at",
                    "applied_at",
                    "outcome",
                    "deliveries",
                    "payload",
                ),
                # Only the delivery count of a known event may change.
                redelivered.filter(pl.col("deliveries") > pl.col("_stored")).select(
                    "event_id",
                    "event_type",
                    "created_at",
                    "received_at",
                    pl.lit(now).cast(_UTC).alias("applied_at"),
                    pl.col("_stored_outcome").alias("outcome"),
                    "deliveries",
                    "payload",
                ),
            ]
        ),
    )
    return pl.concat(
        [
            new_rows.select("event_id", "outcome", "deliveries"),
            redelivered.select(
                "event_id",
                pl.col("_stored_outcome").alias("outcome"),
                pl.max_horizontal("deliveries", "_stored").alias("deliveries"),
            ),
        ]
    )


class _LockWait:
    """``open_warehouse``'s sleep between lock retries, capped at ``LOCK_RETRY_SECONDS``.

    Whoever holds the file between batches (an analyst's query, the latency benchmark's reader)
    usually holds it for milliseconds; the default exponential retry (50 ms doubling to 2 s)
    made the applier sleep long past the release, adding hundreds of ms to an event's way to
    queryable. Retrying every 50 ms for ``lock_timeout`` (1 s) costs at most ~20 failed opens;
    a long hold (a sync) still ends in ``locked`` and the loop's own exponential backoff.
    """

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, delay: float) -> None:
        delay = min(delay, LOCK_RETRY_SECONDS)
        self.seconds += delay
        time.sleep(delay)


def apply_pending(
    db_path: str | Path,
    inbox: Inbox,
    *,
    max_events: int = 1000,
    lock_timeout: float = 1.0,
    clock: Callable[[], datetime] = _utcnow,
) -> ApplyReport:
    """Apply up to ``max_events`` inbox events in one warehouse transaction.

    Returns ``ApplyReport(locked=True)`` when another process holds the warehouse file for
    longer than ``lock_timeout``; the events stay in the inbox.
    """
    events = inbox.pending(max_events)
    if events.is_empty():
        return ApplyReport()
    now = clock()
    waited = _LockWait()
    try:
        with open_warehouse(db_path, lock_timeout=lock_timeout, sleep=waited) as con:
            con.begin()
            try:
                marked = apply_events(con, events, now=now)
                con.commit()
            except BaseException:
                con.rollback()
                raise
    except WarehouseLockedError:
        logger.info("warehouse is locked; %d events wait in the inbox", events.height)
        return ApplyReport(locked=True)
    inbox.mark_applied(
        marked["event_id"].to_list(),
        marked["outcome"].to_list(),
        marked["deliveries"].to_list(),
        applied_at=now,
    )
    logger.debug(
        "applied %d events in %.0f ms (warehouse transaction included; %.0f ms waiting for the "
        "file)",
        events.height,
        (clock() - now).total_seconds() * 1000,
        waited.seconds * 1000,
    )
    fresh = events.filter(~pl.col("applied"))
    counts = (
        marked.join(fresh.select("event_id"), on="event_id", how="semi")["outcome"]
        .value_counts()
        .rows()
    )
    by_outcome = dict(counts)
    return ApplyReport(
        applied=by_outcome.get("applied", 0),
        stale=by_outcome.get("stale", 0),
        ignored=by_outcome.get("ignored", 0),
        redelivered=events.height - fresh.height,
    )


def backoff_delay(failures: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Seconds to wait after ``failures`` consecutive locked/failed attempts (0 -> none)."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** (failures - 1)))


def _warm_up(settings: LoopSettings) -> None:
    """Migrate the warehouse and build the normalizers' lookup tables before traffic.

    The first normalization builds country/subdivision tables (about a second); paying it at
    start-up keeps it out of the first events' latency. Nothing is written.
    """
    try:
        with open_warehouse(settings.db_path, lock_timeout=settings.lock_timeout) as con:
            fx_rates = read_fx_rates(con)
        sample = {"id": "warm-up", "location": "San Francisco, CA", "salary_range": None}
        normalize_jobs(jobs_frame([sample]), fx_rates)
    except WarehouseLockedError:
        logger.info("warehouse locked at start-up; the first batch will migrate it")
    except Exception:
        # Not fatal here: the batch loop retries with backoff and logs each failure.
        logger.exception("applier warm-up failed")


def run_loop(
    settings: LoopSettings,
    wake: EventLike,
    stop: EventLike,
    reports: multiprocessing.queues.SimpleQueue[ApplyReport],
    parent_pid: int,
) -> None:
    """The applier process's body (started by :class:`webhooks.worker.Applier`).

    Batches until ``stop``, then a final drain whose report goes to ``reports``; exits early,
    without draining, when its parent (the receiver) is gone.
    """
    # The parent coordinates shutdown; a Ctrl-C on the process group must not kill us mid-batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    failures = 0
    last_prune = 0.0
    _warm_up(settings)
    # Not durable: the applier only marks and prunes, which a crash may lose harmlessly (the
    # warehouse's webhook_events decides what was applied); see Inbox.
    with Inbox(settings.inbox_path, durable=False) as inbox:
        while not stop.is_set():
            if os.getppid() != parent_pid:
                logger.warning("receiver process is gone; applier exits, events stay in the inbox")
                return
            wake.clear()
            try:
                report = apply_pending(
                    settings.db_path,
                    inbox,
                    max_events=settings.batch_size,
                    lock_timeout=settings.lock_timeout,
                )
                failures = failures + 1 if report.locked else 0
            except Exception:
                # Keep serving: the events stay in the inbox and are retried with backoff.
                logger.exception("applying webhook events failed; will retry")
                failures += 1
                report = ApplyReport()
            if failures:
                _wait(wake, stop, backoff_delay(failures, cap=settings.max_backoff), parent_pid)
                continue
            if report.events >= settings.batch_size:
                continue  # a backlog: keep draining without waiting
            if time.monotonic() - last_prune > 3600:
                inbox.prune(older_than=settings.retention)
                last_prune = time.monotonic()
            _wait(wake, stop, settings.interval, parent_pid)
        reports.put(_final_drain(settings, inbox))


def _wait(wake: EventLike, stop: EventLike, seconds: float, parent_pid: int) -> None:
    """Sleep up to ``seconds``, waking early on ``wake``/``stop``; check the parent each second."""
    deadline = time.monotonic() + seconds
    while not stop.is_set() and os.getppid() == parent_pid:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or wake.wait(min(remaining, 1.0)):
            return


def _final_drain(settings: LoopSettings, inbox: Inbox) -> ApplyReport:
    total = ApplyReport()
    deadline = time.monotonic() + settings.drain_timeout
    while time.monotonic() < deadline:
        try:
            report = apply_pending(
                settings.db_path,
                inbox,
                max_events=settings.batch_size,
                lock_timeout=settings.lock_timeout,
            )
        except Exception:
            logger.exception("final drain failed; events stay in the inbox")
            break
        total = _add(total, report)
        if report.locked:
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        elif report.events == 0:
            break
    left = inbox.backlog().count
    if left:
        logger.warning("%d webhook events left in the inbox for the next start", left)
    logger.info(
        "final drain applied %d, stale %d, ignored %d",
        total.applied,
        total.stale,
        total.ignored,
    )
    return total


def _add(a: ApplyReport, b: ApplyReport) -> ApplyReport:
    return ApplyReport(
        applied=a.applied + b.applied,
        stale=a.stale + b.stale,
        ignored=a.ignored + b.ignored,
        redelivered=a.redelivered + b.redelivered,
        locked=b.locked,
    )
