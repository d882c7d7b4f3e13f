"""The pipeline loads each batch on a loader thread while the scan fetches the next one, and
prepares (parses and normalizes) a full batch on a thread of its own while the previous one loads.

These tests pin what that must not change: commits land in page order, a failed load or
preparation surfaces as the scan's error, a failed scan still lets the batch in flight commit (so
a rerun resumes after it), and context variables (Prefect's run context) reach both threads.
They synchronize on events, never on timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import flows.pipeline as pipeline
from connectors import Client
from flows.pipeline import ScanPlan, ScanResult, run_scan
from flows.settings import SyncSettings
from sandbox.testing import SandboxHandle
from warehouse import get_state, open_warehouse, read_fx_rates, start_run

from .conftest import settings_for

_probe: ContextVar[str] = ContextVar("_probe", default="unset")


@dataclass(frozen=True)
class _Run:
    """A started run over the sandbox, scanned in batches of two 100-job pages."""

    sandbox: SandboxHandle
    settings: SyncSettings
    run_id: str
    fx: Any

    def client(self) -> Client:
        return Client(self.sandbox.config.api_key, self.sandbox.base_url, page_size=100)

    def scan(self, client: Client) -> ScanResult:
        plan = ScanPlan(run_id=self.run_id, checkpoint_key="checkpoint:test", checkpoint_extra={})
        return run_scan(client, plan, self.settings, self.fx)

    def checkpoint(self) -> Any:
        with open_warehouse(self.settings.db, read_only=True) as con:
            return get_state(con, "checkpoint:test")

    def jobs(self) -> int:
        with open_warehouse(self.settings.db, read_only=True) as con:
            return con.execute("SELECT count(*) FROM jobs").fetchone()[0]


@pytest.fixture
def started(sandbox: SandboxHandle, db_path: Path) -> _Run:
    settings = settings_for(sandbox, db_path, batch_rows=200)
    with open_warehouse(settings.db) as con:
        return _Run(sandbox, settings, start_run(con, "full", {}), read_fx_rates(con))


def _scan_in_flow_context(started: _Run) -> ScanResult:
    """Scan with ``_probe`` set, as Prefect sets its run context around a flow's work."""
    token = _probe.set("from-the-flow")
    try:
        with started.client() as client:
            return started.scan(client)
    finally:
        _probe.reset(token)


def test_batches_commit_in_page_order_with_context(
    started: _Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = pipeline.load_jobs
    seen: list[tuple[int, str, str]] = []

    def recording_load(con: Any, frame: Any, **kwargs: Any) -> Any:
        next_page = kwargs["state"]["checkpoint:test"]["next_page"]
        seen.append((next_page, threading.current_thread().name, _probe.get()))
        return real_load(con, frame, **kwargs)

    monkeypatch.setattr(pipeline, "load_jobs", recording_load)
    result = _scan_in_flow_context(started)

    assert result.totals.jobs_inserted == 1_000
    # Pages 1-10 in batches of two pages; the completeness proof's re-read of page 1 may follow.
    assert [page for page, _, _ in seen][:5] == [3, 5, 7, 9, 11]
    assert [page for page, _, _ in seen][5:] in ([], [2])
    assert all(thread.startswith("jobsphere-load") for _, thread, _ in seen)
    assert {value for _, _, value in seen} == {"from-the-flow"}
    assert started.checkpoint()["next_page"] == seen[-1][0]


def test_a_failed_load_is_the_scans_error(started: _Run, monkeypatch: pytest.MonkeyPatch) -> None:
    real_load = pipeline.load_jobs
    calls = 0

    def failing_second(con: Any, frame: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full while loading batch 2")
        return real_load(con, frame, **kwargs)

    monkeypatch.setattr(pipeline, "load_jobs", failing_second)
    with started.client() as client, pytest.raises(RuntimeError, match="batch 2"):
        started.scan(client)
    assert calls == 2  # nothing was loaded after the failure
    assert started.checkpoint()["next_page"] == 3  # batch 1 only
    assert started.jobs() == 200


class _FailingScan:
    """The real scan's first ``pages`` pages, then a network error, like a dropped connection."""

    def __init__(self, inner: Any, pages: int, before_raise: threading.Event) -> None:
        self._inner = inner
        self._pages = pages
        self._before_raise = before_raise
        self.report = inner.report

    def __iter__(self) -> Iterator[Any]:
        for index, page in enumerate(self._inner, start=1):
            yield page
            if index == self._pages:
                self._before_raise.set()
                raise ConnectionError(f"connection dropped after page {index}")


def test_a_failed_scan_waits_for_the_batch_in_flight(
    started: _Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = pipeline.load_jobs
    scan_failed = threading.Event()

    def slow_load(con: Any, frame: Any, **kwargs: Any) -> Any:
        # Commit only once the scan has already failed: without the wait in the batcher,
        # run_scan would raise before this batch (and its checkpoint) is in the warehouse.
        assert scan_failed.wait(timeout=60)
        return real_load(con, frame, **kwargs)

    monkeypatch.setattr(pipeline, "load_jobs", slow_load)
    with started.client() as client:
        real_scan = client.jobs.scan
        monkeypatch.setattr(
            client.jobs, "scan", lambda **kw: _FailingScan(real_scan(**kw), 3, scan_failed)
        )
        with pytest.raises(ConnectionError, match="after page 3"):
            started.scan(client)
    assert started.checkpoint()["next_page"] == 3
    assert started.jobs() == 200


class _RecordingScan:
    """The real scan, remembering each page's ``fetched_at`` in page order."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.report = inner.report
        self.fetched: list[Any] = []

    def __iter__(self) -> Iterator[Any]:
        for page in self._inner:
            self.fetched.append(page.fetched_at)
            yield page


def test_a_batch_is_observed_when_its_first_request_went_out(
    started: _Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newest-wins compares a batch with webhook events by this instant, so it must be the
    fetch's, not the later moment the batch is loaded."""
    real_load = pipeline.load_jobs
    observed: list[Any] = []

    def recording_load(con: Any, frame: Any, **kwargs: Any) -> Any:
        observed.append(kwargs["observed_at"])
        return real_load(con, frame, **kwargs)

    monkeypatch.setattr(pipeline, "load_jobs", recording_load)
    before = datetime.now(UTC)
    with started.client() as client:
        real_scan = client.jobs.scan
        scans: list[_RecordingScan] = []

        def recording_scan(**kw: Any) -> _RecordingScan:
            scans.append(_RecordingScan(real_scan(**kw)))
            return scans[-1]

        monkeypatch.setattr(client.jobs, "scan", recording_scan)
        started.scan(client)
    fetched = scans[0].fetched
    assert all(before <= moment <= datetime.now(UTC) for moment in fetched)
    # Pages 1-2 make the first batch, 3-4 the second: each is observed at its earliest request.
    assert observed[:2] == [min(fetched[0:2]), min(fetched[2:4])]


def test_the_next_batch_is_prepared_while_the_previous_one_loads(
    started: _Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load, real_normalize = pipeline.load_jobs, pipeline.normalize_jobs
    normalized: list[tuple[str, str]] = []
    second_prepared = threading.Event()

    def recording_normalize(frame: Any, fx: Any) -> Any:
        normalized.append((threading.current_thread().name, _probe.get()))
        result = real_normalize(frame, fx)
        if len(normalized) == 2:
            second_prepared.set()
        return result

    def first_load_waits(con: Any, frame: Any, **kwargs: Any) -> Any:
        # Batch 1 commits only once batch 2 is normalized: with preparation queued behind the
        # load instead, this would wait in vain.
        if kwargs["state"]["checkpoint:test"]["next_page"] == 3:
            assert second_prepared.wait(timeout=60), "batch 2 was not prepared during load 1"
        return real_load(con, frame, **kwargs)

    monkeypatch.setattr(pipeline, "normalize_jobs", recording_normalize)
    monkeypatch.setattr(pipeline, "load_jobs", first_load_waits)
    result = _scan_in_flow_context(started)
    assert result.totals.jobs_inserted == 1_000
    assert all(thread.startswith("jobsphere-prepare") for thread, _ in normalized)
    assert {value for _, value in normalized} == {"from-the-flow"}


def test_a_failed_preparation_is_the_scans_error(
    started: _Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_normalize = pipeline.normalize_jobs
    calls = 0

    def failing_second(frame: Any, fx: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("cannot normalize batch 2")
        return real_normalize(frame, fx)

    monkeypatch.setattr(pipeline, "normalize_jobs", failing_second)
    with started.client() as client, pytest.raises(RuntimeError, match="batch 2"):
        started.scan(client)
    assert started.checkpoint()["next_page"] == 3  # batch 1 only
    assert started.jobs() == 200
