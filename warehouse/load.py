"""Transactional, set-based batch loads of normalized jobs (newest wins, SCD2 history).

Everything a batch implies -- the ``jobs`` upsert (a job's row is also its current ``job_history``
version, see ``sql/views/job_history.sql``), the versions it closes, rejected records,
``sync_runs`` counters and state keys such as the cursor -- commits in one transaction, so a crash
can never leave a cursor ahead of its data or counters that disagree with the rows.

The work is columnar: the Polars frame is handed to DuckDB as Arrow and classified and applied
with a handful of joins. Versions are ordered by ``(version_at, row_hash)``: the timestamp decides,
and the content hash breaks exact timestamp ties so the outcome never depends on arrival order.
Stored rows carry ``row_hash`` (tracked attributes) and ``raw_hash`` (payload), so classifying
a batch reads a few fixed-width columns of ``jobs`` instead of every attribute; see
``warehouse.hashing`` for how those hashes survive DuckDB upgrades.

Two paths write the same result (``tests/warehouse/test_load_paths.py`` checks it). A batch of
unique ids whose key range holds no stored job -- every batch of a first load, and new ids
beyond the stored ones -- is inserted straight from the input. Any other batch is classified
row by row; its changed rows are rewritten as delete + insert and its unchanged ones only get
their sighting columns updated, because DuckDB rewrites every updated column of each touched
row group at checkpoint and the changed rows of a re-sync touch all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import duckdb
import polars as pl

from transforms import NORMALIZED_SCHEMA
from warehouse._arrow import frame_of, register_frame
from warehouse._sql import first_row
from warehouse.connection import ROW_GROUP_SIZE
from warehouse.hashing import TRACKED_COLUMNS, raw_hash_sql, row_hash_sql
from warehouse.history import close_current_versions
from warehouse.runs import RUN_COUNTERS
from warehouse.state import write_state
from warehouse.transaction import transaction

__all__ = [
    "CLASSIFIED_COUNTERS",
    "NORMALIZED_SCHEMA",
    "OUTCOMES",
    "REJECTED_SCHEMA",
    "TRACKED_COLUMNS",
    "ChangeSource",
    "LoadResult",
    "load_jobs",
]

ChangeSource = Literal["sync", "webhook", "reconcile"]

_UTC_US: Final = pl.Datetime("us", "UTC")

# The frame contract is owned by the transforms that produce it; the loader only checks it.

REJECTED_SCHEMA: Final[Mapping[str, pl.DataType]] = {
    "job_id": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),
}

OUTCOMES: Final = ("inserted", "updated", "unchanged", "stale")
CLASSIFIED_COUNTERS: Final = ("jobs_inserted", "jobs_updated", "jobs_unchanged", "jobs_stale")
_CHANGE_SOURCES: Final = ("sync", "webhook", "reconcile")
_TEMP_TABLES: Final = ("_lj_batch", "_lj_cls", "_lj_old")
# The input is scanned as up to this many Arrow slices, so inserts use every core
# (``register_frame``, cut by ``slice_bounds`` so that their partial row groups do not merge); a
# slice never holds fewer rows than a row group, because a smaller append goes through the WAL
# and the checkpoint costs more than the second thread saves.
_SCAN_PARTS: Final = max(1, min(os.cpu_count() or 1, 8))


@dataclass(frozen=True, slots=True)
class LoadResult:
    """Counts per outcome, and ``outcomes``: one row per input row, in input order.

    ``outcomes`` has ``job_id``, ``version_at``, ``outcome`` (one of ``OUTCOMES``) and, when the
    input had it, ``event_id``. A revived (previously deleted) job counts as ``updated``.
    """

    inserted: int
    updated: int
    unchanged: int
    stale: int
    outcomes: pl.DataFrame


def load_jobs(
    con: duckdb.DuckDBPyConnection,
    jobs: pl.DataFrame,
    *,
    observed_at: datetime,
    change_source: ChangeSource,
    run_id: str | None = None,
    rejected: pl.DataFrame | None = None,
    counters: Mapping[str, int] | None = None,
    state: Mapping[str, Any] | None = None,
) -> LoadResult:
    """Apply one batch of normalized jobs (plus its bookkeeping) in a single transaction.

    ``jobs`` has the ``NORMALIZED_SCHEMA`` columns plus ``version_at`` (the newest-wins key) and
    optionally ``event_id``. ``counters`` are added to the ``sync_runs`` row ``run_id`` together
    with the classified counts; ``state`` keys are written to ``sync_state``.
    """
    if change_source not in _CHANGE_SOURCES:
        raise ValueError(f"change_source must be one of {_CHANGE_SOURCES}, got {change_source!r}")
    if observed_at.tzinfo is None:
        raise ValueError("observed_at must be timezone-aware")
    frame = _conform_jobs(jobs)
    rejected_frame = _conform_rejected(rejected)
    extra_counters = _check_counters(counters, run_id)
    params = {
        "observed_at": observed_at,
        # Only listing observations prove a job still exists; reconciliation relies on that.
        "scanned_at": observed_at if change_source == "sync" else None,
        "source": change_source,
        "run_id": run_id,
        # The batch's key range. Conditions on it are implied by the joins on job_id, but DuckDB
        # can use them to skip whole row groups of jobs/job_history by their min/max statistics:
        # a sync batch is a contiguous id range and the tables are stored roughly in load order,
        # so a re-sync batch reads a few row groups instead of the whole table.
        "id_lo": frame["job_id"].min(),
        "id_hi": frame["job_id"].max(),
    }

    has_duplicates = frame.height != frame["job_id"].n_unique()
    releases = [_register_insert_source(con, "_lj_incoming", frame)]
    if rejected_frame.height:
        releases.append(register_frame(con, "_lj_rejected", rejected_frame))
    try:
        with transaction(con):
            temp_tables: tuple[str, ...] = ()
            if frame.height and not has_duplicates and not _any_stored(con, params):
                # Every id is new: nothing to compare with, so no classification tables.
                _insert_all_new(con, params)
                outcome = pl.repeat("inserted", frame.height, eager=True).alias("outcome")
                counts = {name: frame.height if name == "inserted" else 0 for name in OUTCOMES}
            else:
                temp_tables = _TEMP_TABLES
                _classify(con, params, has_duplicates=has_duplicates)
                outcome = _outcomes(con, has_duplicates=has_duplicates)
                _apply(con, params, frame)
                counts = {name: int((outcome == name).sum()) for name in OUTCOMES}
            if rejected_frame.height:
                con.execute(
                    "INSERT INTO rejected_records "
                    "SELECT $run_id, job_id, reason, raw, current_timestamp FROM _lj_rejected",
                    {"run_id": run_id},
                )
            if run_id is not None:
                totals = dict(extra_counters)
                for name in OUTCOMES:
                    totals[f"jobs_{name}"] = counts[name]
                _add_counters(con, run_id, totals)
            if state:
                write_state(con, state)
            for table in temp_tables:
                con.execute(f"DROP TABLE IF EXISTS {table}")
    finally:
        for release in releases:
            release()

    passthrough = ["event_id"] if "event_id" in frame.columns else []
    return LoadResult(
        inserted=counts["inserted"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        stale=counts["stale"],
        outcomes=frame.select("job_id", "version_at", outcome, *passthrough),
    )


def _conform_jobs(jobs: pl.DataFrame) -> pl.DataFrame:
    """Check and cast the input so DuckDB sees exactly the expected Arrow types."""
    required = [*NORMALIZED_SCHEMA, "version_at"]
    missing = [c for c in required if c not in jobs.columns]
    if missing:
        raise ValueError(f"jobs frame is missing columns: {', '.join(missing)}")
    exprs = [_cast(jobs.schema[c], c, dtype) for c, dtype in NORMALIZED_SCHEMA.items()]
    exprs.append(_cast(jobs.schema["version_at"], "version_at", _UTC_US))
    if "event_id" in jobs.columns:
        exprs.append(pl.col("event_id").cast(pl.String))
    frame = jobs.select(exprs).with_row_index("_row")
    nulls = frame.select(pl.col("job_id", "version_at").null_count()).row(0, named=True)
    if nulls["job_id"] or nulls["version_at"]:
        raise ValueError(
            f"jobs frame has {nulls['job_id']} null job_id and "
            f"{nulls['version_at']} null version_at values; both are required"
        )
    return frame


def _cast(actual: pl.DataType, name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime) and isinstance(actual, pl.Datetime):
        if actual.time_zone is None:
            raise ValueError(f"column {name} must be timezone-aware (UTC), got {actual}")
        return column.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    return column.cast(dtype)


def _conform_rejected(rejected: pl.DataFrame | None) -> pl.DataFrame:
    if rejected is None:
        return pl.DataFrame(schema=dict(REJECTED_SCHEMA))
    missing = [c for c in ("reason", "raw") if c not in rejected.columns]
    if missing:
        raise ValueError(f"rejected frame is missing columns: {', '.join(missing)}")
    job_id = pl.col("job_id") if "job_id" in rejected.columns else pl.lit(None)
    return rejected.select(
        job_id.cast(pl.String).alias("job_id"),
        pl.col("reason").cast(pl.String),
        pl.col("raw").cast(pl.String),
    )


def _check_counters(counters: Mapping[str, int] | None, run_id: str | None) -> dict[str, int]:
    if not counters:
        return {}
    if run_id is None:
        raise ValueError("counters need a run_id to be added to")
    unknown = [k for k in counters if k not in RUN_COUNTERS or k in CLASSIFIED_COUNTERS]
    if unknown:
        allowed = [c for c in RUN_COUNTERS if c not in CLASSIFIED_COUNTERS]
        raise ValueError(
            f"unknown counters {unknown}; allowed: {allowed} (classified counts are added by load_jobs)"
        )
    return {k: int(v) for k, v in counters.items()}


def _tracked(alias: str) -> str:
    return ", ".join(f"{alias}.{c}" for c in TRACKED_COLUMNS)


#: Every column of ``jobs``, in the order the insert statements below produce them.
_JOB_COLUMNS: Final = (
    "job_id",
    *TRACKED_COLUMNS,
    "source_updated_at",
    "first_seen_at",
    "last_seen_at",
    "last_scanned_at",
    "updated_at",
    "version_at",
    "deleted_at",
    "row_hash",
    "raw_hash",
    "raw",
    "version_source",
    "version_run_id",
    "version_recorded_at",
)


def _any_stored(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> bool:
    """Whether ``jobs`` holds any id within the batch's key range (a superset of its ids).

    A first load, and every batch of ids beyond the stored ones, answers no from the row
    groups' min/max statistics alone; then ``load_jobs`` skips classification and writes
    straight from the input. A yes only means the general path decides row by row.
    """
    row = first_row(
        con,
        "SELECT 1 FROM jobs WHERE job_id BETWEEN $id_lo AND $id_hi LIMIT 1",
        _id_range(params),
    )
    return row is not None


def _insert_all_new(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> None:
    """The all-inserted case of ``_apply`` (unique ids, none stored): the same rows, written
    straight from the input without the classification tables and their joins."""
    con.execute(
        f"""
        INSERT INTO jobs ({", ".join(_JOB_COLUMNS)})
        SELECT i.job_id, {_tracked("i")}, i.source_updated_at, $observed_at, $observed_at,
               $scanned_at, i.version_at, i.version_at, NULL, {row_hash_sql("i")},
               {raw_hash_sql("i")}, i.raw, $source, $run_id, current_timestamp
        FROM _lj_incoming AS i
        """,
        _new_version(params),
    )


def _classify(
    con: duckdb.DuckDBPyConnection, params: Mapping[str, Any], *, has_duplicates: bool
) -> None:
    """Build ``_lj_cls``: the winning input row per job, classified against the stored row.

    With duplicate ids in the batch, ``_lj_batch`` first ranks every input row per job (the
    losers' outcomes are read from it later); without, the input is classified directly.
    ``refresh`` marks unchanged rows whose payload moved on (untracked fields such as a
    description): they get the newer raw JSON but no new history version.
    """
    hashes = f"{row_hash_sql('i')} AS row_hash, {raw_hash_sql('i')} AS raw_hash"
    if has_duplicates:
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _lj_batch AS
            SELECT *, row_number() OVER (PARTITION BY job_id
                                         ORDER BY version_at DESC, row_hash DESC, _row DESC)
                      AS _rank
            FROM (SELECT i._row, i.job_id, i.version_at, i.source_updated_at, {hashes}
                  FROM _lj_incoming AS i)
            """
        )
        source = "(SELECT * FROM _lj_batch WHERE _rank = 1)"
    else:
        source = (
            f"(SELECT i._row, i.job_id, i.version_at, i.source_updated_at, {hashes} "
            "FROM _lj_incoming AS i)"
        )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lj_cls AS
        SELECT b._row, b.job_id, b.version_at, b.row_hash, b.raw_hash,
            CASE
                WHEN j.job_id IS NULL THEN 'inserted'
                WHEN b.version_at < j.version_at THEN 'stale'
                WHEN j.deleted_at IS NOT NULL THEN 'updated'
                WHEN b.row_hash = j.row_hash THEN 'unchanged'
                WHEN b.version_at > j.version_at THEN 'updated'
                WHEN b.row_hash > j.row_hash THEN 'updated'
                ELSE 'stale'
            END AS outcome,
            CASE
                WHEN j.deleted_at IS NOT NULL THEN greatest(b.version_at, $observed_at)
                ELSE b.version_at
            END AS valid_from,
            j.job_id IS NOT NULL AND j.deleted_at IS NULL AND b.row_hash = j.row_hash
                AND b.version_at > j.version_at
                AND (b.raw_hash <> j.raw_hash
                     OR b.source_updated_at IS DISTINCT FROM j.source_updated_at) AS refresh
        FROM {source} AS b
        LEFT JOIN (SELECT * FROM jobs WHERE job_id BETWEEN $id_lo AND $id_hi) AS j
            ON j.job_id = b.job_id
        """,
        {"observed_at": params["observed_at"], **_id_range(params)},
    )


_OUTCOME_CODES: Final = {name: code for code, name in enumerate(OUTCOMES)}


def _outcomes(con: duckdb.DuckDBPyConnection, *, has_duplicates: bool) -> pl.Series:
    """One outcome per input row, in input order; losers of an in-batch duplicate are stale
    unless they are the very same version as the winner (then they changed nothing: unchanged).

    Codes travel as small integers and become strings in Polars, which is cheaper than
    materializing 100k strings in DuckDB."""
    codes = (
        "CASE w.outcome "
        + " ".join(f"WHEN '{name}' THEN {code}" for name, code in _OUTCOME_CODES.items())
        + " END"
    )
    if has_duplicates:
        query = f"""
            SELECT CAST(CASE
                WHEN b._rank = 1 THEN {codes}
                WHEN b.version_at = w.version_at AND b.row_hash = w.row_hash
                     AND w.outcome <> 'stale' THEN {_OUTCOME_CODES["unchanged"]}
                ELSE {_OUTCOME_CODES["stale"]}
            END AS UTINYINT) AS code
            FROM _lj_batch AS b JOIN _lj_cls AS w ON w.job_id = b.job_id
            ORDER BY b._row
            """
    else:
        query = f"SELECT CAST({codes} AS UTINYINT) AS code FROM _lj_cls AS w ORDER BY w._row"
    codes_frame = frame_of(con.sql(query))
    return (
        codes_frame["code"]
        .alias("outcome")
        .cast(pl.UInt32)
        .replace_strict(list(_OUTCOME_CODES.values()), list(OUTCOMES), return_dtype=pl.String)
    )


def _apply(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any], frame: pl.DataFrame) -> None:
    """Write what ``_lj_cls`` decided; statements with nothing to do are skipped.

    Rows that take new values (new versions, revivals, payload refreshes) are rewritten as
    delete + insert rather than UPDATE: DuckDB rewrites every updated column of a touched row
    group at checkpoint, and the changed rows of a re-sync touch all of them, so updating the
    wide columns (``raw`` above all) cost more than the rest of the batch together.
    """
    row = first_row(
        con,
        """
        SELECT count(*) FILTER (outcome = 'inserted'),
               count(*) FILTER (outcome = 'updated'),
               count(*) FILTER (outcome = 'updated' OR refresh),
               count(*) FILTER (outcome IN ('unchanged', 'stale') AND NOT refresh)
        FROM _lj_cls
        """,
    )
    inserted, updated, rewritten, sighted = row if row else (0, 0, 0, 0)
    if inserted or rewritten:
        release = _register_written(con, frame)
        try:
            _write(con, params, inserted=inserted, updated=updated, rewritten=rewritten)
        finally:
            release()
    if sighted:
        # Everything else that was observed: only the watermark and the sightings move. These
        # are fixed-width columns, so the common re-sync of unchanged jobs stays cheap.
        con.execute(
            """
            UPDATE jobs SET
                version_at = greatest(jobs.version_at, c.version_at),
                last_seen_at = greatest(jobs.last_seen_at, $observed_at),
                last_scanned_at = greatest(jobs.last_scanned_at, $scanned_at)
            FROM _lj_cls AS c
            WHERE jobs.job_id = c.job_id AND c.outcome IN ('unchanged', 'stale')
              AND NOT c.refresh AND jobs.job_id BETWEEN $id_lo AND $id_hi
            """,
            {
                "observed_at": params["observed_at"],
                "scanned_at": params["scanned_at"],
                **_id_range(params),
            },
        )


def _register_written(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> Callable[[], None]:
    """Register as ``_lj_write`` only the input rows that ``_lj_cls`` decided to write.

    The writes read the input's attributes from it: joining ``_lj_incoming`` instead made DuckDB
    scan every input row's ``raw`` (a re-sync batch's whole payload) to keep the 1% it writes.
    """
    picked = frame_of(
        con.sql("SELECT _row FROM _lj_cls WHERE outcome IN ('inserted', 'updated') OR refresh")
    )
    written = frame.filter(pl.col("_row").is_in(picked.get_column("_row").implode()))
    return _register_insert_source(con, "_lj_write", written)


def _write(
    con: duckdb.DuckDBPyConnection,
    params: Mapping[str, Any],
    *,
    inserted: int,
    updated: int,
    rewritten: int,
) -> None:
    """New jobs, rewritten jobs and the versions they close, from ``_lj_write``."""
    columns = ", ".join(_JOB_COLUMNS)
    if inserted:
        con.execute(
            f"""
            INSERT INTO jobs ({columns})
            SELECT i.job_id, {_tracked("i")}, i.source_updated_at, $observed_at, $observed_at,
                   $scanned_at, c.version_at, c.version_at, NULL, c.row_hash, c.raw_hash, i.raw,
                   $source, $run_id, current_timestamp
            FROM _lj_cls AS c JOIN _lj_write AS i ON i._row = c._row
            WHERE c.outcome = 'inserted'
            """,
            _new_version(params),
        )
    if not rewritten:
        return
    # The stored rows about to be replaced, read once (with their row ids) for the versions they
    # close, the delete and the new rows; refreshed rows have equal tracked values, so
    # rewriting them with the input's is harmless and keeps this one path.
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lj_old AS
        SELECT j.rowid AS _rowid, j.job_id, {_tracked("j")}, j.source_updated_at,
               j.first_seen_at, j.last_seen_at, j.last_scanned_at, j.updated_at, j.version_at,
               j.deleted_at, j.row_hash, j.version_source, j.version_run_id,
               j.version_recorded_at
        FROM jobs AS j
        WHERE j.job_id BETWEEN $id_lo AND $id_hi
          AND j.job_id IN (SELECT job_id FROM _lj_cls WHERE outcome = 'updated' OR refresh)
        """,
        _id_range(params),
    )
    if updated:
        close_current_versions(
            con,
            "_lj_cls AS c JOIN _lj_old AS j ON j.job_id = c.job_id WHERE c.outcome = 'updated'",
            "c.valid_from",
        )
    con.execute("DELETE FROM jobs WHERE rowid IN (SELECT _rowid FROM _lj_old)")
    con.execute(
        f"""
        INSERT INTO jobs ({columns})
        SELECT i.job_id, {_tracked("i")}, i.source_updated_at, j.first_seen_at,
               greatest(j.last_seen_at, $observed_at), greatest(j.last_scanned_at, $scanned_at),
               CASE WHEN c.outcome = 'updated' THEN c.valid_from ELSE j.updated_at END,
               greatest(j.version_at, c.version_at),
               CASE WHEN c.outcome = 'updated' THEN NULL ELSE j.deleted_at END,
               c.row_hash, c.raw_hash, i.raw,
               CASE WHEN c.outcome = 'updated' THEN $source ELSE j.version_source END,
               CASE WHEN c.outcome = 'updated' THEN $run_id ELSE j.version_run_id END,
               CASE WHEN c.outcome = 'updated' THEN current_timestamp
                    ELSE j.version_recorded_at END
        FROM _lj_cls AS c
        JOIN _lj_write AS i ON i._row = c._row
        JOIN _lj_old AS j ON j.job_id = c.job_id
        WHERE c.outcome = 'updated' OR c.refresh
        """,
        _new_version(params),
    )


def _new_version(params: Mapping[str, Any]) -> dict[str, Any]:
    """What a job's row records about a version this batch writes (``job_history``'s view of
    it): when it was seen, which writer, which run. ``current_timestamp`` is its record time."""
    return {
        "observed_at": params["observed_at"],
        "scanned_at": params["scanned_at"],
        "source": params["source"],
        "run_id": params["run_id"],
    }


def _register_insert_source(
    con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame
) -> Callable[[], None]:
    """Register a frame that ``jobs`` is inserted from, sliced for a parallel insert (see
    ``_SCAN_PARTS``) and cut at row-group multiples where that spares the checkpoint work."""
    parts = min(_SCAN_PARTS, max(1, frame.height // ROW_GROUP_SIZE))
    return register_frame(con, name, frame, parts=parts, align=ROW_GROUP_SIZE)


def _id_range(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"id_lo": params["id_lo"], "id_hi": params["id_hi"]}


def _add_counters(con: duckdb.DuckDBPyConnection, run_id: str, totals: Mapping[str, int]) -> None:
    assignments = ", ".join(f"{name} = {name} + ${name}" for name in totals)
    row = first_row(
        con,
        f"UPDATE sync_runs SET {assignments} WHERE run_id = $run_id",
        {**totals, "run_id": run_id},
    )
    if not row or row[0] != 1:
        raise ValueError(f"no sync run with id {run_id!r}; start_run() it first")
