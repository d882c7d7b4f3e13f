"""Applying inbox events to the warehouse: newest wins, exactly once, locks, ignored events."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.webhooks.conftest import wait_for
from warehouse import open_warehouse
from webhooks.applier import ApplyReport, apply_events, apply_pending, backoff_delay
from webhooks.inbox import Inbox, InboxEvent
from webhooks.worker import Applier

T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
NOW = datetime(2027, 1, 15, 9, 0, tzinfo=UTC)


def job(job_id: str, version: int, *, updated: bool = True) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": job_id,
        "title": f"Data Engineer v{version}",
        "company": "Acme",
        "location": "Berlin, Germany",
        "type": "full_time",
        "salary_range": {"min": 60_000 + version, "max": 80_000, "currency": "EUR"},
        "posted_at": "2027-01-01T00:00:00Z",
    }
    if updated:
        record["updated_at"] = (T0 + timedelta(minutes=version)).isoformat()
    return record


class Feed:
    """Puts envelopes into an inbox with strictly increasing arrival times."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.n = 0

    def put(
        self, event_id: str, event_type: str, data: dict[str, Any], created: datetime = T0
    ) -> bool:
        self.n += 1
        body = {"id": event_id, "type": event_type, "created_at": created.isoformat(), "data": data}
        return self.inbox.put(
            InboxEvent(event_id, event_type, created, orjson.dumps(body).decode()),
            received_at=NOW + timedelta(milliseconds=self.n),
        )


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[Inbox]:
    with Inbox(tmp_path / "wh.duckdb.inbox.sqlite3") as box:
        yield box


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "wh.duckdb"


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with open_warehouse(db, read_only=True) as con:
        return con.execute(sql).fetchall()


def drain(db: Path, inbox: Inbox, max_events: int = 1000) -> ApplyReport:
    total = ApplyReport()
    while True:
        report = apply_pending(db, inbox, max_events=max_events, clock=lambda: NOW)
        assert not report.locked
        if report.events == 0:
            return total
        total = ApplyReport(
            total.applied + report.applied,
            total.stale + report.stale,
            total.ignored + report.ignored,
            total.redelivered + report.redelivered,
        )


@pytest.mark.parametrize("batch", [1, 1000], ids=["one-by-one", "one-batch"])
def test_shuffled_versions_end_at_the_newest_and_older_arrivals_are_stale(
    db: Path, inbox: Inbox, batch: int
) -> None:
    feed = Feed(inbox)
    arrival = [3, 1, 4, 2, 5, 5]  # the last is a re-delivery of version 5 under its own id
    for i, version in enumerate(arrival):
        feed.put(f"evt_{i}_v{version}", "job.updated", {"job": job("job_1", version)})
    report = drain(db, inbox, max_events=batch)
    assert report == ApplyReport(applied=4, stale=2)
    outcomes = dict(query(db, "SELECT event_id, outcome FROM webhook_events"))
    assert outcomes == {
        "evt_0_v3": "applied",
        "evt_1_v1": "stale",
        "evt_2_v4": "applied",
        "evt_3_v2": "stale",
        "evt_4_v5": "applied",
        "evt_5_v5": "applied",  # same version again: unchanged, not older
    }
    assert query(db, "SELECT title, salary_min FROM jobs") == [("Data Engineer v5", 60_005.0)]
    history = query(db, "SELECT title, change_source FROM job_history ORDER BY valid_from")
    assert history == [(f"Data Engineer v{v}", "webhook") for v in (3, 4, 5)]


def test_without_updated_at_the_event_created_at_orders_versions(db: Path, inbox: Inbox) -> None:
    feed = Feed(inbox)
    feed.put(
        "evt_new",
        "job.updated",
        {"job": job("job_2", 2, updated=False)},
        created=T0 + timedelta(hours=1),
    )
    feed.put("evt_old", "job.created", {"job": job("job_2", 1, updated=False)}, created=T0)
    drain(db, inbox)
    assert dict(query(db, "SELECT event_id, outcome FROM webhook_events")) == {
        "evt_new": "applied",
        "evt_old": "stale",
    }
    assert query(db, "SELECT title FROM jobs") == [("Data Engineer v2",)]


def test_crash_between_warehouse_commit_and_inbox_mark_applies_once(db: Path, inbox: Inbox) -> None:
    feed = Feed(inbox)
    feed.put("evt_a", "job.created", {"job": job("job_1", 1)})
    feed.put("evt_b", "job.updated", {"job": job("job_1", 2)})
    with open_warehouse(db) as con:
        con.begin()
        apply_events(con, inbox.pending(10), now=NOW)
        con.commit()
    # "crash": the inbox was never marked, so both events are still pending.
    assert inbox.backlog().count == 2
    report = drain(db, inbox)
    assert report == ApplyReport(applied=2)
    assert inbox.backlog().count == 0
    assert query(db, "SELECT count(*), sum(deliveries) FROM webhook_events") == [(2, 2)]
    assert query(db, "SELECT count(*) FROM job_history") == [(2,)]


def test_redelivery_after_application_only_bumps_deliveries(db: Path, inbox: Inbox) -> None:
    feed = Feed(inbox)
    feed.put("evt_a", "job.created", {"job": job("job_1", 1)})
    drain(db, inbox)
    before = query(db, "SELECT applied_at, outcome, payload FROM webhook_events")
    assert feed.put("evt_a", "job.created", {"job": job("job_1", 9)}) is False
    feed.put("evt_a", "job.created", {"job": job("job_1", 9)})
    assert drain(db, inbox) == ApplyReport(redelivered=1)
    assert query(db, "SELECT deliveries FROM webhook_events") == [(3,)]
    assert query(db, "SELECT applied_at, outcome, payload FROM webhook_events") == before
    assert query(db, "SELECT title FROM jobs") == [("Data Engineer v1",)]
    assert query(db, "SELECT count(*) FROM job_history") == [(1,)]


def test_unknown_and_unusable_events_are_ignored(db: Path, inbox: Inbox) -> None:
    feed = Feed(inbox)
    feed.put("evt_unknown", "company.renamed", {"company": "Acme"})
    feed.put("evt_nojob", "job.updated", {"something": 1})
    feed.put("evt_noid", "job.updated", {"job": {"title": "no id"}})
    feed.put("evt_noapp", "candidate.status_changed", {"status": "hired"})
    feed.put("evt_ok", "job.created", {"job": job("job_7", 1)})
    assert drain(db, inbox) == ApplyReport(applied=1, ignored=4)
    assert dict(query(db, "SELECT event_id, outcome FROM webhook_events")) == {
        "evt_unknown": "ignored",
        "evt_nojob": "ignored",
        "evt_noid": "ignored",
        "evt_noapp": "ignored",
        "evt_ok": "applied",
    }
    assert query(db, "SELECT job_id FROM jobs") == [("job_7",)]


def test_application_events_through_the_applier(db: Path, inbox: Inbox) -> None:
    feed = Feed(inbox)
    change = {
        "application_id": "app_1",
        "candidate_id": "cand_1",
        "job_id": "job_later",
        "previous_status": "applied",
        "status": "screening",
        "changed_at": "2027-01-15T08:05:00.000Z",
    }
    feed.put("evt_s1", "candidate.status_changed", change)  # application not seen yet
    feed.put(
        "evt_r1",
        "application.received",
        {
            "application": {
                "id": "app_1",
                "job_id": "job_later",
                "candidate_id": "cand_1",
                "status": "applied",
                "applied_at": "2027-01-15T08:00:00.000Z",
            }
        },
    )
    feed.put(
        "evt_s0",
        "candidate.status_changed",
        {**change, "status": "rejected", "changed_at": "2027-01-15T08:03:00Z"},
    )
    feed.put("evt_job", "job.created", {"job": job("job_later", 1)})
    drain(db, inbox)
    assert dict(query(db, "SELECT event_id, outcome FROM webhook_events")) == {
        "evt_s1": "applied",
        "evt_r1": "stale",
        "evt_s0": "stale",
        "evt_job": "applied",
    }
    assert query(
        db,
        "SELECT a.status, a.applied_at, a.updated_at, j.title FROM applications a JOIN jobs j USING (job_id)",
    ) == [("screening", T0, T0 + timedelta(minutes=5), "Data Engineer v1")]
    assert query(db, "SELECT event_id FROM application_status_history ORDER BY changed_at") == [
        ("evt_s0",),
        ("evt_s1",),
    ]


@pytest.fixture
def locked_warehouse(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the DuckDB file read-write until its stdin closes."""
    with open_warehouse(db):
        pass  # create and migrate first
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,sys; c=duckdb.connect({str(db)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    yield holder
    if holder.poll() is None:
        holder.kill()
        holder.wait()


def test_locked_warehouse_keeps_events_in_the_inbox_until_it_frees(
    db: Path, inbox: Inbox, locked_warehouse: subprocess.Popen[str]
) -> None:
    feed = Feed(inbox)
    feed.put("evt_a", "job.created", {"job": job("job_1", 1)})
    report = apply_pending(db, inbox, lock_timeout=0.2)
    assert report.locked
    assert inbox.backlog().count == 1
    assert locked_warehouse.stdin is not None
    locked_warehouse.stdin.close()
    locked_warehouse.wait(30)
    assert drain(db, inbox) == ApplyReport(applied=1)
    assert query(db, "SELECT job_id FROM jobs") == [("job_1",)]


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff_delay(n, base=0.5, cap=4) for n in range(6)] == [0, 0.5, 1, 2, 4, 4]


def test_applier_process_applies_on_wake_and_drains_on_stop(db: Path, tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb.inbox.sqlite3"
    with Inbox(path) as inbox:
        feed = Feed(inbox)
        applier = Applier(db_path=db, inbox_path=path, interval=3600, wake_at=2)
        applier.start()
        try:
            feed.put("evt_1", "job.created", {"job": job("job_1", 1)})
            feed.put("evt_2", "job.created", {"job": job("job_2", 1)})
            applier.notify()
            applier.notify()  # wake_at reached: the loop drains without waiting an hour
            wait_for(lambda: inbox.backlog().count == 0, timeout=60, what="woken drain")
            feed.put("evt_3", "job.created", {"job": job("job_3", 1)})
        finally:
            final = applier.stop()  # no notify for evt_3: only the final drain applies it
        assert final == ApplyReport(applied=1)
        assert inbox.backlog().count == 0
    assert query(db, "SELECT count(*) FROM jobs") == [(3,)]


def test_lock_retries_are_capped_and_their_wait_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    from webhooks import applier

    slept: list[float] = []
    monkeypatch.setattr(applier.time, "sleep", slept.append)
    wait = applier._LockWait()
    for delay in (0.01, 0.1, 2.0):  # open_warehouse's exponential schedule, abridged
        wait(delay)
    assert slept == [0.01, applier.LOCK_RETRY_SECONDS, applier.LOCK_RETRY_SECONDS]
    assert wait.seconds == pytest.approx(0.11)
