"""The measured contestants as whole processes: the fetch floor, dlt, and our ``jobsphere sync``.

A tool turns (sandbox, scratch directory) into a command line and, after the run, tells how many
rows it ended up with, so every sample is checked against the sandbox's job count; a fast run
that lost rows is a failure, not a win.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from bench.context import Context
from bench.measure import MeasureError, Measurement, measure
from bench.peers.dlt_venv import DLT_PIPELINE_SCRIPT
from bench.results import Result, failure_reason
from bench.sandbox_proc import Sandbox

# Where bench/peers/dlt_pipeline.py loads (it runs in dlt's venv, so it cannot be imported here).
DLT_DATASET = "jobsphere"
DLT_TABLE = "jobs"

__all__ = [
    "WITHOUT_FLOW",
    "DltTool",
    "FloorTool",
    "JobsphereSync",
    "Tool",
    "count_rows",
    "measure_tools",
    "plain_sync_tool",
    "run_sample",
]


def count_rows(db: Path, table: str) -> int:
    """Rows in ``table`` of a DuckDB file that no process holds any more."""
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def _last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise ValueError("the tool printed no JSON summary line")


@dataclass
class Tool:
    """Base: a name, how to run it, and how to count what it loaded."""

    name: str

    def command(self, sandbox: Sandbox, run_dir: Path) -> list[str]:
        raise NotImplementedError

    def env(self, ctx: Context) -> dict[str, str]:
        return ctx.env()

    def rows(self, measurement: Measurement, run_dir: Path) -> int:
        raise NotImplementedError


@dataclass
class FloorTool(Tool):
    """``python -m bench.peers.floor`` with ``concurrency`` requests in flight."""

    concurrency: int = 1

    def command(self, sandbox: Sandbox, run_dir: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bench.peers.floor",
            "--base-url",
            sandbox.base_url,
            "--api-key",
            sandbox.api_key,
            "--concurrency",
            str(self.concurrency),
        ]

    def rows(self, measurement: Measurement, run_dir: Path) -> int:
        return int(_last_json_line(measurement.stdout)["records"])


@dataclass
class DltTool(Tool):
    """The dlt peer; ``run_dir`` keeps its pipeline state, so reuse it for incremental runs."""

    python: Path = Path("python")
    mode: str = "full"

    def command(self, sandbox: Sandbox, run_dir: Path) -> list[str]:
        return [
            str(self.python),
            str(DLT_PIPELINE_SCRIPT),
            "--base-url",
            sandbox.base_url,
            "--api-key",
            sandbox.api_key,
            "--db",
            str(run_dir / "dlt.duckdb"),
            "--pipelines-dir",
            str(run_dir / "pipelines"),
            "--mode",
            self.mode,
        ]

    def env(self, ctx: Context) -> dict[str, str]:
        env = ctx.env()
        env.pop("PYTHONPATH", None)  # dlt's venv must not see our packages
        env["DLT_DATA_DIR"] = str(ctx.work_dir / "dlt-home")
        return env

    def rows(self, measurement: Measurement, run_dir: Path) -> int:
        del measurement
        return count_rows(run_dir / "dlt.duckdb", f"{DLT_DATASET}.{DLT_TABLE}")


@dataclass
class JobsphereSync(Tool):
    """``jobsphere sync [args] --db run_dir/jobsphere.duckdb`` as a whole process."""

    cli: Sequence[str] = ()
    args: Sequence[str] = ()
    extra_env: dict[str, str] = field(default_factory=dict)

    def command(self, sandbox: Sandbox, run_dir: Path) -> list[str]:
        return [
            *self.cli,
            "sync",
            *self.args,
            "--db",
            str(run_dir / "jobsphere.duckdb"),
            "--base-url",
            sandbox.base_url,
            "--api-key",
            sandbox.api_key,
        ]

    def env(self, ctx: Context) -> dict[str, str]:
        return ctx.env(**self.extra_env)

    def rows(self, measurement: Measurement, run_dir: Path) -> int:
        del measurement
        return count_rows(run_dir / "jobsphere.duckdb", "jobs")


WITHOUT_FLOW = "run_sync() without @flow"


def plain_sync_tool(prefect_api_url: str | None) -> JobsphereSync:
    """The sync body called directly (``bench.plain_sync``): the orchestration scenario's peer."""
    env = {"PREFECT_API_URL": prefect_api_url} if prefect_api_url else {}
    return JobsphereSync(
        WITHOUT_FLOW,
        cli=[sys.executable, "-m", "bench.plain_sync"],
        args=("--no-progress",),
        extra_env=env,
    )


def run_sample(
    ctx: Context, tool: Tool, sandbox: Sandbox, run_dir: Path, *, expect_rows: int | None
) -> dict[str, float]:
    """One measured run: process figures, the sandbox's request delta, and a row check."""
    before = sandbox.requests_served()
    measurement = measure(tool.command(sandbox, run_dir), env=tool.env(ctx), cwd=run_dir)
    requests = sandbox.requests_served() - before - sandbox.stats_overhead
    rows = tool.rows(measurement, run_dir)
    if expect_rows is not None and rows != expect_rows:
        raise MeasureError(f"{tool.name} ended with {rows:,} rows, expected {expect_rows:,}")
    return {
        "wall_s": measurement.wall_s,
        "cpu_s": measurement.cpu_s,
        "peak_rss_bytes": float(measurement.peak_rss_bytes),
        "requests": float(requests),
        "rows": float(rows),
    }


def measure_tools(
    ctx: Context,
    *,
    scenario: str,
    case: str,
    sandbox: Sandbox,
    tools: Sequence[tuple[Tool, int]],
    expect_rows: int | None,
    fresh: Callable[[Tool, int], Path],
) -> list[Result]:
    """Run each ``(tool, repeats)`` interleaved (A B A B ...), so drift hits all tools alike.

    ``fresh(tool, repeat)`` gives the scratch directory of one run. A tool that fails once is
    not run again; its row says why.
    """
    results = {tool.name: Result(scenario=scenario, case=case, tool=tool.name) for tool, _ in tools}
    for repeat in range(max(count for _, count in tools)):
        for tool, count in tools:
            result = results[tool.name]
            if repeat >= count or result.skipped is not None:
                continue
            ctx.log(f"{scenario} / {case}: {tool.name} run {repeat + 1}/{count}")
            try:
                sample = run_sample(
                    ctx, tool, sandbox, fresh(tool, repeat), expect_rows=expect_rows
                )
            except (MeasureError, OSError, ValueError, duckdb.Error) as exc:
                result.skipped = failure_reason(exc)
                ctx.log(f"  {tool.name} failed: {exc}")
                continue
            result.samples.append(sample)
            ctx.log(
                f"  {sample['wall_s']:.1f} s wall, {sample['cpu_s']:.1f} s CPU, "
                f"{sample['peak_rss_bytes'] / 2**20:.0f} MiB peak, {sample['requests']:.0f} requests"
            )
    return list(results.values())
