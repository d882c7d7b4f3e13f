"""bench.prefect_server: one server per object, however the context manager is entered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.context import Context, Settings
from bench.prefect_server import PrefectServer


def test_entering_a_started_server_does_not_start_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = PrefectServer(Context(Settings.quick_run(), tmp_path))
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    server._proc = stand_in  # as start() leaves it, without paying for a real server
    starts: list[int] = []
    monkeypatch.setattr(server, "start", lambda *a, **k: starts.append(1) or server)
    with server as entered:
        assert entered is server
    assert starts == []
    assert stand_in.poll() is not None  # leaving the block stopped the one server it had
