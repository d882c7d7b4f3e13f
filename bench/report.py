"""Writing ``docs/benchmarks.md`` and ``bench/results.json`` from one benchmark run.

The markdown leads with the targets (met or not), then one table per scenario with medians and
the min–max spread over the repeats, and ends with the machine and library versions, because a
figure means nothing without the hardware and versions it was taken on.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.results import Result, Summary, Target

__all__ = ["machine_info", "package_versions", "render_markdown", "write_reports"]

_VERSIONED = ("polars", "duckdb", "pyarrow", "prefect", "httpx", "orjson", "uvicorn", "fastapi")

# Column order and how each metric reads; metrics not listed are shown after these, raw.
_COLUMNS: dict[str, tuple[str, str]] = {
    "wall_s": ("wall", "s"),
    "cpu_s": ("CPU (user+sys)", "s"),
    "peak_rss_bytes": ("peak RSS", "bytes"),
    "requests": ("requests", "int"),
    "rows": ("rows", "int"),
    "rows_per_s": ("rows/s", "rate"),
    "events_per_s": ("events/s", "rate"),
    "p50_s": ("p50", "s"),
    "p95_s": ("p95", "s"),
    "p99_s": ("p99", "s"),
}


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, memory and OS: enough to judge whether a figure transfers."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_bytes = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_bytes = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_bytes": memory_bytes,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def package_versions(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Installed versions of the libraries on the measured paths (plus ``extra``, e.g. dlt)."""
    versions: dict[str, str] = {}
    for name in ("jobsphere-etl", *_VERSIONED):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions.update(extra or {})
    return versions


def _fmt_bytes(value: float) -> str:
    if value >= 1024**3:
        return f"{value / 1024**3:.2f} GiB"
    return f"{value / 1024**2:.0f} MiB"


def _fmt_number(value: float, kind: str) -> str:
    if kind == "bytes":
        return _fmt_bytes(value)
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "rate":
        return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value:,.0f}"
    if kind == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.4g}"


def _fmt_summary(summary: Summary | None, kind: str) -> str:
    if summary is None:
        return "–"
    text = _fmt_number(summary.median, kind)
    if summary.n > 1 and summary.high > summary.low:
        text += f" ({_fmt_number(summary.low, kind)}–{_fmt_number(summary.high, kind)})"
    return text


def _columns(results: Sequence[Result]) -> list[str]:
    present = {key for result in results for sample in result.samples for key in sample}
    ordered = [name for name in _COLUMNS if name in present]
    return ordered + sorted(present - set(ordered))


def _scenario_table(results: Sequence[Result]) -> list[str]:
    columns = _columns(results)
    header = ["case", "tool", *(_COLUMNS.get(c, (c, ""))[0] for c in columns), "runs", "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for result in results:
        if result.skipped is not None:
            cells = [result.case, result.tool, *("–" for _ in columns), "0"]
            cells.append(f"not run: {result.skipped}")
        else:
            cells = [result.case, result.tool]
            cells += [_fmt_summary(result.metric(c), _COLUMNS.get(c, (c, ""))[1]) for c in columns]
            cells += [str(len(result.samples)), result.note]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return lines


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def render_markdown(
    results: Sequence[Result],
    targets: Sequence[Target],
    *,
    machine: dict[str, Any],
    versions: dict[str, str],
    meta: dict[str, Any],
    scenario_titles: dict[str, str],
) -> str:
    """The whole ``docs/benchmarks.md`` text."""
    lines = [
        "# Benchmarks",
        "",
        *(
            [f"> **This run is {meta['status']}**: scenarios not listed below did not run.", ""]
            if meta.get("status", "complete") != "complete"
            else []
        ),
        f"Produced by `{meta['command']}` on {meta['date']} in {meta['duration_s'] / 60:.1f} "
        f"minutes ({meta['mode']} mode, {meta['repeat']} repeat(s) per figure unless a row says "
        "otherwise). Every figure is the median, with the min–max spread over the repeats in "
        "brackets. Wall, CPU (user+sys) and peak RSS are of the whole process tree (the command "
        "and its children); requests are counted by the sandbox itself. The sandbox runs in its "
        "own process on the same machine, so it competes for the same cores. Load average "
        f"(1 min) was {meta.get('load_average_before', '?')} before and "
        f"{meta.get('load_average_after', '?')} after the run.",
        "",
        "## Targets",
        "",
        "| target | requirement | measured | verdict |",
        "|---|---|---|---|",
    ]
    for target in targets:
        lines.append(
            f"| {target.name} | {target.requirement} | {target.observed} | {_verdict(target.met)} |"
        )
    by_scenario: dict[str, list[Result]] = {}
    for result in results:
        by_scenario.setdefault(result.scenario, []).append(result)
    for scenario, rows in by_scenario.items():
        lines += ["", f"## {scenario_titles.get(scenario, scenario)}", "", *_scenario_table(rows)]
    lines += [
        "",
        "## Machine and versions",
        "",
        f"- {machine['cores']} cores ({machine['cpu_model']}), "
        f"{_fmt_bytes(machine['memory_bytes'])} memory, {machine['os']}, "
        f"Python {machine['python']}",
        "- " + ", ".join(f"{name} {version}" for name, version in versions.items()),
        "",
        "Reproduce with `make bench` (the whole run, as long as the header says) or "
        "`make bench-quick` (smaller sizes, one repeat, a few minutes).",
        "",
    ]
    return "\n".join(lines)


def write_reports(
    markdown_path: Path,
    json_path: Path,
    results: Sequence[Result],
    targets: Sequence[Target],
    *,
    machine: dict[str, Any],
    versions: dict[str, str],
    meta: dict[str, Any],
    scenario_titles: dict[str, str],
) -> None:
    """Write both files; the JSON carries every raw sample, the markdown the summaries."""
    markdown_path.parent.mkdir(parents=True, exist_ok=True)
    markdown_path.write_text(
        render_markdown(
            results,
            targets,
            machine=machine,
            versions=versions,
            meta=meta,
            scenario_titles=scenario_titles,
        )
    )
    payload = {
        "meta": meta,
        "machine": machine,
        "versions": versions,
        "targets": [target.to_json() for target in targets],
        "results": [result.to_json() for result in results],
    }
    json_path.write_text(json.dumps(payload, indent=2) + "\n")
