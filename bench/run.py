"""``python -m bench.run [--quick] [--only SCENARIO] [--repeat N]``: the whole benchmark.

Starts its own sandboxes (and a Prefect server) on free loopback ports, runs each scenario,
and writes ``docs/benchmarks.md`` and ``bench/results.json``. A scenario whose parts are missing
or failing is reported as "not run: <why>" instead of stopping the others.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.context import BENCH_DIR, REPO_ROOT, Context, Settings, jobsphere_command
from bench.prefect_server import PrefectServer, PrefectServerError
from bench.report import machine_info, package_versions, write_reports
from bench.results import Result, Target, failure_reason
from bench.scenarios import full_sync, incremental, orchestration, transforms_loading, webhooks_load

__all__ = ["SCENARIOS", "main"]

Runner = Callable[[Context, str | None], tuple[list[Result], list[Target]]]

# name -> (title, runner, needs the Prefect server); run in this order.
SCENARIOS: dict[str, tuple[str, Runner, bool]] = {
    full_sync.SCENARIO: (full_sync.TITLE, full_sync.run, True),
    incremental.SCENARIO: (incremental.TITLE, incremental.run, True),
    transforms_loading.SCENARIO: (transforms_loading.TITLE, transforms_loading.run, False),
    webhooks_load.SCENARIO: (webhooks_load.TITLE, webhooks_load.run, False),
    orchestration.SCENARIO: (orchestration.TITLE, orchestration.run, True),
}
_NOT_OURS = re.compile(r"bench[/\\](\.dlt-venv|work)[/\\]")
_ALIASES = {"memory": full_sync.SCENARIO, "sync": full_sync.SCENARIO}


def _dlt_version() -> str:
    marker = BENCH_DIR / ".dlt-venv" / ".installed-requirements"
    if marker.exists():
        return marker.read_text().strip().replace("dlt[duckdb]==", "")
    return "not installed yet"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (<2 min)")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted([*SCENARIOS, *_ALIASES]),
        help="run just this scenario (repeatable)",
    )
    parser.add_argument("--repeat", type=int, default=None, help="repeats per figure")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        help="default docs/benchmarks.md (quick: bench/work/quick-benchmarks.md)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="default bench/results.json (quick: bench/work/quick-results.json)",
    )
    parser.add_argument("--work-dir", type=Path, default=BENCH_DIR / "work")
    parser.add_argument("--keep-work", action="store_true", help="keep scratch files afterwards")
    return parser.parse_args(argv)


class _Terminated(Exception):
    """SIGTERM arrived: stop measuring, but still write what was measured."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    settings = Settings.quick_run(args.repeat) if args.quick else Settings.full(args.repeat)
    selected = [_ALIASES.get(name, name) for name in (args.only or SCENARIOS)]
    chosen = [name for name in SCENARIOS if name in selected]
    # A quick run must not overwrite the committed full figures.
    if args.markdown is None:
        quick_md = args.work_dir / "quick-benchmarks.md"
        args.markdown = quick_md if args.quick else REPO_ROOT / "docs" / "benchmarks.md"
    if args.json is None:
        args.json = (
            args.work_dir / "quick-results.json" if args.quick else BENCH_DIR / "results.json"
        )
    # Byte-compile the project once, as `pip install` does, so no measured process pays for it.
    for package in (
        "connectors",
        "transforms",
        "flows",
        "sandbox",
        "warehouse",
        "webhooks",
        "bench",
    ):
        compileall.compile_dir(REPO_ROOT / package, quiet=1, rx=_NOT_OURS)
    scratch = args.work_dir / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    ctx = Context(settings, scratch)
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    results: list[Result] = []
    targets: list[Target] = []
    command = "python -m bench.run" + (" --quick" if args.quick else "")
    command += "".join(f" --only {name}" for name in args.only or ())
    versions = package_versions({"dlt": _dlt_version()})

    def write(status: str) -> None:
        """Rewritten after every scenario, so an interrupted run still leaves its figures."""
        meta = {
            "command": command,
            "mode": "quick" if args.quick else "full",
            "status": status,
            "repeat": settings.repeat,
            "date": started_at.strftime("%Y-%m-%d %H:%M UTC"),
            "duration_s": time.monotonic() - ctx.started,
            "load_average_before": round(load_before[0], 2),
            "load_average_after": round(os.getloadavg()[0], 2),
            "scenarios": chosen,
        }
        write_reports(
            args.markdown,
            args.json,
            results,
            targets,
            machine=machine_info(),
            versions={**versions, "dlt": _dlt_version()},
            meta=meta,
            scenario_titles={name: SCENARIOS[name][0] for name in SCENARIOS},
        )

    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    server: PrefectServer | None = None
    status = "complete"
    try:
        if any(SCENARIOS[name][2] for name in chosen) and jobsphere_command() is not None:
            ctx.log("starting the bench's Prefect server")
            try:
                server = PrefectServer(ctx).start()
            except PrefectServerError as exc:
                ctx.log(f"no Prefect server: {exc}")
                server = None
        for index, name in enumerate(chosen):
            title, runner, _ = SCENARIOS[name]
            ctx.log(f"scenario {title}")
            try:
                rows, checks = runner(ctx, server.api_url if server else None)
            except (_Terminated, KeyboardInterrupt):
                raise
            except Exception as exc:  # one broken scenario must not cost the others' figures
                ctx.log(f"scenario {name} crashed:\n{traceback.format_exc()}")
                rows = [Result(name, "–", "(whole scenario)", skipped=failure_reason(exc))]
                checks = []
            results += rows
            targets += checks
            ctx.results_so_far += rows
            if index < len(chosen) - 1:
                write(f"partial: {index + 1} of {len(chosen)} scenarios done")
    except (KeyboardInterrupt, _Terminated):
        status = "interrupted"
        ctx.log("interrupted; writing what was measured so far")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server is not None:
            server.stop()
    write(status)
    if not args.keep_work:
        shutil.rmtree(scratch, ignore_errors=True)
    ctx.log(f"wrote {args.markdown} and {args.json}")
    return 0 if status == "complete" else 1


if __name__ == "__main__":
    raise SystemExit(main())
