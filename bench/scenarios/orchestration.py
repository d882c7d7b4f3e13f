"""Scenario 6: what Prefect costs — a no-op flow as a whole process, and the sync with and without
its ``@flow`` wrapper.

The fixed cost is the no-op flow's wall time minus a bare interpreter's. The wrapper's cost
beyond that is ``(sync with flow - sync without - fixed cost) / sync without``; the issue allows
5%. Everything runs against the bench's Prefect server; the no-op flow also runs ephemeral.

The sync pair is the 1,000,000-job, 0 ms full sync of scenario 1, which runs ``jobsphere sync``
and ``bench.plain_sync`` interleaved against one sandbox; only when scenario 1 was not part of
this invocation does this scenario load ``orchestration_jobs`` itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.context import Context, jobsphere_command
from bench.measure import MeasureError, measure
from bench.results import Result, Target, failure_reason
from bench.sandbox_proc import Sandbox
from bench.scenarios import full_sync
from bench.tools import WITHOUT_FLOW, JobsphereSync, Tool, measure_tools, plain_sync_tool

__all__ = ["SCENARIO", "TITLE", "run"]

SCENARIO = "orchestration"
TITLE = "6. Orchestration overhead (Prefect)"
BARE = "python -c pass"
NOOP_SERVER = "no-op @flow (Prefect server)"
NOOP_EPHEMERAL = "no-op @flow (ephemeral)"
WITH_FLOW = "jobsphere sync (with @flow)"
_NOOP_CODE = "from prefect import flow\n@flow\ndef noop():\n    return None\nnoop()\n"


def _process_rows(ctx: Context, prefect_api_url: str | None) -> list[Result]:
    """Bare interpreter and no-op flow, interleaved."""
    runs: list[tuple[str, list[str], dict[str, str]]] = [
        (BARE, [sys.executable, "-c", "pass"], ctx.env()),
        (NOOP_EPHEMERAL, [sys.executable, "-c", _NOOP_CODE], ctx.env()),
    ]
    if prefect_api_url:
        server_env = ctx.env(PREFECT_API_URL=prefect_api_url)
        runs.insert(1, (NOOP_SERVER, [sys.executable, "-c", _NOOP_CODE], server_env))
    case = "whole process"
    results = {name: Result(SCENARIO, case, name) for name, _, _ in runs}
    if not prefect_api_url:
        results[NOOP_SERVER] = Result(SCENARIO, case, NOOP_SERVER, skipped="no Prefect server")
    for repeat in range(ctx.settings.repeat):
        for name, command, env in runs:
            result = results[name]
            if result.skipped is not None:
                continue
            if name == NOOP_EPHEMERAL and repeat >= ctx.settings.ephemeral_repeat:
                continue
            ctx.log(f"{SCENARIO}: {name} run {repeat + 1}")
            try:
                m = measure(command, env=env, cwd=ctx.work_dir)
            except MeasureError as exc:
                result.skipped = failure_reason(exc)
                continue
            result.samples.append(
                {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_bytes": float(m.peak_rss_bytes)}
            )
    return list(results.values())


def _from_scenario_1(ctx: Context) -> tuple[str, Result, Result] | None:
    """The 1M, 0 ms sync pair measured by scenario 1 in this invocation, if it was."""
    case = full_sync.large_case(ctx.settings)
    found = {
        r.tool: r
        for r in ctx.results_so_far
        if r.scenario == full_sync.SCENARIO and r.case == case and r.samples
    }
    if full_sync.OURS in found and WITHOUT_FLOW in found:
        return case, found[full_sync.OURS], found[WITHOUT_FLOW]
    return None


def run(ctx: Context, prefect_api_url: str | None) -> tuple[list[Result], list[Target]]:
    results = _process_rows(ctx, prefect_api_url)
    reused = _from_scenario_1(ctx)
    if reused is not None:
        case, with_flow, without = reused
        pair = [
            Result(SCENARIO, case, WITH_FLOW, samples=with_flow.samples, note="from scenario 1"),
            Result(SCENARIO, case, WITHOUT_FLOW, samples=without.samples, note="from scenario 1"),
        ]
        results += pair
        return results, _targets(results, case)
    cli = jobsphere_command()
    jobs = ctx.settings.orchestration_jobs
    case = f"full load, {jobs:,} jobs"
    if cli is None or not prefect_api_url:
        why = "the jobsphere CLI is missing" if cli is None else "no Prefect server"
        results += [Result(SCENARIO, case, WITH_FLOW, skipped=why)]
        results += [Result(SCENARIO, case, WITHOUT_FLOW, skipped=why)]
        return results, _targets(results, case)
    env = {"PREFECT_API_URL": prefect_api_url}
    tools: list[tuple[Tool, int]] = [
        (
            JobsphereSync(WITH_FLOW, cli=cli, args=("--no-progress",), extra_env=env),
            ctx.settings.repeat,
        ),
        (plain_sync_tool(prefect_api_url), ctx.settings.repeat),
    ]

    def fresh(tool: Tool, repeat: int) -> Path:
        return ctx.fresh_dir(f"orchestration/{'with' if tool.name == WITH_FLOW else 'without'}")

    with Sandbox(jobs=jobs, log_dir=ctx.work_dir / "logs") as sandbox:
        results += measure_tools(
            ctx,
            scenario=SCENARIO,
            case=case,
            sandbox=sandbox,
            tools=tools,
            expect_rows=jobs,
            fresh=fresh,
        )
    return results, _targets(results, case)


def _median(results: list[Result], tool: str) -> float | None:
    for result in results:
        if result.tool == tool and result.samples:
            return result.median("wall_s")
    return None


def _targets(results: list[Result], case: str) -> list[Target]:
    name = "orchestration beyond Prefect's fixed cost"
    requirement = "≤5% of the sync's own wall time"
    bare, noop = _median(results, BARE), _median(results, NOOP_SERVER)
    with_flow, without = _median(results, WITH_FLOW), _median(results, WITHOUT_FLOW)
    if None in (bare, noop, with_flow, without) or not without:
        return [Target(name, requirement, "not measured", None)]
    assert bare is not None and noop is not None and with_flow is not None
    fixed = noop - bare
    overhead = (with_flow - without - fixed) / without
    for result in results:
        if result.tool == WITH_FLOW:
            measured = f"{result.note}; " if result.note else ""
            result.note = f"{measured}fixed cost {fixed:.2f} s; beyond it {overhead * 100:+.1f}%"
    observed = f"{overhead * 100:+.1f}% (fixed cost {fixed:.2f} s, {case})"
    return [Target(name, requirement, observed, overhead <= 0.05)]
