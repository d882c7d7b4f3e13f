"""What a benchmark run produces: result rows (samples of one tool in one case) and targets.

Scenario modules build these; :mod:`bench.report` renders them. Keeping them plain dataclasses
with ``to_json`` makes ``bench/results.json`` a faithful copy of what the markdown shows.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Result", "Summary", "Target", "failure_reason", "summarize"]


def failure_reason(exc: BaseException) -> str:
    """One line for a "not run: failed: ..." cell: what ran and the last thing it said."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return f"failed: {type(exc).__name__}"
    if len(lines) == 1:
        return f"failed: {lines[0][:200]}"
    return f"failed: {lines[0][:100]} … {lines[-1][:200]}"


@dataclass(frozen=True)
class Summary:
    """Median with the min–max spread of one metric over the repeats."""

    median: float
    low: float
    high: float
    n: int


def summarize(values: list[float]) -> Summary | None:
    """``None`` for no values, so a missing metric is visibly missing rather than zero."""
    if not values:
        return None
    return Summary(statistics.median(values), min(values), max(values), len(values))


@dataclass
class Result:
    """Every measured repeat of one tool in one case of one scenario.

    ``samples`` are dicts of metric name to number (``wall_s``, ``cpu_s``, ``peak_rss_bytes``,
    ``requests``, ``rows``, ``rows_per_s``, ...). ``skipped`` holds the reason when it did not run.
    """

    scenario: str
    case: str
    tool: str
    samples: list[dict[str, float]] = field(default_factory=list)
    skipped: str | None = None
    note: str = ""

    def metric(self, name: str) -> Summary | None:
        return summarize([s[name] for s in self.samples if name in s])

    def median(self, name: str) -> float | None:
        summary = self.metric(name)
        return summary.median if summary else None

    def to_json(self) -> dict[str, Any]:
        metrics = sorted({key for sample in self.samples for key in sample})
        return {
            "scenario": self.scenario,
            "case": self.case,
            "tool": self.tool,
            "status": "ok" if self.skipped is None else f"not run: {self.skipped}",
            "note": self.note,
            "samples": self.samples,
            "summary": {
                name: vars(summary)
                for name in metrics
                if (summary := self.metric(name)) is not None
            },
        }


@dataclass(frozen=True)
class Target:
    """One promise from the issue, checked against a measured figure.

    ``met`` is ``None`` when the figure could not be measured; ``observed`` says what was seen
    (or why nothing was).
    """

    name: str
    requirement: str
    observed: str
    met: bool | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requirement": self.requirement,
            "observed": self.observed,
            "met": self.met,
        }
