"""The Prefect apply flow drains a stored backlog (the ad-hoc/scheduled path)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from flows.webhook_apply import apply_webhook_events
from warehouse import open_warehouse
from webhooks.inbox import Inbox, InboxEvent, default_inbox_path


@pytest.mark.usefixtures("prefect_harness")
def test_flow_drains_the_backlog_in_batches(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    created = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    with Inbox(default_inbox_path(db)) as inbox:
        for i in range(5):
            body = {
                "id": f"evt_{i}",
                "type": "application.received",
                "created_at": "2027-01-15T08:00:00Z",
                "data": {
                    "application": {
                        "id": f"app_{i}",
                        "job_id": "job_1",
                        "candidate_id": f"cand_{i}",
                        "status": "applied",
                        "applied_at": "2027-01-15T08:00:00Z",
                    }
                },
            }
            inbox.put(
                InboxEvent(f"evt_{i}", "application.received", created, orjson.dumps(body).decode())
            )
        inbox.put(InboxEvent("evt_x", "company.renamed", created, '{"data": {}}'))
    result = apply_webhook_events(str(db), batch_size=2)
    assert result == {"applied": 5, "stale": 0, "ignored": 1, "redelivered": 0, "remaining": 0}
    with open_warehouse(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM applications").fetchall() == [(5,)]
        assert con.execute("SELECT count(*) FROM webhook_events").fetchall() == [(6,)]
