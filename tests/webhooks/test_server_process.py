"""The receiver as a real process: kill -9 right after a 2xx, graceful SIGTERM, a locked file."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.webhooks.conftest import envelope, start_receiver, wait_for
from warehouse import WarehouseLockedError, open_warehouse
from webhooks.inbox import default_inbox_path


def job_event(event_id: str, job_id: str, title: str) -> dict[str, Any]:
    job = {
        "id": job_id,
        "title": title,
        "company": "Acme",
        "location": "Remote",
        "type": "contract",
        "salary_range": None,
        "posted_at": "2027-01-01T00:00:00Z",
    }
    return envelope(event_id, "job.created", "2027-01-15T08:00:00Z", {"job": job})


def warehouse_rows(db: Path, sql: str) -> list[tuple[Any, ...]] | None:
    """Rows, or None while the receiver holds the file for a batch."""
    if not db.exists():
        return None
    try:
        with open_warehouse(db, read_only=True, lock_timeout=0.5) as con:
            return con.execute(sql).fetchall()
    except WarehouseLockedError:
        return None


@pytest.mark.slow
def test_kill_9_after_the_2xx_then_restart_applies_once_and_sigterm_drains(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    # A long apply interval: the event is certainly still only in the inbox when we kill.
    first = start_receiver(db, tmp_path, apply_interval=3600, name="first")
    try:
        response = first.post(job_event("evt_k9", "job_k9", "Survivor"))
        first.proc.send_signal(signal.SIGKILL)  # right after the 2xx
        assert response.status_code == 200 and response.json() == {"status": "stored"}
        assert first.proc.wait(30) == -signal.SIGKILL
    finally:
        if first.proc.poll() is None:
            first.proc.kill()
    # Restart, again with a long interval: the backlog is applied at start-up, anything newer
    # only by the final drain on SIGTERM.
    second = start_receiver(db, tmp_path, apply_interval=3600, name="second")
    try:
        wait_for(lambda: second.health()["backlog"] == 0, what="backlog applied at start-up")
        assert second.health()["applier_running"] is True
        assert warehouse_rows(db, "SELECT title FROM jobs") == [("Survivor",)]
        assert second.post(job_event("evt_k9", "job_k9", "Survivor")).json() == {
            "status": "duplicate"
        }
        with httpx.Client(timeout=10) as client:
            for i in range(2):
                event = job_event(f"evt_t{i}", f"job_t{i}", "Graceful")
                assert second.post(event, client).json() == {"status": "stored"}
        assert second.health()["backlog"] == 3
    finally:
        assert second.stop(signal.SIGTERM) == 0
    assert "final drain applied 2" in second.log.read_text()
    assert warehouse_rows(
        db, "SELECT event_id, outcome, deliveries FROM webhook_events ORDER BY 1"
    ) == [
        ("evt_k9", "applied", 2),
        ("evt_t0", "applied", 1),
        ("evt_t1", "applied", 1),
    ]
    assert warehouse_rows(db, "SELECT count(*) FROM job_history") == [(3,)]


@pytest.mark.slow
def test_locked_warehouse_accepts_events_and_applies_them_after_it_frees(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    with open_warehouse(db):
        pass
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
    receiver = None
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        receiver = start_receiver(db, tmp_path, apply_interval=0.1)
        with httpx.Client(timeout=10) as client:
            answers = [
                receiver.post(job_event(f"evt_l{i}", f"job_l{i}", "Held"), client).status_code
                for i in range(5)
            ]
        assert answers == [200] * 5
        assert receiver.health()["backlog"] == 5
        assert holder.stdin is not None
        holder.stdin.close()
        assert holder.wait(30) == 0
        wait_for(
            lambda: receiver.health()["backlog"] == 0,
            timeout=60,
            what="backlog drained after unlock",
        )
    finally:
        if holder.poll() is None:
            holder.kill()
        if receiver is not None:
            assert receiver.stop(signal.SIGTERM) == 0
    assert warehouse_rows(db, "SELECT count(*) FROM jobs") == [(5,)]


@pytest.mark.slow
def test_kill_9_after_concurrent_2xx_keeps_every_acknowledged_event(tmp_path: Path) -> None:
    """Eight keep-alive senders share gathered commits; each 2xx still means stored."""
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    db = tmp_path / "wh.duckdb"
    receiver = start_receiver(db, tmp_path, apply_interval=3600, name="gathered")
    try:

        def sender(worker: int) -> list[str]:
            acked = []
            with httpx.Client(timeout=10) as client:
                for n in range(6):
                    event_id = f"evt_g{worker}_{n}"
                    answer = receiver.post(job_event(event_id, f"job_g{worker}", "Kept"), client)
                    assert answer.status_code == 200
                    acked.append(event_id)
            return acked

        with ThreadPoolExecutor(8) as pool:
            acked = [event_id for ids in pool.map(sender, range(8)) for event_id in ids]
        receiver.proc.send_signal(signal.SIGKILL)  # right after the last 2xx
        assert receiver.proc.wait(30) == -signal.SIGKILL
    finally:
        if receiver.proc.poll() is None:
            receiver.proc.kill()
    con = sqlite3.connect(default_inbox_path(db))
    try:
        stored = {row[0] for row in con.execute("SELECT event_id FROM events")}
    finally:
        con.close()
    assert len(acked) == 48 and set(acked) <= stored
