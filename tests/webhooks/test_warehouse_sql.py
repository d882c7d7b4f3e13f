"""The webhook-side warehouse SQL: applications, status history and webhook_events rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import polars as pl
import pytest

from warehouse import open_warehouse
from warehouse.applications import FACT_SCHEMA, apply_application_facts
from warehouse.events import known_events, record_events

T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fact(
    event_id: str,
    seq: int,
    kind: str,
    application_id: str,
    status: str,
    ts: datetime,
    *,
    job_id: str | None = "job_1",
    previous_status: str | None = None,
) -> dict[str, object]:
    return {
        "event_id": event_id,
        "seq": seq,
        "kind": kind,
        "application_id": application_id,
        "job_id": job_id,
        "candidate_id": "cand_1",
        "previous_status": previous_status,
        "status": status,
        "applied_at": ts if kind == "received" else None,
        "ts": ts,
    }


def facts(*rows: dict[str, object]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=FACT_SCHEMA)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "wh.duckdb"


def apps(db: Path) -> list[tuple[object, ...]]:
    with open_warehouse(db, read_only=True) as con:
        return con.sql(
            "SELECT application_id, job_id, status, applied_at, updated_at FROM applications ORDER BY 1"
        ).fetchall()


def outcomes(frame: pl.DataFrame) -> dict[str, str]:
    return dict(frame.select("event_id", "outcome").rows())


def test_received_then_status_changes_newest_wins(db: Path) -> None:
    with open_warehouse(db) as con:
        first = apply_application_facts(
            con,
            facts(
                fact("e1", 0, "received", "app_1", "applied", at(0)),
                fact(
                    "e2",
                    1,
                    "status_changed",
                    "app_1",
                    "screening",
                    at(5),
                    previous_status="applied",
                ),
            ),
        )
        # A late, older status change in a later batch loses but is still history.
        second = apply_application_facts(
            con,
            facts(
                fact(
                    "e3",
                    0,
                    "status_changed",
                    "app_1",
                    "interview",
                    at(10),
                    previous_status="screening",
                ),
                fact(
                    "e4",
                    1,
                    "status_changed",
                    "app_1",
                    "rejected",
                    at(7),
                    previous_status="screening",
                ),
            ),
        )
        history = con.sql(
            "SELECT event_id, status FROM application_status_history ORDER BY changed_at"
        ).fetchall()
    assert outcomes(first) == {"e1": "applied", "e2": "applied"}
    assert outcomes(second) == {"e3": "applied", "e4": "stale"}
    assert apps(db) == [("app_1", "job_1", "interview", at(0), at(10))]
    assert history == [("e2", "screening"), ("e4", "rejected"), ("e3", "interview")]


def test_status_change_for_unknown_application_creates_it_and_received_fills_it_later(
    db: Path,
) -> None:
    with open_warehouse(db) as con:
        first = apply_application_facts(
            con,
            facts(fact("e1", 0, "status_changed", "app_9", "screening", at(5), job_id="job_new")),
        )
        second = apply_application_facts(
            con, facts(fact("e2", 0, "received", "app_9", "applied", at(0)))
        )
    assert outcomes(first) == {"e1": "applied"}
    # The received event is older than the stored status: its status loses, its applied_at fills.
    assert outcomes(second) == {"e2": "stale"}
    assert apps(db) == [("app_9", "job_new", "screening", at(0), at(5))]


def test_shuffled_batch_is_judged_in_arrival_order(db: Path) -> None:
    with open_warehouse(db) as con:
        result = apply_application_facts(
            con,
            facts(
                fact("e_offer", 0, "status_changed", "app_1", "offer", at(30)),
                fact("e_recv", 1, "received", "app_1", "applied", at(0)),
                fact("e_screen", 2, "status_changed", "app_1", "screening", at(10)),
                fact("e_other", 3, "received", "app_2", "applied", at(1)),
            ),
        )
        history_count = con.execute("SELECT count(*) FROM application_status_history").fetchone()
    assert outcomes(result) == {
        "e_offer": "applied",
        "e_recv": "stale",
        "e_screen": "stale",
        "e_other": "applied",
    }
    assert apps(db) == [
        ("app_1", "job_1", "offer", at(0), at(30)),
        ("app_2", "job_1", "applied", at(1), at(1)),
    ]
    assert history_count == (2,)


def test_history_is_appended_once_per_event_id(db: Path) -> None:
    batch = facts(fact("e1", 0, "status_changed", "app_1", "screening", at(5)))
    with open_warehouse(db) as con:
        apply_application_facts(con, batch)
        apply_application_facts(con, batch)
        assert con.execute("SELECT count(*) FROM application_status_history").fetchone() == (1,)


def event_rows(*rows: tuple[str, str, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "event_type": ["job.updated"] * len(rows),
            "created_at": [T0] * len(rows),
            "received_at": [at(1)] * len(rows),
            "applied_at": [at(2)] * len(rows),
            "outcome": [r[1] for r in rows],
            "deliveries": [r[2] for r in rows],
            "payload": [orjson.dumps({"id": r[0]}).decode() for r in rows],
        }
    )


def test_record_events_inserts_once_and_only_raises_deliveries(db: Path) -> None:
    with open_warehouse(db) as con:
        record_events(con, event_rows(("e1", "applied", 1), ("e2", "stale", 1)))
        # Re-recording with another outcome and a higher count changes only the count.
        record_events(con, event_rows(("e1", "ignored", 3), ("e2", "applied", 1)))
        known = known_events(con, pl.Series(["e1", "e2", "e3"]))
        rows = con.sql(
            "SELECT event_id, outcome, deliveries, payload->>'id' FROM webhook_events ORDER BY 1"
        ).fetchall()
    assert rows == [("e1", "applied", 3, "e1"), ("e2", "stale", 1, "e2")]
    assert sorted(known.rows()) == [("e1", "applied", 3), ("e2", "stale", 1)]
