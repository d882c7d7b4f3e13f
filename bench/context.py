"""Settings of one benchmark invocation and the helpers every scenario shares.

Sizes differ between the full run (the figures the issue asks for) and ``--quick`` (a smoke run
under two minutes); everything else is the same code path, so the quick run exercises all of it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.results import Result

__all__ = ["BENCH_DIR", "REPO_ROOT", "Context", "Settings", "jobsphere_command"]

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent


@dataclass(frozen=True)
class Settings:
    """Sizes and repeats; see :meth:`full` and :meth:`quick`."""

    quick: bool
    repeat: int
    small_jobs: int  # the dlt comparison and the incremental runs
    large_jobs: int  # the fetch-floor comparison and the memory figure
    latencies_ms: tuple[float, ...] = (0.0, 20.0)
    dlt_latencies_ms: tuple[float, ...] = (0.0, 20.0)
    dlt_repeat: int = 1
    large_repeat: int = 2  # 1M-job runs take tens of seconds each
    # At 20 ms the 1M runs are latency-bound and steady; one each keeps the run under 15 minutes.
    large_latency_repeat: int = 1
    # Requests in flight for our sync when the sandbox adds latency (the floor keeps its 8).
    latency_concurrency: int = 16
    sequential_floor_large_latencies_ms: tuple[float, ...] = ()
    ephemeral_incremental: bool = True
    # Ephemeral Prefect costs ~20 s per process and varies little: contrast rows, run fewer times.
    ephemeral_repeat: int = 1
    incremental_jobs: int = 20_000
    # Only when scenario 1 did not run: it measures the sync with and without @flow at 1M jobs.
    orchestration_jobs: int = 50_000
    transform_rows: int = 1_000_000
    webhook_burst_events: int = 5_000
    webhook_paced_seconds: float = 10.0
    webhook_rate: float = 200.0

    @classmethod
    def full(cls, repeat: int | None = None) -> Settings:
        return cls(
            quick=False,
            repeat=repeat or 3,
            small_jobs=100_000,
            large_jobs=1_000_000,
            dlt_repeat=1,
            large_repeat=min(repeat or 3, 2),
        )

    @classmethod
    def quick_run(cls, repeat: int | None = None) -> Settings:
        return cls(
            quick=True,
            repeat=repeat or 1,
            small_jobs=5_000,
            large_jobs=50_000,
            dlt_latencies_ms=(0.0,),
            dlt_repeat=1,
            large_repeat=1,
            ephemeral_incremental=False,
            incremental_jobs=5_000,
            orchestration_jobs=10_000,
            transform_rows=50_000,
            webhook_burst_events=500,
            webhook_paced_seconds=2.0,
        )


@dataclass
class Context:
    """Per-invocation state: settings, a scratch directory and the child environment."""

    settings: Settings
    work_dir: Path
    started: float = field(default_factory=time.monotonic)
    # Rows of the scenarios already run, so a later scenario can reuse a measurement.
    results_so_far: list[Result] = field(default_factory=list)

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[bench {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)

    def fresh_dir(self, name: str) -> Path:
        """An empty directory under the scratch area (emptied if a previous run left it)."""
        path = self.work_dir / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for measured children: no telemetry, a private Prefect home.

        ``PREFECT_API_URL`` is removed unless given, so a child runs ephemeral Prefect unless the
        scenario deliberately points it at the bench's own server.
        """
        # PYTHONDONTWRITEBYTECODE (set on some machines) would recompile every module in every
        # measured process; an installed package has its bytecode, so children may cache theirs.
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("PREFECT_API_URL", "PYTHONDONTWRITEBYTECODE")
            and not key.startswith("JOBSPHERE_")
        }
        env.update(
            {
                "PYTHONPATH": str(REPO_ROOT),
                "PREFECT_HOME": str(self.work_dir / "prefect-home"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
                "PREFECT_LOGGING_LEVEL": env.get("PREFECT_LOGGING_LEVEL", "WARNING"),
                "RUNTIME__DLTHUB_TELEMETRY": "false",
                # Ephemeral Prefect gives its server 20 s to start; a busy machine needs more.
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            }
        )
        env.update(extra)
        return env


def jobsphere_command() -> list[str] | None:
    """How to start our CLI as a whole process, or None while ``flows.cli`` does not exist."""
    if not (REPO_ROOT / "flows" / "cli.py").exists():
        return None
    script = Path(sys.executable).parent / "jobsphere"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from flows.cli import main; sys.exit(main())"]
