"""Shared helpers: a tiny webhook receiver served by uvicorn on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from sandbox import SandboxHandle, running_sandbox

Message = MutableMapping[str, Any]


@dataclass
class Receiver:
    """Records every POST; answers ``fail_first`` requests with 500, then 200."""

    fail_first: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    attempts: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self.lock:
            self.attempts += 1
            failing = self.attempts <= self.fail_first
            if not failing:
                self.received.append((headers, body))
        status = 500 if failing else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port in a thread; yield its root URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("receiver did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def asgi_server() -> Callable[[Any], Any]:
    """The :func:`serve_asgi` context manager, for tests that serve their own receiver."""
    return serve_asgi


@pytest.fixture
def make_receiver() -> type[Receiver]:
    """The receiver class, for tests that need one that fails first."""
    return Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with serve_asgi(rec) as root:
        rec.url = f"{root}/webhooks/jobsphere"
        yield rec


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    """A plain sandbox shared by read-only tests of one module."""
    with running_sandbox(jobs=500, seed=7, read_only_key="reader") as handle:
        yield handle
