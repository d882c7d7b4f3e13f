"""The command line's contract: one actionable line per failure, exit codes, no secrets."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from sandbox.testing import SandboxHandle

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()
SECRET_KEY = "sk_live_do_not_print_me_123"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env or {})
    return result.exit_code, result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("jobsphere: error:")]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_wrong_key_names_its_source_not_its_value(sandbox: SandboxHandle, db_path: Path) -> None:
    code, out = invoke(
        "sync",
        "--db",
        str(db_path),
        "--base-url",
        sandbox.base_url,
        "--no-progress",
        env={"JOBSPHERE_API_KEY": SECRET_KEY},
    )
    assert code == 1
    line = one_error_line(out)
    assert "401" in line and "JOBSPHERE_API_KEY" in line
    assert SECRET_KEY not in out
    # The failed run is on record, with an error that does not leak the key either.
    with duckdb.connect(str(db_path), read_only=True) as con:
        status, error = con.execute("SELECT status, error FROM sync_runs").fetchone()  # type: ignore[misc]
    assert status == "failed" and SECRET_KEY not in (error or "")


def test_key_from_option_is_named_as_option(sandbox: SandboxHandle, db_path: Path) -> None:
    code, out = invoke(
        "sync", "--db", str(db_path), "--base-url", sandbox.base_url, "--api-key", SECRET_KEY
    )
    assert code == 1
    assert "--api-key" in one_error_line(out)
    assert SECRET_KEY not in out


def test_missing_key(db_path: Path) -> None:
    code, out = invoke("sync", "--db", str(db_path), env={"JOBSPHERE_API_KEY": ""})
    assert code == 1
    assert "JOBSPHERE_API_KEY" in one_error_line(out)


def test_unreachable_host(db_path: Path) -> None:
    code, out = invoke(
        "sync",
        "--db",
        str(db_path),
        "--base-url",
        f"http://127.0.0.1:{free_port()}/v2",
        env={"JOBSPHERE_API_KEY": SECRET_KEY},
    )
    assert code == 1
    line = one_error_line(out)
    assert "reach" in line and "--base-url" in line
    assert SECRET_KEY not in out


def test_bad_date_and_bad_type(db_path: Path) -> None:
    code, out = invoke(
        "backfill", "--db", str(db_path), "--since", "last tuesday", env={"JOBSPHERE_API_KEY": "k"}
    )
    assert code == 1
    assert "--since" in one_error_line(out) and "YYYY-MM-DD" in out
    code, out = invoke(
        "backfill", "--db", str(db_path), "--type", "gig", env={"JOBSPHERE_API_KEY": "k"}
    )
    assert code == 1
    assert "--type" in one_error_line(out)


@pytest.fixture
def locked_db(db_path: Path) -> Iterator[Path]:
    """Another process holds the warehouse file read-write, as a long writer would."""
    duckdb.connect(str(db_path)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(db_path)!r})
                print("locked", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    try:
        yield db_path
    finally:
        holder.kill()
        holder.wait()


def test_locked_warehouse(sandbox: SandboxHandle, locked_db: Path) -> None:
    started = time.monotonic()
    code, out = invoke(
        "sync",
        "--db",
        str(locked_db),
        "--base-url",
        sandbox.base_url,
        "--lock-timeout",
        "1",
        env={"JOBSPHERE_API_KEY": sandbox.config.api_key},
    )
    assert code == 1
    line = one_error_line(out)
    assert str(locked_db.name) in line and "lock" in line.lower()
    assert time.monotonic() - started < 60


def test_sync_then_status(sandbox: SandboxHandle, db_path: Path) -> None:
    env = {"JOBSPHERE_API_KEY": sandbox.config.api_key}
    code, out = invoke(
        "sync", "--db", str(db_path), "--base-url", sandbox.base_url, "--no-progress", env=env
    )
    assert code == 0, out
    assert "incremental run succeeded" in out and "1000 new" in out
    code, out = invoke("status", "--db", str(db_path), "--json")
    assert code == 0, out
    assert '"jobs": 1000' in out.replace("'", '"') or "1000" in out
    assert "webhook_backlog" in out


def test_status_without_warehouse(tmp_path: Path) -> None:
    code, out = invoke("status", "--db", str(tmp_path / "nope.duckdb"))
    assert code == 1
    assert "jobsphere sync" in one_error_line(out)


def test_schedule_without_server_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    code, out = invoke(
        "schedule", "--db", str(tmp_path / "w.duckdb"), env={"JOBSPHERE_API_KEY": "k"}
    )
    assert code == 1
    line = one_error_line(out)
    assert "prefect server start" in line and "PREFECT_API_URL" in line


def test_help_lists_every_command() -> None:
    code, out = invoke("--help")
    assert code == 0
    for command in ("sync", "backfill", "webhooks", "sandbox", "demo", "status", "schedule", "fx"):
        assert command in out
