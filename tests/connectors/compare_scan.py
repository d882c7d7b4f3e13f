"""By-hand comparison (not a test): ``client.jobs.scan()`` vs plain httpx loops over the same pages.

    .venv/bin/python -m tests.connectors.compare_scan [--jobs 100000] [--concurrency 8]

Starts a sandbox on a loopback port, then times: a plain sequential httpx loop (page=1..N,
limit=100, orjson-decoded), a plain loop with a thread pool of ``--concurrency`` requests, and the
connector's scan (concurrent, with its completeness proof). Each runs twice; the best is shown.
The bench engineer's benchmark is the real measurement; this is a quick sanity figure.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson

from connectors import Client
from sandbox.testing import running_sandbox


def _plain_sequential(base_url: str, key: str, pages: int) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    count = 0
    with httpx.Client(base_url=base_url, headers=headers) as http:
        for page in range(1, pages + 1):
            body = orjson.loads(http.get("/jobs", params={"page": page, "limit": 100}).content)
            count += len(body["data"])
    return count


def _plain_concurrent(base_url: str, key: str, pages: int, workers: int) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(base_url=base_url, headers=headers, limits=limits) as http:

        def one(page: int) -> int:
            response = http.get("/jobs", params={"page": page, "limit": 100})
            return len(orjson.loads(response.content)["data"])

        with ThreadPoolExecutor(workers) as pool:
            return sum(pool.map(one, range(1, pages + 1)))


def _connector(base_url: str, key: str, workers: int) -> int:
    with Client(key, base_url, concurrency=workers) as client:
        scan = client.jobs.scan()
        count = sum(len(page.records) for page in scan)
        assert scan.report.complete, scan.report
        return count


def _best(label: str, run: Callable[[], int], repeat: int = 2) -> float:
    """Best wall time of ``repeat`` runs; CPU seconds (client and in-process server) alongside,
    which is steadier than wall time on a shared machine."""
    best, cpu = math.inf, math.inf
    for _ in range(repeat):
        started, before = time.perf_counter(), os.times()
        count = run()
        after = os.times()
        best = min(best, time.perf_counter() - started)
        cpu = min(cpu, (after.user - before.user) + (after.system - before.system))
    print(f"{label:<34} {best:7.2f} s wall  {cpu:6.2f} s CPU  ({count} jobs)")
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    pages = math.ceil(args.jobs / 100)
    with running_sandbox(jobs=args.jobs, seed=1) as sb:
        url, key, n = sb.base_url, sb.api_key, args.concurrency
        _plain_sequential(url, key, min(pages, 50))  # warm the sandbox's caches a little
        seq = _best("plain httpx loop, sequential", lambda: _plain_sequential(url, key, pages))
        par = _best(f"plain httpx loop, {n} threads", lambda: _plain_concurrent(url, key, pages, n))
        scan = _best(f"connector scan, concurrency {n}", lambda: _connector(url, key, n))
    print(f"scan / sequential loop = {scan / seq:.2f}x; scan / {n}-thread loop = {scan / par:.2f}x")


if __name__ == "__main__":
    main()
