"""Scenario 3: normalization and normalize + upsert alone, on the sandbox's seeded jobs.

The work happens in ``bench.scenarios.transform_worker`` in a fresh process; this module runs it
(also measuring that process's peak RSS) and turns its rows/s samples into result rows.
"""

from __future__ import annotations

import json
import sys

from bench.context import REPO_ROOT, Context
from bench.measure import MeasureError, measure
from bench.results import Result, Target, failure_reason

__all__ = ["SCENARIO", "TITLE", "run"]

SCENARIO = "transforms"
TITLE = "3. Transforms and loading alone (in-process timings)"
_RESYNCS = 10  # re-syncs in a row for "resync_later"
_STEPS = {
    "frame": "records → raw frame (jobs_frame)",
    "normalize": "normalize_jobs",
    "load_empty": "normalize + upsert, empty warehouse",
    "resync": "normalize + upsert, re-sync with 1% changed",
    "resync_later": f"normalize + upsert, re-sync no. {_RESYNCS} in a row (another 1% each)",
}
_NEEDED = ("transforms/normalize.py", "transforms/records.py", "warehouse/load.py")


def run(ctx: Context, prefect_api_url: str | None) -> tuple[list[Result], list[Target]]:
    del prefect_api_url
    rows = ctx.settings.transform_rows
    case = f"{rows:,} jobs"
    missing = [path for path in _NEEDED if not (REPO_ROOT / path).exists()]
    results = {step: Result(SCENARIO, case, label) for step, label in _STEPS.items()}
    if missing:
        for result in results.values():
            result.skipped = f"missing {', '.join(missing)}"
        return list(results.values()), _targets(results, case)
    ctx.log(f"{SCENARIO}: {rows:,} rows x {ctx.settings.repeat} in a worker process")
    command = [
        sys.executable,
        "-m",
        "bench.scenarios.transform_worker",
        "--rows",
        str(rows),
        "--repeat",
        str(ctx.settings.repeat),
        "--resyncs",
        str(_RESYNCS),
    ]
    try:
        m = measure(command, env=ctx.env(), cwd=REPO_ROOT, timeout_s=1200)
        samples = json.loads(m.stdout.strip().splitlines()[-1])["rows_per_s"]
    except (MeasureError, ValueError, KeyError, IndexError) as exc:
        for result in results.values():
            result.skipped = failure_reason(exc)
        return list(results.values()), _targets(results, case)
    for step, result in results.items():
        result.samples = [{"rows_per_s": value} for value in samples[step]]
    peak_mib = m.peak_rss_bytes / 2**20
    results[
        "load_empty"
    ].note = f"worker process peak RSS {peak_mib:.0f} MiB (records dropped after framing)"
    return list(results.values()), _targets(results, case)


def _targets(results: dict[str, Result], case: str) -> list[Target]:
    checks = (
        ("normalize", "normalization", 1_000_000),
        ("load_empty", "normalize + upsert, empty warehouse", 250_000),
        ("resync", "normalize + upsert, 1% changed", 250_000),
        ("resync_later", f"normalize + upsert, 1% re-sync no. {_RESYNCS} in a row", 250_000),
    )
    targets = []
    for step, name, floor in checks:
        requirement = f"≥{floor:,} rows/s"
        value = results[step].median("rows_per_s")
        if value is None:
            targets.append(Target(name, requirement, "not measured", None))
        else:
            targets.append(
                Target(name, requirement, f"{value:,.0f} rows/s ({case})", value >= floor)
            )
    return targets
