"""Scenario 2: incremental runs after a full load — nothing changed, then 1% new jobs.

Both tools first load the same sandbox once (not measured). Then each measured round is: both
tools with no change; the sandbox creates 1% new jobs through its own API; both tools again. Our
sync runs as a whole process against the bench's Prefect server (the production set-up, and the
one the ≤4 s target names) and, for contrast, in Prefect's ephemeral mode (no-change case only,
``ephemeral_repeat`` times: its ~20 s start-up dominates and varies little).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bench.context import Context, Settings, jobsphere_command
from bench.measure import MeasureError
from bench.peers.dlt_venv import ensure_dlt_python
from bench.results import Result, Target, failure_reason
from bench.sandbox_proc import Sandbox
from bench.tools import DltTool, JobsphereSync, Tool, run_sample

__all__ = ["SCENARIO", "TITLE", "run"]

SCENARIO = "incremental"
TITLE = "2. Incremental sync after a full load"
OURS_SERVER = "jobsphere sync (Prefect server)"
OURS_EPHEMERAL = "jobsphere sync (ephemeral Prefect)"
DLT = "dlt incremental on posted_at"
NO_CHANGE = "no change"


def run(ctx: Context, prefect_api_url: str | None) -> tuple[list[Result], list[Target]]:
    s = ctx.settings
    jobs = s.incremental_jobs
    new_jobs = max(1, jobs // 100)
    cases = (f"{jobs:,} jobs, {NO_CHANGE}", f"{jobs:,} jobs, +{new_jobs:,} new (1%)")
    tools: list[Tool] = []
    skipped: list[tuple[str, str]] = []
    cli = jobsphere_command()
    if cli is None:
        skipped += [
            (OURS_SERVER, "the jobsphere CLI is missing"),
            (OURS_EPHEMERAL, "the jobsphere CLI is missing"),
        ]
    else:
        if prefect_api_url:
            tools.append(
                JobsphereSync(
                    OURS_SERVER,
                    cli=cli,
                    args=("--no-progress",),
                    extra_env={"PREFECT_API_URL": prefect_api_url},
                )
            )
        else:
            skipped.append((OURS_SERVER, "the bench's Prefect server did not start"))
        if s.ephemeral_incremental:
            tools.append(JobsphereSync(OURS_EPHEMERAL, cli=cli, args=("--no-progress",)))
        else:
            skipped.append((OURS_EPHEMERAL, "quick mode runs the Prefect-server variant only"))
    try:
        tools.append(DltTool(DLT, python=ensure_dlt_python(), mode="incremental"))
    except (OSError, subprocess.SubprocessError) as exc:
        skipped.append((DLT, f"dlt venv could not be created: {exc}"))

    results = {
        (case, tool.name): Result(SCENARIO, case, tool.name)
        for case in cases
        for tool in tools
        if _measured_in(tool, case, cases)
    }
    for name, why in skipped:
        for case in cases:
            results[(case, name)] = Result(SCENARIO, case, name, skipped=why)

    dirs = {
        tool.name: ctx.fresh_dir(f"incremental/{tool.name.split()[0]}-{i}")
        for i, tool in enumerate(tools)
    }
    with Sandbox(jobs=jobs, log_dir=ctx.work_dir / "logs") as sandbox:
        live = [
            tool
            for tool in tools
            if _initial_load(ctx, tool, sandbox, dirs[tool.name], jobs, results, cases)
        ]
        expected = jobs
        for repeat in range(max(_repeat(s, tool) for tool in tools) if tools else 0):
            for case_index, case in enumerate(cases):
                if case_index == 1:
                    sandbox.mutate(creates=new_jobs)
                    expected += new_jobs
                for tool in live:
                    if not _measured_in(tool, case, cases):
                        continue
                    result = results[(case, tool.name)]
                    count = _repeat(s, tool)
                    if result.skipped is not None or repeat >= count:
                        continue
                    ctx.log(f"{SCENARIO} / {case}: {tool.name} run {repeat + 1}")
                    try:
                        sample = run_sample(
                            ctx, tool, sandbox, dirs[tool.name], expect_rows=expected
                        )
                    except (MeasureError, OSError, ValueError) as exc:
                        result.skipped = failure_reason(exc)
                        continue
                    result.samples.append(sample)
                    ctx.log(f"  {sample['wall_s']:.2f} s, {sample['requests']:.0f} requests")
    ordered = [results[key] for key in sorted(results, key=lambda k: (cases.index(k[0]), k[1]))]
    return ordered, _targets(ordered, cases[0])


def _measured_in(tool: Tool, case: str, cases: tuple[str, str]) -> bool:
    """The ephemeral variant is a contrast row for start-up cost: the no-change case says it."""
    return tool.name != OURS_EPHEMERAL or case == cases[0]


def _repeat(settings: Settings, tool: Tool) -> int:
    if isinstance(tool, DltTool):
        return settings.dlt_repeat
    if tool.name == OURS_EPHEMERAL:
        return min(settings.ephemeral_repeat, settings.repeat)
    return settings.repeat


def _initial_load(
    ctx: Context,
    tool: Tool,
    sandbox: Sandbox,
    run_dir: Path,
    jobs: int,
    results: dict[tuple[str, str], Result],
    cases: tuple[str, str],
) -> bool:
    """The unmeasured first load; a tool that cannot do it is marked failed in both cases."""
    ctx.log(f"{SCENARIO}: initial load of {jobs:,} jobs with {tool.name}")
    try:
        run_sample(ctx, tool, sandbox, run_dir, expect_rows=jobs)
    except (MeasureError, OSError, ValueError) as exc:
        why = "initial load " + failure_reason(exc)
        for case in cases:
            results[(case, tool.name)].skipped = why
        return False
    return True


def _targets(results: list[Result], no_change: str) -> list[Target]:
    requirement = "≤2 requests and ≤4 s as a whole process, Prefect server running"
    name = "incremental sync, no change"
    find: Callable[[str], Result | None] = lambda tool: next(  # noqa: E731
        (r for r in results if r.case == no_change and r.tool == tool and r.samples), None
    )
    ours = find(OURS_SERVER)
    if ours is None:
        return [Target(name, requirement, "not measured", None)]
    wall = ours.median("wall_s") or 0.0
    requests = max(sample["requests"] for sample in ours.samples)
    observed = f"{requests:.0f} requests (max), {wall:.2f} s (median)"
    return [Target(name, requirement, observed, requests <= 2 and wall <= 4.0)]
