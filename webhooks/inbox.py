"""The receiver's durable inbox: a SQLite file in WAL mode with ``synchronous=FULL``.

Why SQLite and not the warehouse: SPEC section 2 allows a ``2xx`` only once an event is stored
durably, while only one process may write the DuckDB file and it is held only per batch. The
inbox decouples the two: the receiver commits each event here (the WAL is fsynced before the
commit returns, so the event survives ``kill -9`` right after the response), and the applier
drains it into DuckDB whenever the warehouse is free.

The default location is next to the warehouse, ``<db path>.inbox.sqlite3`` (see
:func:`default_inbox_path`); each receiver replica owns its own inbox.

Each :class:`Inbox` holds one connection guarded by a lock, so one instance may be shared by
threads; the receiver and the applier each open their own instance (separate connections) and
SQLite's ``busy_timeout`` serialises their writes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "Backlog",
    "Inbox",
    "InboxEvent",
    "default_inbox_path",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    created_at_us INTEGER NOT NULL,
    received_at_us INTEGER NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    payload TEXT NOT NULL,
    applied_at_us INTEGER,
    outcome TEXT,
    synced_deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_unsynced
    ON events (received_at_us) WHERE applied_at_us IS NULL OR deliveries > synced_deliveries;
"""


def default_inbox_path(db_path: str | Path) -> Path:
    """Return ``<db path>.inbox.sqlite3``: next to the warehouse, one per receiver."""
    db = Path(db_path)
    return db.with_name(db.name + ".inbox.sqlite3")


def _to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("inbox timestamps must be timezone-aware")
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _now_us() -> int:
    return time.time_ns() // 1_000


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """One verified envelope as it is stored: the raw body is kept verbatim as ``payload``."""

    event_id: str
    event_type: str
    created_at: datetime
    payload: str


@dataclass(frozen=True, slots=True)
class Backlog:
    """Events stored but not yet in the warehouse (including re-deliveries not yet counted)."""

    count: int
    oldest_received_at: datetime | None


class Inbox:
    """A durable, de-duplicating queue of webhook events backed by one SQLite file."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 10.0,
        durable: bool = True,
        checkpoint_pages: int = 1000,
    ) -> None:
        """Open (creating if needed) the inbox at ``path``.

        ``durable=False`` commits without an fsync (``synchronous=NORMAL``): only for a
        connection whose writes can be recomputed after a crash, i.e. the applier's
        ``mark_applied``/``prune`` (a lost mark makes the next batch re-check the event against
        ``webhook_events`` and mark it again). It keeps the write lock, which the receiver's
        commits wait for, held for well under a millisecond instead of an fsync. Events are
        only ever stored through a durable connection (the receiver's).

        ``checkpoint_pages`` is SQLite's ``wal_autocheckpoint``: the commit that finds the WAL
        that long copies it into the database file first. The receiver sets it high, so that
        work happens in the applier's commits and not in front of a 2xx; it still bounds the
        WAL when no applier runs.
        """
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._con = sqlite3.connect(
            self.path,
            timeout=busy_timeout,
            isolation_level=None,  # explicit transactions only
            check_same_thread=False,  # guarded by self._lock
        )
        self._con.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._con.execute("PRAGMA journal_mode = WAL")
        # FULL: the WAL is fsynced on every commit, so a stored event survives a crash or a
        # power loss right after the 2xx (NORMAL would only survive a process crash). In WAL
        # mode NORMAL still fsyncs the WAL before every checkpoint and the database after it.
        self._con.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        self._con.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint_pages)}")
        with self._lock:
            self._con.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, event: InboxEvent, *, received_at: datetime | None = None) -> bool:
        """Store ``event`` durably; return False when its id was already stored (a re-delivery).

        A re-delivery only bumps ``deliveries``; the first payload is kept.
        """
        return self.put_many([event], received_at=received_at)[0]

    def put_many(
        self, events: Sequence[InboxEvent], *, received_at: datetime | None = None
    ) -> list[bool]:
        """Store ``events`` in one transaction (one fsync); per event, True when it was new.

        This is the receiver's group commit: requests arriving together share one durable
        commit. An id that appears twice counts as new once. One set-based upsert over a JSON
        array, no per-event statements.
        """
        if not events:
            return []
        received_us = _now_us() if received_at is None else _to_us(received_at)
        doc = orjson.dumps(
            [
                [e.event_id, e.event_type, _to_us(e.created_at), received_us, e.payload]
                for e in events
            ]
        )
        with self._lock:
            rows = self._con.execute(
                """
                INSERT INTO events (event_id, type, created_at_us, received_at_us, payload)
                SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                       json_extract(value, '$[2]'), json_extract(value, '$[3]'),
                       json_extract(value, '$[4]')
                FROM json_each(?) WHERE true
                ORDER BY key
                ON CONFLICT (event_id) DO UPDATE SET deliveries = deliveries + 1
                RETURNING event_id, deliveries
                """,
                (doc.decode(),),
            ).fetchall()
        new = {event_id for event_id, deliveries in rows if deliveries == 1}
        results: list[bool] = []
        for event in events:
            results.append(event.event_id in new)
            new.discard(event.event_id)  # a second copy in the same batch is a duplicate
        return results

    def pending(self, limit: int) -> pl.DataFrame:
        """Up to ``limit`` events the warehouse has not fully seen, oldest arrival first.

        That is events never applied, and applied events whose re-deliveries the warehouse has
        not counted yet (``applied`` is true for those). Columns: ``event_id, event_type,
        created_at, received_at`` (UTC), ``deliveries, payload, applied, outcome``.
        """
        import polars as pl  # only the applier reads frames; the receiver stays light

        with self._lock:
            rows = self._con.execute(
                """
                SELECT event_id, type, created_at_us, received_at_us, deliveries, payload,
                       applied_at_us IS NOT NULL, outcome
                FROM events
                WHERE applied_at_us IS NULL OR deliveries > synced_deliveries
                ORDER BY received_at_us, rowid
                LIMIT ?
                """,
                (limit,),
            ).fetchall()
        raw = pl.DataFrame(
            rows,
            schema={
                "event_id": pl.String(),
                "event_type": pl.String(),
                "created_at": pl.Int64(),
                "received_at": pl.Int64(),
                "deliveries": pl.Int64(),
                "payload": pl.String(),
                "applied": pl.Int64(),
                "outcome": pl.String(),
            },
            orient="row",
        )
        return raw.with_columns(
            pl.from_epoch("created_at", "us").dt.replace_time_zone("UTC"),
            pl.from_epoch("received_at", "us").dt.replace_time_zone("UTC"),
            pl.col("applied").cast(pl.Boolean),
        )

    def mark_applied(
        self,
        event_ids: Sequence[str],
        outcomes: Sequence[str],
        deliveries: Sequence[int],
        *,
        applied_at: datetime | None = None,
    ) -> None:
        """Record that the warehouse holds these events with these outcomes and delivery counts.

        ``deliveries`` is the count the warehouse now has; a re-delivery stored meanwhile stays
        pending. The first ``applied_at``/``outcome`` of an event is kept. One set-based
        statement over a JSON array, no per-row statements.
        """
        if not (len(event_ids) == len(outcomes) == len(deliveries)):
            raise ValueError("event_ids, outcomes and deliveries must have the same length")
        if not event_ids:
            return
        applied_us = _now_us() if applied_at is None else _to_us(applied_at)
        doc = orjson.dumps(list(zip(event_ids, outcomes, deliveries, strict=True)))
        with self._lock:
            self._con.execute(
                """
                UPDATE events
                SET applied_at_us = coalesce(events.applied_at_us, ?1),
                    outcome = coalesce(events.outcome, j.outcome),
                    synced_deliveries = max(events.synced_deliveries, j.deliveries)
                FROM (
                    SELECT json_extract(value, '$[0]') AS event_id,
                           json_extract(value, '$[1]') AS outcome,
                           json_extract(value, '$[2]') AS deliveries
                    FROM json_each(?2)
                ) AS j
                WHERE events.event_id = j.event_id
                """,
                (applied_us, doc.decode()),
            )

    def backlog(self) -> Backlog:
        """How many events wait for the warehouse, and since when (for ``/healthz``/status)."""
        with self._lock:
            count, oldest = self._con.execute(
                """
                SELECT count(*), min(received_at_us) FROM events
                WHERE applied_at_us IS NULL OR deliveries > synced_deliveries
                """
            ).fetchone()
        oldest_at = None if oldest is None else datetime.fromtimestamp(oldest / 1e6, tz=UTC)
        return Backlog(count=int(count), oldest_received_at=oldest_at)

    def prune(self, *, older_than: float) -> int:
        """Delete events applied more than ``older_than`` seconds ago; return how many.

        Keeping applied events for a while lets the inbox answer ``duplicate`` cheaply; the
        warehouse's ``webhook_events`` still guards against double application after pruning.
        """
        cutoff = _now_us() - int(older_than * 1_000_000)
        with self._lock:
            cur = self._con.execute(
                """
                DELETE FROM events
                WHERE applied_at_us IS NOT NULL AND applied_at_us < ?
                  AND deliveries <= synced_deliveries
                """,
                (cutoff,),
            )
        return int(cur.rowcount)
