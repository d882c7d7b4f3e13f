"""What keeps a no-change sync cheap as a whole process, asserted by behaviour, never by speed.

A no-change incremental sync is mostly Prefect's fixed cost; the flows trim the parts beyond it:
parameters serialized without FastAPI, no wait for the heartbeat thread, no final full garbage
collection at exit, and a command line that imports nothing heavy until a command needs it.
"""

from __future__ import annotations

import gc
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder
from prefect import flow, flow_engine
from prefect.flows import Flow
from pydantic import SecretStr

import flows.cli as cli
from flows.settings import BackfillSlice
from flows.sync import (
    _end_heartbeats_without_waiting,
    backfill_flow,
    extract_load,
    prepare_run,
    reconcile,
    sync_flow,
)

SYNC_PARAMETERS: dict[str, Any] = {
    "db": "/data/warehouse.duckdb",
    "base_url": "https://api.jobsphere.io/v2",
    "api_key": SecretStr("sk_live_secret"),
    "full": True,
    "show_progress": False,
    "batch_rows": 50_000,
    "concurrency": 8,
    "overlap_seconds": 1.5,
    "lock_timeout": 60.0,
}
BACKFILL_PARAMETERS: dict[str, Any] = {
    "db": "/data/warehouse.duckdb",
    "base_url": "https://api.jobsphere.io/v2",
    "slice": BackfillSlice(since=datetime(2024, 1, 1, tzinfo=UTC), type="contract", q="rust"),
    "api_key": None,
    "show_progress": True,
    "batch_rows": 1_000,
    "concurrency": 4,
    "lock_timeout": 0.0,
}


@pytest.mark.parametrize(
    ("flow_obj", "parameters"),
    [(sync_flow, SYNC_PARAMETERS), (backfill_flow, BACKFILL_PARAMETERS)],
)
def test_parameters_serialize_exactly_as_prefect_would(
    flow_obj: Any, parameters: dict[str, Any]
) -> None:
    """Same JSON Prefect's own FastAPI-based path stores, the key masked, nothing dropped."""
    ours = flow_obj.serialize_parameters(parameters)
    assert ours == {key: jsonable_encoder(value) for key, value in parameters.items()}
    assert set(ours) == set(parameters)
    text = json.dumps(ours)
    assert "sk_live_secret" not in text
    if "api_key" in ours and parameters["api_key"] is not None:
        assert ours["api_key"] == "**********"


def test_unexpected_parameter_values_take_prefects_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the declared parameter types skip FastAPI; anything else goes through Prefect."""
    via_prefect: list[dict[str, Any]] = []

    def prefects_own(self: Any, parameters: dict[str, Any]) -> dict[str, Any]:
        via_prefect.append(parameters)
        return {"via": "prefect"}

    monkeypatch.setattr(Flow, "serialize_parameters", prefects_own)
    assert sync_flow.serialize_parameters({"db": "x", "extra": object()}) == {"via": "prefect"}
    assert sync_flow.serialize_parameters({"db": "x", "full": True}) == {"db": "x", "full": True}
    assert len(via_prefect) == 1


def test_our_tasks_are_never_cached_nor_persisted() -> None:
    """They have side effects and hand results over in-process: no cache key, no result files."""
    from prefect.cache_policies import NO_CACHE

    for task_obj in (prepare_run, extract_load, reconcile):
        assert task_obj.cache_policy is NO_CACHE
        assert task_obj.persist_result is False


class _FakeEngine:
    """Just what Prefect's heartbeat context reads from a flow run engine."""

    heartbeat_seconds = 30
    flow_run = None
    logger = logging.getLogger("tests.heartbeat")

    def __init__(self, flow_obj: Any) -> None:
        self.flow = flow_obj
        self.beat = threading.Event()
        self.beats = 0

    def _build_heartbeat_event_template(self) -> tuple[dict[str, str], list[Any]]:
        return {}, []

    def _emit_flow_run_heartbeat(self, resource: Any, related: Any) -> None:
        self.beats += 1
        self.beat.set()


def _run_heartbeats(
    flow_obj: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[_FakeEngine, list[threading.Thread], list[threading.Thread]]:
    """Enter and leave the engine's heartbeat context; return the threads started and joined."""
    started: list[threading.Thread] = []
    joined: list[threading.Thread] = []
    real_start: Callable[[threading.Thread], None] = threading.Thread.start
    real_join = threading.Thread.join

    def start(self: threading.Thread) -> None:
        target_args = getattr(self, "_args", ())
        if target_args and getattr(target_args[0], "__name__", "") == "heartbeat_loop":
            started.append(self)
        real_start(self)

    def join(self: threading.Thread, timeout: float | None = None) -> None:
        joined.append(self)
        real_join(self, timeout)

    engine = _FakeEngine(flow_obj)
    monkeypatch.setattr(threading.Thread, "start", start)
    monkeypatch.setattr(threading.Thread, "join", join)
    with flow_engine._send_heartbeats(engine):  # type: ignore[arg-type]
        # The first heartbeat still goes out as the run starts.
        assert engine.beat.wait(timeout=60)
    monkeypatch.undo()
    return engine, started, joined


def test_heartbeat_hook_is_in_place_for_the_shipped_prefect() -> None:
    """If a Prefect upgrade drops the hook this fails, instead of the wait silently returning."""
    assert _end_heartbeats_without_waiting() is True


def test_our_flow_runs_do_not_wait_for_the_heartbeat_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, started, joined = _run_heartbeats(sync_flow, monkeypatch)
    (heartbeat,) = started
    assert heartbeat not in joined
    assert heartbeat.daemon
    # Told to stop, the thread ends by itself and never beats again.
    heartbeat.join(timeout=60)
    assert not heartbeat.is_alive()
    assert engine.beats == 1


def test_other_flows_keep_prefects_join(monkeypatch: pytest.MonkeyPatch) -> None:
    @flow(name="not-ours")
    def not_ours() -> None:
        return None

    engine, started, joined = _run_heartbeats(not_ours, monkeypatch)
    (heartbeat,) = started
    assert heartbeat in joined
    assert engine.beats == 1


def test_main_freezes_the_heap_on_the_way_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last full collection at interpreter exit is skipped, whatever the exit status."""
    frozen: list[bool] = []

    def app() -> None:
        raise SystemExit(3)

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 3
    assert frozen == [True]


def _python(code: str) -> str:
    """What ``code`` prints, run in a fresh interpreter (imports start from nothing)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_command_line_imports_nothing_heavy_until_a_command_runs() -> None:
    """``jobsphere --help`` and option parsing need neither pydantic nor Prefect nor the data
    libraries; each command imports what it uses."""
    code = (
        "import sys, flows.cli\n"
        "heavy = ('pydantic', 'prefect', 'polars', 'duckdb', 'pyarrow', 'httpx', 'fastapi')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = _python(code)
    assert out.strip() == ""


def test_a_whole_sync_process_never_imports_fastapi() -> None:
    """Importing the flows and serializing their parameters leaves FastAPI out of the process."""
    code = (
        "import sys\n"
        "from flows.sync import sync_flow\n"
        "from pydantic import SecretStr\n"
        "sync_flow.serialize_parameters({'db': 'x', 'api_key': SecretStr('k'), 'full': False})\n"
        "print('fastapi' in sys.modules)\n"
    )
    out = _python(code)
    assert out.strip() == "False"
