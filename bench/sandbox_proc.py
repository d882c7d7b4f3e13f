"""A sandbox API server in its own process on a free loopback port, for one benchmark scenario.

The sandbox must not share a process (or a GIL) with anything it serves, or it would slow the
client it is measuring. Request counts come from the sandbox's own ``GET /_sandbox/stats``
counters, read before and after a measured run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

__all__ = ["API_KEY", "Sandbox", "SandboxError", "free_port", "request_total"]

API_KEY = "sandbox-key"
REPO_ROOT = Path(__file__).resolve().parent.parent
_SERVE_CODE = (
    "import sys\n"
    "from sandbox.config import SandboxConfig\n"
    "from sandbox.server import serve\n"
    "serve(SandboxConfig(jobs=int(sys.argv[1]), seed=int(sys.argv[2]), "
    "latency_ms=float(sys.argv[3])), '127.0.0.1', int(sys.argv[4]))\n"
)


class SandboxError(RuntimeError):
    """The sandbox could not be started or did not answer."""


def free_port() -> int:
    """A port the kernel just handed out; the tiny race until the server binds is acceptable."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any] | None, *, timeout: float) -> None:
    """SIGTERM a helper server, then SIGKILL it if it has not gone after ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def request_total(stats: dict[str, Any]) -> int:
    """Total requests served according to a ``/_sandbox/stats`` body.

    Prefers an explicit total; otherwise sums the per-status counters (``requests_by_status`` or
    ``requests: {"by_status": ...}``), which is what the sandbox is documented to expose.
    """
    requests = stats.get("requests", stats)
    if isinstance(requests, int):
        return requests
    if isinstance(requests, dict):
        for key in ("total", "requests_total"):
            if isinstance(requests.get(key), int):
                return int(requests[key])
        by_status = requests.get("by_status") or stats.get("requests_by_status")
        if isinstance(by_status, dict):
            return sum(int(value) for value in by_status.values())
    raise SandboxError(f"cannot find a request counter in sandbox stats keys {sorted(stats)}")


class Sandbox:
    """``with Sandbox(jobs=..., latency_ms=...) as sandbox:`` a running server; stopped after."""

    def __init__(
        self, *, jobs: int, seed: int = 42, latency_ms: float = 0, log_dir: Path | None = None
    ) -> None:
        self.jobs = jobs
        self.seed = seed
        self.latency_ms = latency_ms
        self.port = free_port()
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.root_url}/v2"
        self.api_key = API_KEY
        self._log_dir = log_dir
        self.stats_overhead = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._client = httpx.Client(
            base_url=self.root_url,
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=30.0,
        )

    def start(self, timeout_s: float = 180.0) -> Sandbox:
        log = subprocess.DEVNULL
        if self._log_dir is not None:
            self._log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self._log_dir / f"sandbox-{self.port}.log"
            log = log_path.open("wb")  # type: ignore[assignment]
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SERVE_CODE,
                str(self.jobs),
                str(self.seed),
                str(self.latency_ms),
                str(self.port),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise SandboxError(f"sandbox exited with {self._proc.returncode} while starting")
            try:
                if self._client.get("/v2/jobs", params={"limit": 1}).status_code == 200:
                    self._calibrate()
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise SandboxError(f"sandbox did not answer within {timeout_s:.0f} s")

    def _calibrate(self) -> None:
        """Learn whether reading the stats counts as a request, so deltas can exclude it."""
        first = self.requests_served()
        self.stats_overhead = self.requests_served() - first

    def stats(self) -> dict[str, Any]:
        response = self._client.get("/_sandbox/stats")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def requests_served(self) -> int:
        return request_total(self.stats())

    def mutate(self, **counts: int) -> dict[str, list[str]]:
        """Random changes through the sandbox's own API paths, e.g. ``creates=1000`` new jobs."""
        response = self._client.post("/_sandbox/mutate", json=counts)
        if response.status_code != 200:
            raise SandboxError(f"POST /_sandbox/mutate answered {response.status_code}")
        done: dict[str, list[str]] = response.json()
        return done

    def stop(self) -> None:
        self._client.close()
        stop_process(self._proc, timeout=10)
        self._proc = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
