"""A killed sync resumes from its last committed page; a wrongly ordered source falls back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flows.sync import run_sync_flow
from sandbox.testing import running_sandbox

from .conftest import settings_for

pytestmark = pytest.mark.usefixtures("prefect_harness")


def read_checkpoint(db: Path) -> dict[str, Any] | None:
    """Read the full-sync checkpoint between the writer's batches (it holds the file briefly)."""
    try:
        with duckdb.connect(str(db), read_only=True) as con:
            row = con.execute(
                "SELECT value FROM sync_state WHERE key LIKE 'checkpoint:full:%'"
            ).fetchone()
    except duckdb.Error:
        return None
    if row is None or row[0] is None:
        return None
    value = json.loads(row[0]) if isinstance(row[0], str) else row[0]
    return value if isinstance(value, dict) else None


def test_killed_full_sync_resumes_from_last_committed_page(db_path: Path) -> None:
    from prefect.settings import PREFECT_API_URL

    with running_sandbox(jobs=3_000, seed=5, latency_ms=40) as sb:
        env = {
            **os.environ,
            "JOBSPHERE_API_KEY": sb.config.api_key,
            "PREFECT_API_URL": str(PREFECT_API_URL.value() or ""),
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flows.cli",
                "sync",
                "--full",
                "--db",
                str(db_path),
                "--base-url",
                sb.base_url,
                "--batch-rows",
                "200",
                "--concurrency",
                "1",
                "--no-progress",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        checkpoint = None
        while time.monotonic() < deadline and proc.poll() is None:
            checkpoint = read_checkpoint(db_path)
            if checkpoint and checkpoint.get("next_page", 0) >= 5:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[0].decode()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert checkpoint is not None
        interrupted_at = read_checkpoint(db_path)
        assert interrupted_at is not None
        resumed_page = int(interrupted_at["next_page"])
        assert resumed_page >= 5

        settings = settings_for(sb, db_path, batch_rows=500)
        summary = run_sync_flow(settings, full=True, show_progress=False)
        assert summary.status == "succeeded"
        assert f"resumed at page {resumed_page}" in summary.notes
        # It did not start over: only the pages from the checkpoint on were read.
        assert summary.pages <= 30 - resumed_page + 2
        with duckdb.connect(str(db_path), read_only=True) as con:
            live = {
                r[0]
                for r in con.execute("SELECT job_id FROM jobs WHERE deleted_at IS NULL").fetchall()
            }
            runs = con.execute("SELECT status FROM sync_runs ORDER BY started_at").fetchall()
            left = con.execute(
                "SELECT count(*) FROM sync_state WHERE key LIKE 'checkpoint:%' AND value IS NOT NULL AND value::VARCHAR <> 'null'"
            ).fetchone()
        assert live == sb.store.snapshot_ids()
        assert runs == [("failed",), ("succeeded",)]
        assert left == (0,)


class _AscendingApi:
    """A JobSphere look-alike that lists OLDEST first: the order incremental sync relies on fails."""

    def __init__(self, jobs: int) -> None:
        base = datetime(2026, 1, 1, tzinfo=UTC)
        self.jobs = [self._job(i, base + timedelta(hours=i)) for i in range(jobs)]

    @staticmethod
    def _job(i: int, posted: datetime) -> dict[str, Any]:
        return {
            "id": f"asc_{i:05d}",
            "title": "Engineer",
            "company": "Acme",
            "location": "Remote",
            "type": "full_time",
            "salary_range": None,
            "posted_at": posted.isoformat().replace("+00:00", "Z"),
        }

    def add(self) -> str:
        last = datetime.fromisoformat(self.jobs[-1]["posted_at"].replace("Z", "+00:00"))
        job = self._job(len(self.jobs), last + timedelta(hours=1))
        self.jobs.append(job)
        return str(job["id"])

    async def list_jobs(self, request: Request) -> JSONResponse:
        page = int(request.query_params.get("page", 1))
        limit = int(request.query_params.get("limit", 20))
        chunk = self.jobs[(page - 1) * limit : page * limit]
        return JSONResponse(
            {"data": chunk, "meta": {"total": len(self.jobs), "page": page, "limit": limit}}
        )


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v2"
    finally:
        server.should_exit = True
        thread.join(10)


def test_wrong_order_falls_back_to_full_scan(db_path: Path) -> None:
    from pydantic import SecretStr

    from flows.settings import SyncSettings

    api = _AscendingApi(450)
    app = Starlette(routes=[Route("/v2/jobs", api.list_jobs)])
    with serve(app) as base_url:
        settings = SyncSettings(db=db_path, base_url=base_url, api_key=SecretStr("k"))
        run_sync_flow(settings, full=False, show_progress=False)
        new_id = api.add()
        summary = run_sync_flow(settings, full=False, show_progress=False)
    assert summary.status == "succeeded"
    assert "order check failed" in summary.notes and "full scan" in summary.notes
    with duckdb.connect(str(db_path), read_only=True) as con:
        ids = {r[0] for r in con.execute("SELECT job_id FROM jobs").fetchall()}
        notes = con.execute(
            "SELECT notes FROM sync_runs ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert new_id in ids and len(ids) == 451
    assert notes is not None and "order check failed" in notes[0]
