"""Scenarios 1 and 5: a full sync into an empty warehouse, beside dlt and the fetch floor.

The small size (100,000 jobs) is where dlt is compared (it needs minutes and gigabytes there);
the large size (1,000,000) is compared with the fetch floor and gives the memory figure; at 0 ms it
also runs the same sync without its ``@flow`` wrapper, which scenario 6 reads. Every
tool reads the same sandbox process with the same seed, at each latency.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bench.context import Context, Settings, jobsphere_command
from bench.peers.dlt_venv import ensure_dlt_python
from bench.results import Result, Target
from bench.sandbox_proc import Sandbox
from bench.tools import (
    WITHOUT_FLOW,
    DltTool,
    FloorTool,
    JobsphereSync,
    Tool,
    measure_tools,
    plain_sync_tool,
)

__all__ = ["SCENARIO", "TITLE", "run"]

SCENARIO = "full_sync"
TITLE = "1. Full sync into an empty warehouse (and 5. memory)"
OURS = "jobsphere sync"
FLOOR_SEQ = "fetch floor, sequential"
FLOOR_8 = "fetch floor, 8 concurrent"
DLT = "dlt rest_api → duckdb"


def _case(jobs: int, latency_ms: float) -> str:
    return f"{jobs:,} jobs, {latency_ms:g} ms"


def large_case(settings: Settings) -> str:
    """The case label of the large, 0 ms run (scenario 6 reuses its with/without-flow pair)."""
    return _case(settings.large_jobs, 0.0)


def _ours(ctx: Context, prefect_api_url: str | None, latency_ms: float) -> Tool | None:
    """Our CLI as a user runs it; with latency, more requests in flight (the issue allows it)."""
    cli = jobsphere_command()
    if cli is None:
        return None
    extra = {"PREFECT_API_URL": prefect_api_url} if prefect_api_url else {}
    args: tuple[str, ...] = ("--no-progress",)
    if latency_ms:
        args += ("--concurrency", str(ctx.settings.latency_concurrency))
    return JobsphereSync(OURS, cli=cli, args=args, extra_env=extra)


def _fresh(ctx: Context, label: str) -> Callable[[Tool, int], Path]:
    def fresh(tool: Tool, repeat: int) -> Path:
        slug = "".join(ch if ch.isalnum() else "-" for ch in f"{label}-{tool.name}")
        return ctx.fresh_dir(f"full/{slug}")

    return fresh


def _run_size(
    ctx: Context,
    *,
    jobs: int,
    latency_ms: float,
    tools: list[tuple[Tool, int]],
    missing: list[Result],
) -> list[Result]:
    case = _case(jobs, latency_ms)
    for result in missing:
        result.case = case
    with Sandbox(jobs=jobs, latency_ms=latency_ms, log_dir=ctx.work_dir / "logs") as sandbox:
        results = measure_tools(
            ctx,
            scenario=SCENARIO,
            case=case,
            sandbox=sandbox,
            tools=tools,
            expect_rows=jobs,
            fresh=_fresh(ctx, case),
        )
    return results + missing


def run(ctx: Context, prefect_api_url: str | None) -> tuple[list[Result], list[Target]]:
    """Measure every size and latency; return the rows and the scenario's targets."""
    s = ctx.settings
    results: list[Result] = []
    dlt_python: Path | None = None
    dlt_problem = ""
    try:
        dlt_python = ensure_dlt_python()
    except (OSError, subprocess.SubprocessError) as exc:
        dlt_problem = f"dlt venv could not be created: {exc}"
    for latency in s.latencies_ms:
        ours = _ours(ctx, prefect_api_url, latency)
        for jobs, large in ((s.small_jobs, False), (s.large_jobs, True)):
            tools: list[tuple[Tool, int]] = []
            missing: list[Result] = []
            repeat = s.repeat
            if large:
                repeat = s.large_latency_repeat if latency else s.large_repeat
            if ours is not None:
                tools.append((ours, repeat))
            else:
                missing.append(
                    Result(
                        SCENARIO, "", OURS, skipped="the jobsphere CLI (flows/cli.py) is missing"
                    )
                )
            tools.append((FloorTool(FLOOR_8, concurrency=8), repeat))
            if large and latency == 0 and ours is not None:
                # Scenario 6 reads these two rows: the same 1M sync with and without @flow.
                tools.append((plain_sync_tool(prefect_api_url), repeat))
            if not large or latency in s.sequential_floor_large_latencies_ms:
                # Sequential at 20 ms is latency-bound (pages x 20 ms): one run says it all.
                tools.append((FloorTool(FLOOR_SEQ, concurrency=1), 1 if latency else repeat))
            if not large:
                if dlt_python is None:
                    missing.append(Result(SCENARIO, "", DLT, skipped=dlt_problem))
                elif latency in s.dlt_latencies_ms:
                    tools.append((DltTool(DLT, python=dlt_python, mode="full"), s.dlt_repeat))
                else:
                    missing.append(
                        Result(SCENARIO, "", DLT, skipped="quick mode runs dlt at 0 ms only")
                    )
            measured = _run_size(ctx, jobs=jobs, latency_ms=latency, tools=tools, missing=missing)
            for result in measured:
                if result.tool == OURS and latency:
                    result.note = f"--concurrency {s.latency_concurrency}"
            results += measured
    _annotate(results)
    return results, _targets(ctx, results)


def _find(results: list[Result], case: str, tool: str) -> Result | None:
    for result in results:
        if result.case == case and result.tool == tool and result.samples:
            return result
    return None


def _annotate(results: list[Result]) -> None:
    """Ratio notes: each tool's median wall time against ours in the same case."""
    for result in results:
        ours = _find(results, result.case, OURS)
        if ours is None or result.tool in (OURS, WITHOUT_FLOW) or not result.samples:
            continue
        ours_wall, wall = ours.median("wall_s"), result.median("wall_s")
        ours_rss, rss = ours.median("peak_rss_bytes"), result.median("peak_rss_bytes")
        if ours_wall and wall:
            note = f"jobsphere takes {ours_wall / wall:.2f}x this wall time"
            if result.tool == DLT and ours_rss and rss:
                note = (
                    f"{wall / ours_wall:.1f}x slower than jobsphere, {rss / ours_rss:.1f}x its RSS"
                )
            result.note = (result.note + "; " if result.note else "") + note


def _ratio_target(
    results: list[Result], case: str, name: str, requirement: str, limit: float
) -> Target:
    ours, floor = _find(results, case, OURS), _find(results, case, FLOOR_8)
    if ours is None or floor is None:
        return Target(name, requirement, f"{case}: not measured", None)
    ratio = (ours.median("wall_s") or 0) / (floor.median("wall_s") or 1)
    return Target(name, requirement, f"{ratio:.2f}x ({case})", ratio <= limit)


def _dlt_target(results: list[Result], case: str, name: str, requirement: str, x: float) -> Target:
    ours, dlt = _find(results, case, OURS), _find(results, case, DLT)
    if ours is None or dlt is None:
        return Target(name, requirement, f"{case}: not measured", None)
    speedup = (dlt.median("wall_s") or 0) / (ours.median("wall_s") or 1)
    rss = (ours.median("peak_rss_bytes") or 0) / (dlt.median("peak_rss_bytes") or 1)
    observed = f"{speedup:.1f}x faster, {rss:.3f} of dlt's RSS ({case})"
    return Target(name, requirement, observed, speedup >= x and rss <= 0.1)


def short(jobs: int) -> str:
    """1,000,000 -> "1M", 100,000 -> "100k": for target names."""
    if jobs >= 1_000_000 and jobs % 1_000_000 == 0:
        return f"{jobs // 1_000_000}M"
    return f"{jobs // 1000}k" if jobs % 1000 == 0 else f"{jobs:,}"


def _targets(ctx: Context, results: list[Result]) -> list[Target]:
    s = ctx.settings
    large, small = short(s.large_jobs), short(s.small_jobs)
    large0, large20 = _case(s.large_jobs, 0), _case(s.large_jobs, 20)
    small0, small20 = _case(s.small_jobs, 0), _case(s.small_jobs, 20)
    floor_req = "≤{}x the 8-concurrent floor's wall time"
    dlt_req = "≥{}x faster than dlt, ≤1/10 of its peak RSS"
    targets = [
        _ratio_target(results, large0, f"{large} full sync, 0 ms", floor_req.format(1.5), 1.5),
        _ratio_target(results, large20, f"{large} full sync, 20 ms", floor_req.format(1.25), 1.25),
        _dlt_target(results, small0, f"{small} full sync, 0 ms", dlt_req.format(8), 8),
        _dlt_target(results, small20, f"{small} full sync, 20 ms", dlt_req.format(12), 12),
    ]
    name = f"peak RSS of the {large} full sync"
    ours = _find(results, large0, OURS)
    if ours is None:
        targets.append(Target(name, "≤500 MB", "not measured", None))
    else:
        rss = ours.median("peak_rss_bytes") or 0
        targets.append(Target(name, "≤500 MB", f"{rss / 1e6:.0f} MB ({large0})", rss <= 500e6))
    return targets
