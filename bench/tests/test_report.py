"""bench.report and bench.results: summaries, verdicts and both output files."""

from __future__ import annotations

import json
from pathlib import Path

from bench.report import machine_info, render_markdown, write_reports
from bench.results import Result, Target, summarize

_META = {
    "command": "python -m bench.run",
    "date": "2026-01-01 00:00 UTC",
    "duration_s": 90.0,
    "mode": "full",
    "repeat": 3,
}


def _results() -> list[Result]:
    ours = Result("full_sync", "100,000 jobs, 0 ms", "jobsphere sync")
    ours.samples = [
        {"wall_s": 2.0, "peak_rss_bytes": 300 * 2**20, "requests": 1000},
        {"wall_s": 3.0, "peak_rss_bytes": 310 * 2**20, "requests": 1000},
        {"wall_s": 2.5, "peak_rss_bytes": 305 * 2**20, "requests": 1000},
    ]
    missing = Result("full_sync", "100,000 jobs, 0 ms", "dlt", skipped="dlt venv missing")
    return [ours, missing]


def test_summarize_median_and_spread() -> None:
    summary = summarize([3.0, 1.0, 2.0, 10.0])
    assert summary is not None
    assert (summary.median, summary.low, summary.high, summary.n) == (2.5, 1.0, 10.0, 4)
    assert summarize([]) is None


def test_markdown_shows_median_spread_verdicts_and_skips() -> None:
    targets = [
        Target("a", "≤1.5x", "1.2x", True),
        Target("b", "≥8x", "3x", False),
        Target("c", "≤2 s", "not measured", None),
    ]
    text = render_markdown(
        _results(),
        targets,
        machine=machine_info(),
        versions={"polars": "2.1.0"},
        meta=_META,
        scenario_titles={"full_sync": "1. Full sync"},
    )
    assert "## 1. Full sync" in text
    assert "2.50 s (2.00 s–3.00 s)" in text
    assert "305 MiB (300 MiB–310 MiB)" in text
    assert "not run: dlt venv missing" in text
    assert "| a | ≤1.5x | 1.2x | met |" in text
    assert "| b | ≥8x | 3x | **not met** |" in text
    assert "| c | ≤2 s | not measured | not measured |" in text
    assert "polars 2.1.0" in text


def test_json_carries_every_sample(tmp_path: Path) -> None:
    write_reports(
        tmp_path / "docs" / "b.md",
        tmp_path / "r.json",
        _results(),
        [Target("a", "≤1.5x", "1.2x", True)],
        machine=machine_info(),
        versions={},
        meta=_META,
        scenario_titles={},
    )
    payload = json.loads((tmp_path / "r.json").read_text())
    ours, missing = payload["results"]
    assert len(ours["samples"]) == 3
    assert ours["summary"]["wall_s"]["median"] == 2.5
    assert missing["status"] == "not run: dlt venv missing"
    assert payload["targets"][0]["met"] is True
    assert (tmp_path / "docs" / "b.md").read_text().startswith("# Benchmarks")


def test_machine_info_is_real() -> None:
    info = machine_info()
    assert info["cores"] >= 1
    assert info["memory_bytes"] > 0
