"""A Prefect API server of the bench's own, in its own ``PREFECT_HOME``, on a free port.

The "with a server running" figures point children at it through ``PREFECT_API_URL``; without it
they run Prefect's ephemeral mode. It never touches the user's ``~/.prefect``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

from bench.context import Context
from bench.sandbox_proc import free_port, stop_process

__all__ = ["PrefectServer", "PrefectServerError"]


class PrefectServerError(RuntimeError):
    """The server did not come up; scenarios that need it report "not run"."""


class PrefectServer:
    """``with PrefectServer(ctx) as server:`` then ``server.api_url``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> PrefectServer:
        log_dir = self._ctx.work_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        prefect = Path(sys.executable).parent / "prefect"
        with (log_dir / "prefect-server.log").open("wb") as log:
            self._proc = subprocess.Popen(
                [
                    str(prefect),
                    "server",
                    "start",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--no-ui",
                    "--analytics-off",
                ],
                env=self._ctx.env(PREFECT_UI_ENABLED="false"),
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    raise PrefectServerError(
                        f"prefect server exited with {self._proc.returncode}; see "
                        f"{log_dir / 'prefect-server.log'}"
                    )
                try:
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.25)
        self.stop()
        raise PrefectServerError(f"prefect server did not answer within {timeout_s:.0f} s")

    def stop(self) -> None:
        stop_process(self._proc, timeout=20)
        self._proc = None

    def __enter__(self) -> PrefectServer:
        # ``with PrefectServer(ctx).start():`` must not start a second server (and orphan the first).
        return self if self._proc is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
