"""Target verdicts computed from result rows: ratios against peers, thresholds, missing data."""

from __future__ import annotations

from pathlib import Path

from bench.context import Context, Settings
from bench.results import Result
from bench.scenarios import full_sync, orchestration


def _row(case: str, tool: str, wall: float, rss: float = 100e6) -> Result:
    return Result(
        full_sync.SCENARIO,
        case,
        tool,
        samples=[{"wall_s": wall, "peak_rss_bytes": rss}, {"wall_s": wall, "peak_rss_bytes": rss}],
    )


def test_full_sync_targets(tmp_path: Path) -> None:
    ctx = Context(Settings.full(), tmp_path)
    large0, large20 = "1,000,000 jobs, 0 ms", "1,000,000 jobs, 20 ms"
    small0 = "100,000 jobs, 0 ms"
    results = [
        _row(large0, full_sync.OURS, 14.0, rss=400e6),
        _row(large0, full_sync.FLOOR_8, 10.0),
        _row(large20, full_sync.OURS, 14.0),
        _row(large20, full_sync.FLOOR_8, 10.0),
        _row(small0, full_sync.OURS, 10.0, rss=300e6),
        _row(small0, full_sync.DLT, 100.0, rss=5e9),
    ]
    by_name = {t.name: t for t in full_sync._targets(ctx, results)}
    assert by_name["1M full sync, 0 ms"].met is True  # 1.4x <= 1.5x
    assert by_name["1M full sync, 20 ms"].met is False  # 1.4x > 1.25x
    assert by_name["100k full sync, 0 ms"].met is True  # 10x faster, 0.06 of the RSS
    assert by_name["100k full sync, 20 ms"].met is None  # not measured
    assert by_name["peak RSS of the 1M full sync"].met is True


def test_dlt_target_needs_memory_too(tmp_path: Path) -> None:
    ctx = Context(Settings.full(), tmp_path)
    small0 = "100,000 jobs, 0 ms"
    results = [
        _row(small0, full_sync.OURS, 10.0, rss=600e6),
        _row(small0, full_sync.DLT, 100.0, rss=5e9),
    ]
    target = next(t for t in full_sync._targets(ctx, results) if t.name == "100k full sync, 0 ms")
    assert target.met is False


def test_orchestration_overhead_subtracts_fixed_cost() -> None:
    case = "full load"
    results = [
        Result("o", "p", orchestration.BARE, samples=[{"wall_s": 0.05}]),
        Result("o", "p", orchestration.NOOP_SERVER, samples=[{"wall_s": 2.05}]),
        Result("o", case, orchestration.WITH_FLOW, samples=[{"wall_s": 12.4}]),
        Result("o", case, orchestration.WITHOUT_FLOW, samples=[{"wall_s": 10.0}]),
    ]
    (target,) = orchestration._targets(results, case)
    assert target.met is True  # (12.4 - 10 - 2) / 10 = 4%
    assert "+4.0%" in target.observed
    results[2].samples = [{"wall_s": 12.6}]
    assert orchestration._targets(results, case)[0].met is False


def test_short_names() -> None:
    assert full_sync.short(1_000_000) == "1M"
    assert full_sync.short(100_000) == "100k"
    assert full_sync.short(1_234) == "1,234"
