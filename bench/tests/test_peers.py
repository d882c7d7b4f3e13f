"""The fetch floor and the request counting, against a real sandbox process on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.context import Context, Settings
from bench.measure import MeasureError
from bench.sandbox_proc import Sandbox, SandboxError, request_total
from bench.tools import FloorTool, run_sample

JOBS = 1_234


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(jobs=JOBS) as running:
        yield running


@pytest.mark.parametrize("concurrency", [1, 8], ids=["sequential", "8-concurrent"])
def test_floor_fetches_every_job_once(sandbox: Sandbox, tmp_path: Path, concurrency: int) -> None:
    ctx = Context(Settings.quick_run(), tmp_path)
    sample = run_sample(
        ctx, FloorTool("floor", concurrency=concurrency), sandbox, tmp_path, expect_rows=JOBS
    )
    assert sample["rows"] == JOBS
    assert sample["requests"] == 13  # ceil(1234 / 100) pages, counted by the sandbox
    assert sample["wall_s"] > 0 and sample["peak_rss_bytes"] > 0


def test_row_mismatch_is_a_failure(sandbox: Sandbox, tmp_path: Path) -> None:
    ctx = Context(Settings.quick_run(), tmp_path)
    with pytest.raises(MeasureError, match="expected"):
        run_sample(ctx, FloorTool("floor"), sandbox, tmp_path, expect_rows=JOBS + 1)


def test_stats_reading_is_not_counted(sandbox: Sandbox) -> None:
    before = sandbox.requests_served()
    assert sandbox.requests_served() - before - sandbox.stats_overhead == 0


def test_mutate_creates_jobs(tmp_path: Path) -> None:
    with Sandbox(jobs=50) as small:
        created = small.mutate(creates=3)["created"]
        assert len(created) == 3
        ctx = Context(Settings.quick_run(), tmp_path)
        sample = run_sample(ctx, FloorTool("floor"), small, tmp_path, expect_rows=53)
        assert sample["rows"] == 53


@pytest.mark.parametrize(
    ("stats", "total"),
    [
        ({"requests": {"total": 7, "by_status": {"200": 5}}}, 7),
        ({"requests": {"by_status": {"200": 5, "429": 2}}}, 7),
        ({"requests_by_status": {"200": 4}}, 4),
    ],
    ids=["explicit-total", "by-status", "flat-by-status"],
)
def test_request_total_reads_counters(stats: dict[str, object], total: int) -> None:
    assert request_total(stats) == total


def test_request_total_without_counters_fails() -> None:
    with pytest.raises(SandboxError, match="request counter"):
        request_total({"jobs": {"total": 3}})


def test_floor_module_runs_standalone(sandbox: Sandbox) -> None:
    import subprocess

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.peers.floor",
            "--base-url",
            sandbox.base_url,
            "--concurrency",
            "4",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert '"records": 1234' in out.stdout
