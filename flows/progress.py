"""Progress for long work: a rich bar on a terminal, quiet periodic log lines elsewhere.

Cron jobs and CI capture output to files, where a redrawn bar is noise; a person at a terminal
wants pages, jobs, rate and ETA. One small interface serves both, so the pipeline does not care.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["LogProgress", "NullProgress", "ProgressSink", "RichProgress", "make_progress"]

logger = logging.getLogger("jobsphere.progress")


class ProgressSink(Protocol):
    def set_total(self, pages: int | None) -> None: ...

    def advance(self, pages: int, jobs: int) -> None: ...

    def close(self) -> None: ...


class NullProgress:
    def set_total(self, pages: int | None) -> None:
        pass

    def advance(self, pages: int, jobs: int) -> None:
        pass

    def close(self) -> None:
        pass


class LogProgress:
    """One log line every ``every`` seconds with pages, jobs and the job rate."""

    def __init__(self, label: str, every: float = 10.0) -> None:
        self._label = label
        self._every = every
        self._pages = 0
        self._jobs = 0
        self._total: int | None = None
        self._start = time.monotonic()
        self._last = self._start

    def set_total(self, pages: int | None) -> None:
        self._total = pages

    def advance(self, pages: int, jobs: int) -> None:
        self._pages += pages
        self._jobs += jobs
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._log(now)

    def _log(self, now: float) -> None:
        rate = self._jobs / max(now - self._start, 1e-9)
        of = f"/{self._total}" if self._total else ""
        logger.info(
            "%s: %d%s pages, %d jobs, %.0f jobs/s", self._label, self._pages, of, self._jobs, rate
        )

    def close(self) -> None:
        if self._pages:
            self._log(time.monotonic())


class RichProgress:
    """A live bar on stderr: pages done of total, jobs, rate and ETA."""

    def __init__(self, label: str, console: Console | None = None) -> None:
        self._jobs = 0
        self._start = time.monotonic()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages · {task.fields[jobs]:,} jobs · {task.fields[rate]:,.0f} jobs/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(label, total=None, jobs=0, rate=0.0)
        self._progress.start()

    def set_total(self, pages: int | None) -> None:
        self._progress.update(self._task, total=pages)

    def advance(self, pages: int, jobs: int) -> None:
        self._jobs += jobs
        rate = self._jobs / max(time.monotonic() - self._start, 1e-9)
        self._progress.update(self._task, advance=pages, jobs=self._jobs, rate=rate)

    def close(self) -> None:
        self._progress.stop()


def make_progress(label: str, *, enabled: bool = True) -> ProgressSink:
    """A rich bar when stderr is a terminal, log lines otherwise, nothing when disabled."""
    if not enabled:
        return NullProgress()
    if sys.stderr.isatty():
        return RichProgress(label)
    return LogProgress(label)
