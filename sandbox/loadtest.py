"""A bounded load test: ``python -m sandbox.loadtest`` prints requests/s of ``limit=100`` pages.

The server runs in its own process (as under ``jobsphere sandbox``); this process is the client:
``--connections`` keep-alive HTTP/1.1 connections on one asyncio loop, written with raw streams
because a full client library spends more CPU per request than the server does and would measure
itself. Bounded by ``--requests`` and ``--seconds``; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from sandbox.config import SandboxConfig
from sandbox.server import serve

__all__ = ["LoadResult", "main", "run_load"]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    statuses: dict[int, int]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(root: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=1) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(f"{root}/_sandbox/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
    raise RuntimeError("sandbox did not start")


async def _connection(
    port: int, api_key: str, tickets: list[int], pages: int, deadline: float, statuses: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while tickets and time.monotonic() < deadline:
            n = tickets.pop()
            writer.write(
                f"GET /v2/jobs?limit=100&page={n % pages + 1} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {api_key}\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            statuses[int(head[9:12])] += 1
    finally:
        writer.close()


def run_load(
    port: int, api_key: str, *, requests: int, connections: int, pages: int, seconds: float
) -> LoadResult:
    """GET up to ``requests`` pages (cycling ``pages`` distinct ones), stopping after ``seconds``."""
    tickets = list(range(requests))
    statuses: Counter[int] = Counter()

    async def drive() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _connection(port, api_key, tickets, pages, deadline, statuses)
                for _ in range(connections)
            )
        )

    start = time.monotonic()
    asyncio.run(drive())
    elapsed = time.monotonic() - start
    return LoadResult(sum(statuses.values()), elapsed, dict(statuses))


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--pages", type=int, default=50, help="distinct pages cycled through")
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args(argv)
    port = _free_port()
    config = SandboxConfig(jobs=args.jobs)
    server = multiprocessing.get_context("spawn").Process(
        target=serve, args=(config, "127.0.0.1", port), daemon=True
    )
    server.start()
    try:
        _wait_up(f"http://127.0.0.1:{port}")
        run_load(port, config.api_key, requests=200, connections=2, pages=args.pages, seconds=10)
        assert server.pid is not None
        cpu_before = _cpu_seconds(server.pid)
        result = run_load(
            port,
            config.api_key,
            requests=args.requests,
            connections=args.connections,
            pages=args.pages,
            seconds=args.seconds,
        )
        server_cpu = _cpu_seconds(server.pid) - cpu_before
        print(
            f"{result.requests} requests in {result.seconds:.2f} s: "
            f"{result.per_second:.0f} requests/s, statuses {result.statuses}, "
            f"server CPU {1000 * server_cpu / max(result.requests, 1):.2f} ms/request"
        )
    finally:
        server.terminate()
        server.join(10)


if __name__ == "__main__":
    main()
