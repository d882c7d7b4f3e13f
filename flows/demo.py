"""``jobsphere demo``: the main job, end to end, on the embedded default.

A seeded sandbox starts on a free loopback port, an ordinary sync (a real Prefect flow run) loads
it into the warehouse, and a few analyst queries over the contract views show what landed. Nothing
here is demo-only logic: it is the same sync a nightly schedule runs.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from .settings import SyncSettings

__all__ = ["DEMO_QUERIES", "run_demo"]

DEMO_QUERIES: dict[str, str] = {
    "Live jobs by country (top 8)": """
        SELECT coalesce(country_code, '(unknown)') AS country,
               count(*) AS jobs,
               count(*) FILTER (WHERE is_remote) AS remote
        FROM live_jobs GROUP BY ALL ORDER BY jobs DESC, country LIMIT 8
    """,
    "Annual salary in USD by employment type (percentiles over all countries)": """
        SELECT employment_type,
               count(*) AS jobs_with_salary,
               round(quantile_cont(salary_max_usd_annual, 0.25)) AS p25,
               round(quantile_cont(salary_max_usd_annual, 0.50)) AS p50,
               round(quantile_cont(salary_max_usd_annual, 0.90)) AS p90
        FROM live_jobs WHERE salary_max_usd_annual IS NOT NULL
        GROUP BY ALL ORDER BY employment_type
    """,
    "How salaries arrived (normalization at work)": """
        SELECT coalesce(salary_currency, '(none)') AS currency,
               coalesce(salary_period, '(none)') AS period,
               count(*) FILTER (WHERE salary_period_inferred) AS inferred,
               count(*) AS jobs
        FROM live_jobs GROUP BY ALL ORDER BY jobs DESC LIMIT 8
    """,
}


def _table(title: str, con: object, sql: str) -> Table:
    rel = con.sql(sql)  # type: ignore[attr-defined]
    table = Table(title=title, title_justify="left")
    for column in rel.columns:
        table.add_column(column)
    for row in rel.fetchall():
        table.add_row(
            *("" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row)
        )
    return table


def run_demo(db: Path, *, jobs: int = 10_000, show_progress: bool = True) -> None:
    from sandbox.config import SandboxConfig
    from sandbox.testing import running_sandbox
    from warehouse import open_warehouse

    from .sync import run_sync_flow

    console = Console()
    config = SandboxConfig(jobs=jobs, seed=42)
    with running_sandbox(config) as sb:
        console.print(f"[bold]sandbox[/] serving {jobs:,} seeded jobs at {sb.base_url}")
        settings = SyncSettings(db=db, base_url=sb.base_url, api_key=SecretStr(config.api_key))
        summary = run_sync_flow(settings, full=False, show_progress=show_progress)
    console.print(
        f"[bold]sync[/] {summary.status} in {summary.seconds:.1f} s: {summary.requests} requests, "
        f"{summary.jobs_seen:,} jobs seen, {summary.jobs_inserted:,} new, "
        f"{summary.jobs_updated:,} updated, {summary.jobs_unchanged:,} unchanged, "
        f"{summary.jobs_rejected:,} rejected -> {db}"
    )
    with open_warehouse(db, read_only=True) as con:
        for title, sql in DEMO_QUERIES.items():
            console.print(_table(title, con, sql))
    console.print(
        f'Query it yourself: duckdb -readonly {db} "SELECT * FROM salary_percentiles LIMIT 10"'
        " (or python: duckdb.connect(path, read_only=True))"
    )
