"""``webhook_events``: the warehouse's record of every applied webhook event (SPEC section 4).

The applier writes these rows in the same transaction as the events' effects, so the table is
the authority on "was this event applied": a crash between the warehouse commit and the inbox
update cannot apply an event twice. Functions here run inside the caller's transaction.
"""

from __future__ import annotations

import duckdb
import polars as pl

from warehouse._arrow import frame_of, register_frame

__all__ = ["EVENT_COLUMNS", "known_events", "record_events"]

#: Columns of the frame :func:`record_events` takes, in table order.
EVENT_COLUMNS = (
    "event_id",
    "event_type",
    "created_at",
    "received_at",
    "applied_at",
    "outcome",
    "deliveries",
    "payload",
)

_UTC = pl.Datetime("us", "UTC")


def known_events(con: duckdb.DuckDBPyConnection, event_ids: pl.Series) -> pl.DataFrame:
    """Rows of ``webhook_events`` for ``event_ids``: ``event_id, outcome, deliveries``."""
    ids = pl.DataFrame({"event_id": event_ids.cast(pl.String)}).unique()
    register_frame(con, "_wh_event_ids", ids)
    try:
        found = frame_of(
            con.sql(
                """
                SELECT w.event_id, w.outcome, CAST(w.deliveries AS BIGINT) AS deliveries
                FROM webhook_events AS w JOIN _wh_event_ids AS i ON w.event_id = i.event_id
                """
            )
        )
    finally:
        con.unregister("_wh_event_ids")
    return found.cast({"event_id": pl.String, "outcome": pl.String, "deliveries": pl.Int64})


def record_events(con: duckdb.DuckDBPyConnection, events: pl.DataFrame) -> None:
    """Insert new event rows; for ids already present only raise ``deliveries``.

    A re-delivery changes nothing but the count (SPEC section 4), so existing rows keep their
    outcome, payload and timestamps.
    """
    if events.is_empty():
        return
    frame = events.select(EVENT_COLUMNS).cast(
        {
            "event_id": pl.String,
            "event_type": pl.String,
            "created_at": _UTC,
            "received_at": _UTC,
            "applied_at": _UTC,
            "outcome": pl.String,
            "deliveries": pl.Int64,
            "payload": pl.String,
        }
    )
    register_frame(con, "_wh_events", frame)
    try:
        con.execute(
            """
            UPDATE webhook_events AS w SET deliveries = e.deliveries
            FROM _wh_events AS e
            WHERE w.event_id = e.event_id AND e.deliveries > w.deliveries
            """
        )
        con.execute(
            """
            INSERT INTO webhook_events
                (event_id, event_type, created_at, received_at, applied_at, outcome,
                 deliveries, payload)
            SELECT e.event_id, e.event_type, e.created_at, e.received_at, e.applied_at,
                   e.outcome, e.deliveries, e.payload
            FROM _wh_events AS e
            WHERE NOT EXISTS (SELECT 1 FROM webhook_events AS w WHERE w.event_id = e.event_id)
            """
        )
    finally:
        con.unregister("_wh_events")
