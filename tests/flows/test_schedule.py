"""The nightly and weekly deployments carry their schedules, and triggering one runs a sync."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest
from prefect import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.runner import Runner

from flows.schedule import FULL_DEPLOYMENT, INCREMENTAL_DEPLOYMENT, build_deployments
from sandbox.testing import SandboxHandle

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_deployments_carry_schedules_and_no_key(sandbox: SandboxHandle, db_path: Path) -> None:
    nightly, weekly = build_deployments(
        db=db_path,
        base_url=sandbox.base_url,
        cron="30 1 * * *",
        full_cron="0 4 * * 6",
        timezone="Europe/Berlin",
    )
    assert (nightly.name, weekly.name) == (INCREMENTAL_DEPLOYMENT, FULL_DEPLOYMENT)
    assert [(s.schedule.cron, s.schedule.timezone) for s in nightly.schedules] == [
        ("30 1 * * *", "Europe/Berlin")
    ]
    assert [(s.schedule.cron, s.schedule.timezone) for s in weekly.schedules] == [
        ("0 4 * * 6", "Europe/Berlin")
    ]
    assert nightly.parameters["full"] is False and weekly.parameters["full"] is True
    assert "api_key" not in nightly.parameters
    assert nightly.entrypoint == "flows.sync.sync_flow"


def test_triggering_the_nightly_deployment_runs_a_sync(
    sandbox: SandboxHandle, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The served runs read the key from the serving process's environment.
    monkeypatch.setenv("JOBSPHERE_API_KEY", sandbox.config.api_key)
    deployments = build_deployments(
        db=db_path,
        base_url=sandbox.base_url,
        cron="0 2 * * *",
        full_cron="0 3 * * 0",
        timezone="UTC",
    )
    runner = Runner(name="jobsphere-test-runner")
    for deployment in deployments:
        runner.add_deployment(deployment)
    triggered = run_deployment(name=f"jobsphere-sync/{INCREMENTAL_DEPLOYMENT}", timeout=0)
    assert isinstance(triggered, FlowRun)
    asyncio.run(runner.start(run_once=True))

    async def final_state() -> str:
        async with get_client() as client:
            run = await client.read_flow_run(triggered.id)
            return run.state.type.value if run.state else "UNKNOWN"

    assert asyncio.run(final_state()) == "COMPLETED"
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM jobs").fetchone() == (1_000,)
        assert con.execute("SELECT mode, status FROM sync_runs").fetchall() == [
            ("incremental", "succeeded")
        ]
