"""``python -m webhooks.bench``: measure a receiver on loopback (bounded load, stops by itself).

It starts ``python -m webhooks`` on a free loopback port with a throw-away warehouse, sends a
warm-up burst and waits until the applier has applied it (so the applier's start-up, about two
seconds of imports and lookup tables, is not counted against the traffic), then

- ``throughput``: sends ``--events`` signed ``job.updated`` events from ``--clients`` concurrent
  keep-alive clients as fast as they are acknowledged, and reports acknowledged events/s;
- ``latency``: sends at ``--rate`` events/s for ``--seconds`` and reports p50/p95/p99 from the 2xx
  to the event being queryable in DuckDB, seen by a separate read-only reader polling every
  ``--poll`` seconds (an analyst's view, so it includes the reader's own open/close), and the
  receiver-side ``applied_at - received_at`` from ``webhook_events``.

Both report the CPU time per event of the load generator (this process; in ``latency`` mode
that includes the polling reader), of the receiver process and of its applier process, so a
reader can see what the figure cost and that the client did not starve the receiver. Only 127.0.0.1 is ever contacted. The load generator runs in
this process, the receiver in its own.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from connectors.webhook_signature import SIGNATURE_HEADER, sign
from webhooks.app import WEBHOOK_PATH

__all__ = ["main", "percentile", "send_all"]

_SECRET = "bench-secret"
_T0 = datetime(2027, 1, 1, tzinfo=UTC)
_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _event(n: int, jobs: int) -> tuple[str, bytes]:
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
    event_id = f"evt_bench_{n:08d}"
    envelope = {
        "id": event_id,
        "type": "job.updated",
        "created_at": (_T0 + timedelta(milliseconds=n)).isoformat(),
        "data": {"job": job},
    }
    return event_id, orjson.dumps(envelope)


def _requests(host: str, bodies: Sequence[bytes]) -> list[bytes]:
    """Whole HTTP/1.1 requests, signed now (well within the receiver's 300 s tolerance).

    Built before the clock starts so the load generator spends its measured time on the socket
    only; one HMAC per event here is the same work JobSphere does before sending.
    """
    prefix = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
    ).encode()
    return [
        prefix
        + f"Content-Length: {len(body)}\r\n{SIGNATURE_HEADER}: {sign(body, _SECRET)}\r\n\r\n".encode()
        + body
        for body in bodies
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User+system CPU seconds of one process so far (Linux ``/proc``; 0 where unavailable)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


@dataclass
class _Receiver:
    url: str
    db: Path
    pid: int

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the receiver process and of its children (the applier)."""
        return _cpu_seconds(self.pid), sum(_cpu_seconds(c) for c in _children(self.pid))

    def backlog(self) -> int:
        return int(httpx.get(f"{self.url}/healthz", timeout=10).json()["backlog"])

    def wait_applied(self, timeout: float = 120) -> None:
        """Until the inbox backlog is empty: the applier is warm and has caught up."""
        deadline = time.monotonic() + timeout
        while self.backlog() and time.monotonic() < deadline:
            time.sleep(0.05)


@contextmanager
def _receiver(workdir: Path, apply_interval: float) -> Iterator[_Receiver]:
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
        yield _Receiver(url=url, db=db, pid=proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
        log.close()


@dataclass
class Sent:
    """What :func:`send_all` observed: per acknowledged event its id and 2xx time, and the cost."""

    acks: list[tuple[str, float]]
    seconds: float
    client_cpu_s: float


async def _send_all(
    host: str,
    port: int,
    ids: Sequence[str],
    requests: Sequence[bytes],
    clients: int,
    rate: float | None,
) -> Sent:
    acks: list[tuple[str, float]] = []
    next_index = iter(range(len(requests)))
    cpu0 = time.process_time()
    start = time.monotonic()
    started = time.perf_counter()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in next_index:
                if rate is not None:
                    delay = start + i / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                writer.write(requests[i])
                head = await reader.readuntil(b"\r\n\r\n")
                acked = time.time()
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"receiver answered {head.splitlines()[0]!r}")
                at = head.lower().find(b"\r\ncontent-length:")
                end = head.find(b"\r\n", at + 17)
                await reader.readexactly(int(head[at + 17 : end]) if at >= 0 else 0)
                acks.append((ids[i], acked))
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return Sent(acks, time.perf_counter() - started, time.process_time() - cpu0)


def send_all(
    url: str,
    ids: Sequence[str],
    bodies: Sequence[bytes],
    clients: int,
    rate: float | None = None,
) -> Sent:
    """Send every body once over ``clients`` keep-alive connections; return the 2xx times.

    A minimal HTTP/1.1 client on asyncio streams (uvloop when installed, as the receiver uses)
    with pre-signed requests: a full client library would spend more CPU than the receiver under
    test on this 2-core machine and measure itself instead. Any non-200 answer is an error. With
    ``rate``, request ``i`` is not sent before ``i / rate`` seconds after the start.
    """
    host, port = url.removeprefix("http://").split(":")
    requests = _requests(host, bodies)
    try:
        import uvloop

        loop_factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is pinned, but the tool works without it
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(_send_all(host, int(port), ids, requests, clients, rate))


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


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks.

    The same definition as numpy's default and ``statistics.quantiles(method="inclusive")``,
    for any ``q`` (p99 of 2,000 samples lies between the 1,979th and 1,980th smallest).
    """
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _ms_percentiles(prefix: str, values: Sequence[float]) -> dict[str, float | None]:
    return {
        f"{prefix}_{name}_ms": round(percentile(values, q) * 1000, 1) if values else None
        for name, q in (("p50", 50), ("p95", 95), ("p99", 99))
    }


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def _cost(sent: Sent, before: tuple[float, float], after: tuple[float, float]) -> dict[str, float]:
    per = 1000 / max(len(sent.acks), 1)
    return {
        "client_cpu_ms_per_event": round(sent.client_cpu_s * per, 3),
        "receiver_cpu_ms_per_event": round((after[0] - before[0]) * per, 3),
        "applier_cpu_ms_per_event": round((after[1] - before[1]) * per, 3),
    }


def run_throughput(
    events: int, clients: int, jobs: int, keep: Path | None = None, warm: int = 200
) -> dict[str, Any]:
    ids, bodies = zip(*(_event(n, jobs) for n in range(events + warm)), strict=True)
    with _workdir(keep) as tmp, _receiver(tmp, 0.5) as receiver:
        send_all(receiver.url, ids[:warm], bodies[:warm], clients)
        receiver.wait_applied()
        before = receiver.cpu()
        sent = send_all(receiver.url, ids[warm:], bodies[warm:], clients)
        after = receiver.cpu()
    return {
        "events": len(sent.acks),
        "clients": clients,
        "seconds": round(sent.seconds, 2),
        "events_per_s": round(len(sent.acks) / sent.seconds, 1),
        **_cost(sent, before, after),
    }


def run_latency(
    rate: float, seconds: float, clients: int, jobs: int, poll: float, keep: Path | None = None
) -> dict[str, Any]:
    import duckdb

    warm = int(rate)  # one second of traffic first, to measure the steady state
    ids, bodies = zip(*(_event(n, jobs) for n in range(warm + int(rate * seconds))), strict=True)
    with _workdir(keep) as tmp, _receiver(tmp, 0.5) as receiver:
        seen: dict[str, float] = {}
        stop = threading.Event()
        poller = threading.Thread(
            target=_poll_visible, args=(receiver.db, seen, stop, poll), daemon=True
        )
        poller.start()
        send_all(receiver.url, ids[:warm], bodies[:warm], clients, rate)
        deadline = time.monotonic() + 120
        while not all(i in seen for i in ids[:warm]) and time.monotonic() < deadline:
            time.sleep(0.05)
        before = receiver.cpu()
        sent = send_all(receiver.url, ids[warm:], bodies[warm:], clients, rate)
        # Every measured event, not a count that the warm-up ids would reach early.
        deadline = time.monotonic() + 60
        while not all(i in seen for i, _ in sent.acks) and time.monotonic() < deadline:
            time.sleep(0.05)
        after = receiver.cpu()
        stop.set()
        poller.join()
        lags = [seen[event_id] - acked for event_id, acked in sent.acks if event_id in seen]
        measured = {event_id for event_id, _ in sent.acks}
        while True:
            try:
                con = duckdb.connect(str(receiver.db), read_only=True)
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
        "events": len(sent.acks),
        "rate": rate,
        "visible": len(lags),
        **_ms_percentiles("ack_to_queryable", lags),
        **_ms_percentiles("received_to_applied", server),
        **_cost(sent, before, after),
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
