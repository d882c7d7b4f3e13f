"""A sandbox on a free loopback port in a background thread, for tests and the demo.

The socket is bound before uvicorn starts (port 0, so the OS picks a free port and nothing can
take it in between) and handed to uvicorn; the context manager returns once the server answers.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from sandbox.app import SandboxApp
from sandbox.config import SandboxConfig
from sandbox.server import uvicorn_config
from sandbox.store import JobStore

__all__ = ["SandboxHandle", "running_sandbox"]


@dataclass
class SandboxHandle:
    """What a test needs to drive a running sandbox."""

    base_url: str
    root_url: str
    app: SandboxApp
    config: SandboxConfig

    @property
    def store(self) -> JobStore:
        return self.app.store

    @property
    def api_key(self) -> str:
        return self.config.api_key

    def mutate(self, **counts: int) -> dict[str, Any]:
        """Random mutations (creates, updates, deletes, applications, status_changes)."""
        return dict(self.app.store.random_mutations(**counts))

    def wait_webhooks_drained(self, timeout: float = 10) -> None:
        if self.app.outbox is not None:
            self.app.outbox.wait_drained(timeout)

    def stats(self) -> dict[str, Any]:
        return self.app.stats()


@contextmanager
def running_sandbox(
    config: SandboxConfig | None = None, **overrides: Any
) -> Iterator[SandboxHandle]:
    """Start a sandbox (``config`` with ``overrides`` applied); stop it on exit."""
    cfg = dataclasses.replace(config or SandboxConfig(), **overrides)
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP, and
    # without it Nagle + delayed ACKs add ~40 ms to every response.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv_config = uvicorn_config(cfg, "127.0.0.1", port)
    app = uv_config.app
    assert isinstance(app, SandboxApp)
    server = uvicorn.Server(uv_config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{port}", daemon=True
    )
    thread.start()
    root = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(root, server, thread)
        yield SandboxHandle(base_url=f"{root}/v2", root_url=root, app=app, config=cfg)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _wait_until_up(root: str, server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server stopped during start-up")
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start within 30 s")
        time.sleep(0.005)
    with httpx.Client(trust_env=False, timeout=5) as client:
        response = client.get(f"{root}/_sandbox/health")
    if response.status_code != 200:
        raise RuntimeError(f"the sandbox health check answered {response.status_code}")
