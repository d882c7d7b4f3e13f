"""The SQLite inbox: de-duplication, pending order, marking, backlog, concurrent writers."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from webhooks.inbox import Inbox, InboxEvent, default_inbox_path

T0 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)


def event(n: int, event_type: str = "job.updated") -> InboxEvent:
    return InboxEvent(
        event_id=f"evt_{n}",
        event_type=event_type,
        created_at=T0 + timedelta(seconds=n),
        payload=f'{{"id": "evt_{n}"}}',
    )


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    with Inbox(tmp_path / "inbox.sqlite3") as box:
        yield box


def test_default_path_is_next_to_the_warehouse(tmp_path: Path) -> None:
    assert default_inbox_path(tmp_path / "wh.duckdb") == tmp_path / "wh.duckdb.inbox.sqlite3"


def test_wal_and_full_sync_are_on(inbox: Inbox) -> None:
    con = sqlite3.connect(inbox.path)
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
    assert inbox._con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_put_reports_new_and_counts_duplicates(inbox: Inbox) -> None:
    assert inbox.put(event(1)) is True
    assert inbox.put(event(1)) is False
    assert inbox.put(event(1)) is False
    pending = inbox.pending(10)
    assert pending.rows() == [
        (
            "evt_1",
            "job.updated",
            T0 + timedelta(seconds=1),
            pending["received_at"][0],
            3,
            '{"id": "evt_1"}',
            False,
            None,
        )
    ]


def test_pending_is_arrival_order_and_limited(inbox: Inbox) -> None:
    for n in (5, 2, 9, 1):
        inbox.put(event(n), received_at=T0 + timedelta(seconds=10 + n * 0))
    assert inbox.pending(3)["event_id"].to_list() == ["evt_5", "evt_2", "evt_9"]


def test_mark_applied_then_redelivery_is_pending_again_until_synced(inbox: Inbox) -> None:
    inbox.put(event(1))
    inbox.put(event(2))
    inbox.mark_applied(["evt_1", "evt_2"], ["applied", "stale"], [1, 1], applied_at=T0)
    assert inbox.pending(10).is_empty()
    assert inbox.backlog().count == 0
    inbox.put(event(2))  # re-delivery after application
    pending = inbox.pending(10)
    assert pending.select("event_id", "applied", "outcome", "deliveries").rows() == [
        ("evt_2", True, "stale", 2)
    ]
    # Marking keeps the first outcome and applied_at; only the synced count moves.
    inbox.mark_applied(["evt_2"], ["applied"], [2], applied_at=T0 + timedelta(hours=1))
    assert inbox.pending(10).is_empty()
    row = inbox._con.execute(
        "SELECT outcome, applied_at_us FROM events WHERE event_id = 'evt_2'"
    ).fetchone()
    assert row == ("stale", int(T0.timestamp() * 1_000_000))


def test_mark_applied_rejects_ragged_input(inbox: Inbox) -> None:
    with pytest.raises(ValueError, match="same length"):
        inbox.mark_applied(["evt_1"], [], [1])


def test_backlog_counts_and_oldest(inbox: Inbox) -> None:
    assert inbox.backlog().count == 0 and inbox.backlog().oldest_received_at is None
    inbox.put(event(1), received_at=T0)
    inbox.put(event(2), received_at=T0 + timedelta(seconds=5))
    backlog = inbox.backlog()
    assert backlog.count == 2
    assert backlog.oldest_received_at == T0


def test_prune_only_removes_old_fully_synced_events(inbox: Inbox) -> None:
    inbox.put(event(1))
    inbox.put(event(2))
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    inbox.mark_applied(["evt_1"], ["applied"], [1], applied_at=two_hours_ago)
    assert inbox.prune(older_than=3 * 3600) == 0
    assert inbox.prune(older_than=3600) == 1
    assert inbox.pending(10)["event_id"].to_list() == ["evt_2"]


def test_receiver_and_applier_connections_work_concurrently(tmp_path: Path) -> None:
    path = tmp_path / "inbox.sqlite3"
    writers = [Inbox(path) for _ in range(3)]
    applier = Inbox(path)
    errors: list[BaseException] = []

    def write(box: Inbox, start: int) -> None:
        try:
            for n in range(start, start + 40):
                box.put(event(n))
                box.put(event(n))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def drain() -> None:
        try:
            for _ in range(50):
                batch = applier.pending(20)
                applier.mark_applied(
                    batch["event_id"].to_list(),
                    ["applied"] * batch.height,
                    batch["deliveries"].to_list(),
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w, i * 1000)) for i, w in enumerate(writers)]
    threads.append(threading.Thread(target=drain))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = applier._con.execute("SELECT count(*), sum(deliveries) FROM events").fetchone()
    assert total == (120, 240)
    for box in [*writers, applier]:
        box.close()


def test_put_many_is_one_commit_with_per_event_answers(inbox: Inbox) -> None:
    inbox.put(event(1))
    assert inbox.put_many([event(2), event(1), event(3), event(2)]) == [True, False, True, False]
    assert inbox.put_many([]) == []
    pending = inbox.pending(10)
    assert dict(pending.select("event_id", "deliveries").rows()) == {
        "evt_1": 2,
        "evt_2": 2,
        "evt_3": 1,
    }


def test_a_non_durable_connection_commits_without_fsync_and_checkpoints_are_tunable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inbox.sqlite3"
    with Inbox(path, checkpoint_pages=16_000) as receiver, Inbox(path, durable=False) as applier:
        assert receiver._con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert receiver._con.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16_000
        assert applier._con.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert applier._con.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        assert receiver.put(event(1)) is True
        applier.mark_applied(["evt_1"], ["applied"], [1])
        assert receiver.backlog().count == 0  # one inbox, seen the same from both
