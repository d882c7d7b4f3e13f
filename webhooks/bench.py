"""``python -m webhooks.bench``: measure a receiver on loopback (bounded load, stops by itself).

It starts ``python -m webhooks`` on a free loopback port with a throw-away warehouse, then

- ``throughput``: sends ``--events`` signed ``job.updated`` events from ``--clients`` concurrent
  keep-alive clients as fast as they are acknowledged, and reports acknowledged events/s;
- ``latency``: sends at ``--rate`` events/s for ``--seconds`` and reports p50/p95 from the 2xx to
  the event being queryable in DuckDB, seen by a separate read-only reader polling every
  ``--poll`` seconds (an analyst's view, so it includes the reader's own open/close), and the
  receiver-side ``applied_at - received_at`` from ``webhook_events``.

Only 127.0.0.1 is ever contacted. The load generator runs in this process, the receiver in its own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from connectors.webhook_signature import SIGNATURE_HEADER, sign
from webhooks.app import WEBHOOK_PATH

__all__ = ["main"]

_SECRET = "bench-secret"
_T0 = datetime(2027, 1, 1, tzinfo=UTC)


def _event(n: int, jobs: int) -> bytes:
    job_id = f"bench_{n % jobs:05d}"
    job = {
        "id": job_id,
        "title": f"Engineer {n}",
        "company": "Bench Co",
        "location": "San Francisco, CA",
        "type": "full_time",
        "salary_range": {"min": "120k", "max": 150_000, "currency": "$"},
        "posted_at": "2026-12-01T00:00:00Z",
        "updated_at": (_T0 + timedelta(milliseconds=n)).isoformat(),
    }
    envelope = {
        "id": f"evt_bench_{n:08d}",
        "type": "job.updated",
        "created_at": (_T0 + timedelta(milliseconds=n)).isoformat(),
        "data": {"job": job},
    }
    return orjson.dumps(envelope)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _receiver(workdir: Path, apply_interval: float) -> Iterator[tuple[str, Path]]:
    db = workdir / "bench.duckdb"
    port = _free_port()
    env = {**os.environ, "JOBSPHERE_WEBHOOK_SECRET": _SECRET}
    log = (workdir / "receiver.log").open("wb")
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
            "--log-level",
            "DEBUG",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"receiver did not start; see {workdir / 'receiver.log'}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url, db
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        log.close()


async def _send_all(
    url: str, bodies: list[bytes], clients: int, rate: float | None
) -> list[tuple[str, float]]:
    """Send every body once over ``clients`` keep-alive connections; return the 2xx times.

    A minimal HTTP/1.1 client on asyncio streams: a full client library would spend more CPU
    than the receiver under test on this 2-core machine and measure itself instead.
    """
    host, port = url.removeprefix("http://").split(":")
    acks: list[tuple[str, float]] = []
    next_index = iter(range(len(bodies)))
    start = time.monotonic()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for i in next_index:
                if rate is not None:
                    delay = start + i / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                body = bodies[i]
                head = (
                    f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {host}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    f"{SIGNATURE_HEADER}: {sign(body, _SECRET)}\r\n\r\n"
                )
                writer.write(head.encode() + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                if not status_line.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"receiver answered {status_line!r}")
                acks.append((orjson.loads(body)["id"], time.time()))
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return acks


def _poll_visible(db: Path, seen: dict[str, float], stop: threading.Event, every: float) -> None:
    import duckdb

    while not stop.is_set():
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.Error:
            time.sleep(0.01)  # the receiver holds the file for a batch
            continue
        try:
            ids = con.execute("SELECT event_id FROM webhook_events").fetchall()
        except duckdb.Error:
            ids = []
        finally:
            con.close()
        now = time.time()
        for (event_id,) in ids:
            seen.setdefault(event_id, now)
        stop.wait(every)


def _pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def run_throughput(
    events: int, clients: int, jobs: int, keep: Path | None = None
) -> dict[str, Any]:
    bodies = [_event(n, jobs) for n in range(events)]
    with _workdir(keep) as tmp, _receiver(tmp, 0.5) as (url, _db):
        asyncio.run(_send_all(url, bodies[: min(200, events)], clients, None))  # warm-up
        rest = bodies[min(200, events) :]
        started = time.perf_counter()
        acks = asyncio.run(_send_all(url, rest, clients, None))
        elapsed = time.perf_counter() - started
    return {
        "events": len(acks),
        "clients": clients,
        "seconds": round(elapsed, 2),
        "events_per_s": round(len(acks) / elapsed, 1),
    }


def run_latency(
    rate: float, seconds: float, clients: int, jobs: int, poll: float, keep: Path | None = None
) -> dict[str, Any]:
    import duckdb

    warm = int(rate)  # one second of traffic first, to measure the steady state
    bodies = [_event(n, jobs) for n in range(warm + int(rate * seconds))]
    with _workdir(keep) as tmp, _receiver(tmp, 0.5) as (url, db):
        seen: dict[str, float] = {}
        stop = threading.Event()
        poller = threading.Thread(target=_poll_visible, args=(db, seen, stop, poll), daemon=True)
        poller.start()
        asyncio.run(_send_all(url, bodies[:warm], clients, rate))
        deadline = time.monotonic() + 120
        while len(seen) < warm and time.monotonic() < deadline:
            time.sleep(0.05)
        acks = asyncio.run(_send_all(url, bodies[warm:], clients, rate))
        deadline = time.monotonic() + 60
        while len(seen) < len(acks) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        poller.join()
        lags = [seen[event_id] - acked for event_id, acked in acks if event_id in seen]
        measured = {event_id for event_id, _ in acks}
        while True:
            try:
                con = duckdb.connect(str(db), read_only=True)
                break
            except duckdb.Error:
                time.sleep(0.05)
        try:
            server = [
                lag
                for event_id, lag in con.execute(
                    "SELECT event_id, epoch(applied_at) - epoch(received_at) FROM webhook_events"
                ).fetchall()
                if event_id in measured
            ]
        finally:
            con.close()
    return {
        "events": len(acks),
        "rate": rate,
        "visible": len(lags),
        "ack_to_queryable_p50_ms": round(_pct(lags, 50) * 1000, 1),
        "ack_to_queryable_p95_ms": round(_pct(lags, 95) * 1000, 1),
        "received_to_applied_p50_ms": round(_pct(server, 50) * 1000, 1),
        "received_to_applied_p95_ms": round(_pct(server, 95) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webhooks.bench", description=__doc__)
    parser.add_argument("mode", choices=["throughput", "latency"])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=500, help="distinct job ids the events touch")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the files and log here")
    args = parser.parse_args(argv)
    if args.mode == "throughput":
        result = run_throughput(args.events, args.clients, args.jobs, args.workdir)
    else:
        result = run_latency(
            args.rate, args.seconds, args.clients, args.jobs, args.poll, args.workdir
        )
    print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
