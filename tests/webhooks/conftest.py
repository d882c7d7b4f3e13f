"""Fixtures for the receiver tests: signed requests, an app over ASGI, a real receiver process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from connectors.webhook_signature import SIGNATURE_HEADER, sign
from webhooks.app import WEBHOOK_PATH, create_app
from webhooks.inbox import Inbox
from webhooks.settings import ReceiverSettings

SECRET = "whsec_test_current"
OLD_SECRET = "whsec_test_previous"
NOW = 1_800_000_000.0  # the fake receiver clock of the ASGI tests
REPO = Path(__file__).resolve().parents[2]


def envelope(
    event_id: str = "evt_1",
    event_type: str = "job.updated",
    created_at: str = "2027-01-15T08:00:00Z",
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "created_at": created_at, "data": data or {}}


def signed(body: bytes, secrets: str | list[str] = SECRET, at: float = NOW) -> dict[str, str]:
    return {
        SIGNATURE_HEADER: sign(body, secrets, timestamp=int(at)),
        "content-type": "application/json",
    }


@dataclass
class Receiver:
    """An app reached through ``httpx.ASGITransport`` with a fake clock at :data:`NOW`."""

    client: httpx.AsyncClient
    inbox: Inbox
    stored: list[int]

    async def post_event(self, event: dict[str, Any], **kw: Any) -> httpx.Response:
        body = orjson.dumps(event)
        return await self.client.post(WEBHOOK_PATH, content=body, headers=signed(body, **kw))


@pytest.fixture
def make_receiver(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    inboxes: list[Inbox] = []

    def factory(secrets: tuple[str, ...] = (SECRET,), tolerance: float = 300) -> Receiver:
        inbox = Inbox(tmp_path / f"inbox{len(inboxes)}.sqlite3")
        inboxes.append(inbox)
        settings = ReceiverSettings(
            secrets=tuple(SecretStr(s) for s in secrets),
            inbox_path=inbox.path,
            tolerance=tolerance,
        )
        stored: list[int] = []
        app = create_app(
            settings, inbox=inbox, on_stored=lambda: stored.append(1), clock=lambda: NOW
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://receiver"
        )
        return Receiver(client=client, inbox=inbox, stored=stored)

    yield factory
    for inbox in inboxes:
        inbox.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceiverProcess:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def post(self, event: dict[str, Any], client: httpx.Client | None = None) -> httpx.Response:
        body = orjson.dumps(event)
        headers = signed(body, at=time.time())
        if client is not None:
            return client.post(f"{self.url}{WEBHOOK_PATH}", content=body, headers=headers)
        return httpx.post(f"{self.url}{WEBHOOK_PATH}", content=body, headers=headers, timeout=10)

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/healthz", timeout=5).json())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def start_receiver(
    db: Path, tmp_path: Path, *, apply_interval: float = 0.2, name: str = "receiver"
) -> ReceiverProcess:
    """Start ``python -m webhooks`` on a free port and wait until ``/healthz`` answers."""
    port = free_port()
    log = tmp_path / f"{name}-{port}.log"
    env = {**os.environ, "JOBSPHERE_WEBHOOK_SECRET": f"{SECRET},{OLD_SECRET}"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "webhooks",
                "--db",
                str(db),
                "--port",
                str(port),
                "--apply-interval",
                str(apply_interval),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"receiver exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return ReceiverProcess(proc=proc, url=url, log=log)
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"receiver did not start:\n{log.read_text()}")


def wait_for(predicate: Callable[[], bool], timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
