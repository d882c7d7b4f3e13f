"""Sandbox -> signed, duplicated, shuffled webhooks -> receiver process -> warehouse == sandbox."""

from __future__ import annotations

import signal
from pathlib import Path

import orjson
import pytest

from sandbox.testing import running_sandbox
from tests.webhooks.conftest import SECRET, start_receiver, wait_for
from warehouse import open_warehouse
from webhooks.app import WEBHOOK_PATH


@pytest.mark.slow
def test_warehouse_ends_equal_to_the_sandbox_for_every_touched_job(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    receiver = start_receiver(db, tmp_path, apply_interval=0.2)
    try:
        with running_sandbox(
            jobs=200,
            seed=3,
            updated_at=True,
            webhook_url=f"{receiver.url}{WEBHOOK_PATH}",
            webhook_secret=SECRET,
            webhook_duplicate_rate=0.3,
            webhook_shuffle=True,
        ) as sb:
            done = sb.mutate(creates=5, updates=20, applications=10, status_changes=10)
            done2 = sb.mutate(updates=20, status_changes=10)
            sb.wait_webhooks_drained(timeout=60)
            stats = sb.stats()
            touched = sorted({*done["created"], *done["updated"], *done2["updated"]})
            expected = {job_id: sb.store.get(job_id) for job_id in touched}
            wait_for(lambda: receiver.health()["backlog"] == 0, timeout=60, what="receiver backlog")
    finally:
        assert receiver.stop(signal.SIGTERM) == 0
    webhooks = stats["webhooks"]
    assert webhooks["gave_up"] == 0 and webhooks["duplicates"] > 0
    changes = len(done["status_changes"]) + len(done2["status_changes"])
    with open_warehouse(db, read_only=True) as con:
        rows = dict(con.execute("SELECT job_id, raw::VARCHAR FROM jobs").fetchall())
        events = con.execute(
            "SELECT count(*), sum(deliveries), count(*) FILTER (WHERE outcome NOT IN ('applied', 'stale'))"
            " FROM webhook_events"
        ).fetchall()
        applications = con.execute("SELECT count(*) FROM applications").fetchall()
        history = con.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM application_status_history"
        ).fetchall()
    assert set(rows) == set(touched)
    assert {job_id: orjson.loads(rows[job_id]) for job_id in touched} == expected
    # Every distinct event once, every delivery (duplicates included) counted, none ignored.
    assert events == [(webhooks["queued"], webhooks["sent"], 0)]
    assert applications[0][0] >= len(done["applications"])
    assert history == [(changes, changes)]
