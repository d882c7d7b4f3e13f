"""The sync flows: incremental, full reconciliation and backfill.

Each run is one Prefect flow run whose tasks are the meaningful steps — prepare (run row, cursor,
checkpoint), extract-and-load (the streaming pipeline: fetch, normalize, load in batches),
reconcile (soft deletes) and finish (run row, cursor, artifact). Pages are deliberately *not*
tasks: a task run costs Prefect bookkeeping, and a million-job sync has ten thousand pages. The
tasks have side effects and hand their results over in-process, so they are never cached and their
results never persisted (``NO_CACHE``: no hashing of settings and FX frames into a cache key).

A no-change incremental run is mostly Prefect's fixed cost, so the flows trim what Prefect does
beyond it: parameters are serialized without importing FastAPI (``_Flow``) and the run does not
wait for the heartbeat thread's next wake-up (``_end_heartbeats_without_waiting``).

Rules that make reruns safe:
- every batch commits with its checkpoint, so a killed run resumes after its last committed page;
- the incremental cursor moves only in the final transaction, after every batch it covers;
- only a complete, unfiltered full scan marks deletions;
- backfills never touch the cursor.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, ParamSpec, TypeVar

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from prefect.exceptions import MissingContextError
from prefect.flows import Flow
from pydantic import SecretStr
from pydantic_core import to_jsonable_python

from connectors import Client, JobSphereError, RetriableError
from warehouse import (
    fail_if_running,
    finish_run,
    get_state,
    mark_vanished,
    open_warehouse,
    read_fx_rates,
    set_state,
    start_run,
)

from .defaults import DEFAULT_BATCH_ROWS
from .errors import MissingApiKeyError
from .pipeline import BatchTotals, ScanPlan, ScanResult, run_scan
from .progress import make_progress
from .settings import BackfillSlice, SyncSettings

__all__ = [
    "MissingApiKeyError",
    "RunSummary",
    "backfill_flow",
    "run_backfill_flow",
    "run_sync",
    "run_sync_flow",
    "sync_flow",
]

logger = logging.getLogger("jobsphere.sync")

Mode = Literal["incremental", "full", "backfill"]
CURSOR_KEY = "cursor:jobs"

P = ParamSpec("P")
R = TypeVar("R")

# Every parameter type our flows declare; pydantic serializes these exactly as FastAPI would.
_PLAIN_PARAMETERS = (str, bool, int, float, type(None), SecretStr, BackfillSlice)


class _Flow(Flow[P, R]):
    """A Prefect flow whose run parameters are serialized without importing FastAPI.

    Prefect stores a flow run's parameters after passing them through FastAPI's
    ``jsonable_encoder``, and importing FastAPI (Starlette and all) just for that was 15% of a
    no-change incremental sync's CPU as a whole process (py-spy). Our parameters are plain
    values, ``SecretStr`` and ``BackfillSlice``, for which pydantic's own ``to_jsonable_python``
    gives the same JSON (the key stays masked as ``**********``); any other value (a dict, a
    future, a state) takes Prefect's path. ``with_options`` copies are plain Prefect flows.
    """

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        if all(isinstance(v, _PLAIN_PARAMETERS) for v in parameters.values()):
            return {key: to_jsonable_python(value) for key, value in parameters.items()}
        return super().serialize_parameters(parameters)


def _flow(*, name: str) -> Callable[[Callable[P, R]], _Flow[P, R]]:
    """``@flow(name=..., log_prints=False)`` with the FastAPI-free parameter serialization."""

    def wrap(fn: Callable[P, R]) -> _Flow[P, R]:
        return _Flow(fn=fn, name=name, log_prints=False)

    return wrap


def _end_heartbeats_without_waiting() -> bool:
    """Let our flow runs finish without waiting up to a second for the heartbeat thread.

    Prefect's synchronous flow engine beats from a daemon thread that sleeps in one-second steps,
    and on exit joins it — so every run ends with an idle wait of 0–1 s (0.86 s measured on a
    no-change sync), a quarter of the 4 s budget. Prefect's async engine runs the very same
    heartbeat context with ``join_on_exit=False``; this passes that flag for our flows only.
    Heartbeats themselves are untouched: the first still goes out when the run starts and one
    every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` seconds after, and the thread, told to stop, never
    beats again and ends within a second (a daemon, so it cannot hold the process open).

    Guarded: with a Prefect whose engine lacks this hook or flag, nothing is changed. Returns
    whether the hook is in place (a test pins it for the Prefect version we ship with).
    """
    from prefect import flow_engine

    original = getattr(flow_engine, "_send_heartbeats", None)
    if original is None:
        return False
    if getattr(original, "_jobsphere_no_join", False):
        return True
    try:
        if "join_on_exit" not in inspect.signature(original).parameters:
            return False
    except (TypeError, ValueError):
        return False

    @functools.wraps(original)
    def send_heartbeats(engine: Any, join_on_exit: bool = True) -> Any:
        if isinstance(getattr(engine, "flow", None), _Flow):
            join_on_exit = False
        return original(engine, join_on_exit=join_on_exit)

    send_heartbeats._jobsphere_no_join = True  # type: ignore[attr-defined]
    flow_engine._send_heartbeats = send_heartbeats
    return True


_end_heartbeats_without_waiting()


def checkpoint_key(mode: Mode, params: dict[str, Any]) -> str:
    """One resume point per mode and slice, so two different backfills never share one."""
    detail = ",".join(f"{k}={v}" for k, v in sorted(params.items()) if v is not None)
    return f"checkpoint:{mode}:{detail}"


@dataclass
class RunSummary:
    """What a run did; printed by the CLI and published as a Prefect artifact."""

    run_id: str
    mode: Mode
    status: str
    complete: bool
    notes: str
    requests: int
    pages: int
    jobs_seen: int
    jobs_inserted: int
    jobs_updated: int
    jobs_unchanged: int
    jobs_stale: int
    jobs_deleted: int
    jobs_rejected: int
    cursor: str | None
    seconds: float


def _client(settings: SyncSettings) -> Client:
    return Client(
        api_key=settings.api_key.get_secret_value(),
        base_url=settings.base_url,
        timeout=settings.timeout,
        concurrency=settings.concurrency,
    )


def _parse_cursor(value: Any) -> tuple[datetime, str] | None:
    """``{"posted_at", "job_id"}`` from ``sync_state``; a cursor without an id stops by time only."""
    if not isinstance(value, dict):
        return None
    posted = _parse_ts(value.get("posted_at"))
    return None if posted is None else (posted, str(value.get("job_id") or ""))


def _parse_ts(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value))


@dataclass
class _Prepared:
    run_id: str
    cursor: tuple[datetime, str] | None
    checkpoint: dict[str, Any] | None
    fx_rates: Any


@task(name="prepare-run", cache_policy=NO_CACHE, persist_result=False)
def prepare_run(settings: SyncSettings, mode: Mode, params: dict[str, Any]) -> _Prepared:
    """Open the run row and read what the run starts from: cursor, checkpoint, FX rates."""
    with open_warehouse(settings.db, lock_timeout=settings.lock_timeout) as con:
        run_id = start_run(con, mode, params)
        cursor = get_state(con, CURSOR_KEY)
        checkpoint = get_state(con, checkpoint_key(mode, params))
        fx = read_fx_rates(con)
        if isinstance(checkpoint, dict) and checkpoint.get("run_id"):
            # The run that wrote the checkpoint died mid-way (it clears the checkpoint when it
            # finishes); close its row so `status` does not show it running forever.
            fail_if_running(
                con, str(checkpoint["run_id"]), error=f"interrupted; resumed by run {run_id}"
            )
    return _Prepared(
        run_id=run_id,
        cursor=_parse_cursor(cursor),
        checkpoint=checkpoint if isinstance(checkpoint, dict) else None,
        fx_rates=fx,
    )


def _retry_only_retriable(task: Any, task_run: Any, state: Any) -> bool:
    """A second attempt resumes from the checkpoint; it helps only when the cause was transient."""
    return isinstance(state.result(raise_on_failure=False), RetriableError)


@task(
    name="extract-normalize-load",
    retries=1,
    retry_condition_fn=_retry_only_retriable,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def extract_load(
    settings: SyncSettings,
    plans: list[ScanPlan],
    fx_rates: Any,
    label: str,
    show_progress: bool,
) -> list[ScanResult]:
    """Run the plans in order (an order-check failure appends a full-scan plan)."""
    results: list[ScanResult] = []
    totals = BatchTotals()
    progress = make_progress(label, enabled=show_progress)
    try:
        with _client(settings) as client:
            for plan in plans:
                results.append(
                    run_scan(client, plan, settings, fx_rates, totals=totals, progress=progress)
                )
                report = results[-1].report
                if plan.stop_before is not None and not report.order_ok:
                    logger.warning(
                        "order check failed (%s); falling back to a full scan",
                        report.order_violation,
                    )
                    fallback = ScanPlan(run_id=plan.run_id, filters=plan.filters)
                    results.append(
                        run_scan(
                            client, fallback, settings, fx_rates, totals=totals, progress=progress
                        )
                    )
                    break
    finally:
        progress.close()
    return results


@task(name="reconcile-deletions", cache_policy=NO_CACHE, persist_result=False)
def reconcile(settings: SyncSettings, run_id: str, scan_started_at: datetime) -> int:
    with open_warehouse(settings.db, lock_timeout=settings.lock_timeout) as con:
        return mark_vanished(
            con,
            run_id=run_id,
            scan_started_at=scan_started_at,
            observed_at=datetime.now(UTC),
        )


def _publish(summary: RunSummary) -> None:
    """A table artifact on the flow run, so the Prefect UI shows what each run did."""
    rows = [{"metric": k, "value": str(v)} for k, v in asdict(summary).items()]
    create_table_artifact(
        rows, key=f"jobsphere-{summary.mode}", description=f"jobsphere {summary.mode} run"
    )


def _in_flow() -> bool:
    try:
        get_run_context()
    except MissingContextError:
        return False
    return True


def run_sync(
    settings: SyncSettings,
    *,
    mode: Mode,
    backfill: BackfillSlice | None = None,
    show_progress: bool = False,
) -> RunSummary:
    """The body shared by every sync flow; see the module docstring for the rules it keeps."""
    started = datetime.now(UTC)
    slice_ = backfill or BackfillSlice()
    params: dict[str, Any] = (
        slice_.model_dump(mode="json", exclude_none=True) if mode == "backfill" else {}
    )
    prep = prepare_run(settings, mode, params)
    ckey = checkpoint_key(mode, params)
    ck = prep.checkpoint
    resuming = ck is not None and ck.get("next_page", 1) > 1
    scan_started_at = _parse_ts(ck.get("scan_started_at")) if resuming and ck else None
    scan_started_at = scan_started_at or started
    notes: list[str] = []
    if resuming and ck:
        notes.append(f"resumed at page {ck['next_page']} from run {ck.get('run_id')}")

    if mode == "incremental" and prep.cursor is not None:
        posted, job_id = prep.cursor
        plan = ScanPlan(
            run_id=prep.run_id,
            # With no overlap, stop right below the cursor job itself (ties cost no extra page);
            # with one, below every job posted before cursor - overlap.
            stop_before=(posted, job_id) if not settings.overlap else posted - settings.overlap,
        )
    else:
        plan = ScanPlan(
            run_id=prep.run_id,
            filters=slice_.api_filters() if mode == "backfill" else {},
            start_page=int(ck["next_page"]) if resuming and ck else 1,
            expected_total=ck.get("expected_total") if resuming and ck else None,
            stop_before=slice_.since if mode == "backfill" else None,
            since=slice_.since,
            until=slice_.until,
            checkpoint_key=ckey,
            checkpoint_extra={"scan_started_at": scan_started_at.isoformat()},
        )
        if mode == "incremental":
            notes.append("empty warehouse: loaded everything")

    error: BaseException | None = None
    results: list[ScanResult] = []
    deleted = 0
    try:
        results = extract_load(settings, [plan], prep.fx_rates, f"{mode} sync", show_progress)
        report = results[-1].report
        if len(results) > 1:
            notes.append(
                f"order check failed ({results[0].report.order_violation}); fell back to a full scan"
            )
        complete = bool(report.complete)
        if not complete and report.incomplete_reason:
            notes.append(f"scan not provably complete: {report.incomplete_reason}")
        if mode == "full":
            if complete:
                deleted = reconcile(settings, prep.run_id, scan_started_at)
            else:
                notes.append("no deletions marked")
    except BaseException as exc:
        error = exc
        complete = False

    totals = results[-1].totals if results else BatchTotals()
    new_cursor = prep.cursor
    seen_max = totals.max_key
    moves = error is None and mode != "backfill" and seen_max is not None
    if moves and (new_cursor is None or seen_max > new_cursor):  # type: ignore[operator]
        new_cursor = seen_max
    with open_warehouse(settings.db, lock_timeout=settings.lock_timeout) as con:
        if error is None:
            if new_cursor is not None and new_cursor != prep.cursor:
                set_state(
                    con,
                    CURSOR_KEY,
                    {"posted_at": new_cursor[0].isoformat(), "job_id": new_cursor[1]},
                )
            set_state(con, ckey, None)
        finish_run(
            con,
            prep.run_id,
            status="failed" if error else "succeeded",
            error=_error_text(error) if error else None,
            complete=complete,
            notes="; ".join(notes) or None,
        )
    summary = RunSummary(
        run_id=prep.run_id,
        mode=mode,
        status="failed" if error else "succeeded",
        complete=complete,
        notes="; ".join(notes),
        requests=totals.requests,
        pages=totals.pages,
        jobs_seen=totals.jobs_seen,
        jobs_inserted=totals.jobs_inserted,
        jobs_updated=totals.jobs_updated,
        jobs_unchanged=totals.jobs_unchanged,
        jobs_stale=totals.jobs_stale,
        jobs_deleted=deleted,
        jobs_rejected=totals.jobs_rejected,
        cursor=new_cursor[0].isoformat() if new_cursor else None,
        seconds=(datetime.now(UTC) - started).total_seconds(),
    )
    if _in_flow():
        _publish(summary)
    if error is not None:
        raise error
    return summary


def _error_text(error: BaseException) -> str:
    if isinstance(error, JobSphereError):
        return str(error)
    return f"{type(error).__name__}: {error}"


@_flow(name="jobsphere-sync")
def sync_flow(
    db: str,
    base_url: str,
    api_key: SecretStr | None = None,
    full: bool = False,
    show_progress: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    concurrency: int = 8,
    overlap_seconds: float = 0.0,
    lock_timeout: float = 60.0,
) -> RunSummary:
    """Incremental sync (default) or full scan with reconciliation (``full=True``).

    ``api_key`` falls back to ``JOBSPHERE_API_KEY`` in the worker's environment, so scheduled
    deployments never store the key among their parameters.
    """
    settings = SyncSettings(
        db=db,
        base_url=base_url,
        api_key=api_key or _key_from_env(),
        batch_rows=batch_rows,
        concurrency=concurrency,
        overlap=timedelta(seconds=overlap_seconds),
        lock_timeout=lock_timeout,
    )
    return run_sync(settings, mode="full" if full else "incremental", show_progress=show_progress)


@_flow(name="jobsphere-backfill")
def backfill_flow(
    db: str,
    base_url: str,
    slice: BackfillSlice,
    api_key: SecretStr | None = None,
    show_progress: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    concurrency: int = 8,
    lock_timeout: float = 60.0,
) -> RunSummary:
    """An ad-hoc slice: never marks deletions, never moves the incremental cursor."""
    settings = SyncSettings(
        db=db,
        base_url=base_url,
        api_key=api_key or _key_from_env(),
        batch_rows=batch_rows,
        concurrency=concurrency,
        lock_timeout=lock_timeout,
    )
    return run_sync(settings, mode="backfill", backfill=slice, show_progress=show_progress)


def run_sync_flow(settings: SyncSettings, *, full: bool, show_progress: bool) -> RunSummary:
    """Run :func:`sync_flow` with already-validated settings (the CLI's entry)."""
    return sync_flow(
        db=str(settings.db),
        base_url=settings.base_url,
        api_key=settings.api_key,
        full=full,
        show_progress=show_progress,
        batch_rows=settings.batch_rows,
        concurrency=settings.concurrency,
        overlap_seconds=settings.overlap.total_seconds(),
        lock_timeout=settings.lock_timeout,
    )


def run_backfill_flow(
    settings: SyncSettings, slice_: BackfillSlice, *, show_progress: bool
) -> RunSummary:
    """Run :func:`backfill_flow` with already-validated settings (the CLI's entry)."""
    return backfill_flow(
        db=str(settings.db),
        base_url=settings.base_url,
        slice=slice_,
        api_key=settings.api_key,
        show_progress=show_progress,
        batch_rows=settings.batch_rows,
        concurrency=settings.concurrency,
        lock_timeout=settings.lock_timeout,
    )


def _key_from_env() -> SecretStr:
    key = os.environ.get("JOBSPHERE_API_KEY")
    if not key:
        raise MissingApiKeyError("no JobSphere API key: set JOBSPHERE_API_KEY or pass --api-key")
    return SecretStr(key)
