"""The fetch floor: the least work any sync must do — fetch every page and parse its JSON.

Run as its own process (``python -m bench.peers.floor --base-url URL --api-key KEY
--concurrency 8``) so it is measured exactly like our pipeline. Page 1 gives ``meta.total``; the
remaining pages are then fetched by ``concurrency`` threads sharing one connection pool (1 means a
plain sequential loop). It prints one JSON line: pages, records and requests made.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import httpx
import orjson

__all__ = ["FloorResult", "fetch_all", "main"]

PAGE_LIMIT = 100


@dataclass(frozen=True)
class FloorResult:
    """What the floor saw; ``records`` must equal the sandbox's job count."""

    pages: int
    records: int
    requests: int


def _fetch_page(client: httpx.Client, page: int) -> int:
    response = client.get("/jobs", params={"page": page, "limit": PAGE_LIMIT})
    response.raise_for_status()
    return len(orjson.loads(response.content)["data"])


def fetch_all(base_url: str, api_key: str, concurrency: int) -> FloorResult:
    """Fetch and parse every page; pages after the first go out ``concurrency`` at a time."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(
        base_url=base_url.rstrip("/"), headers=headers, limits=limits, timeout=60.0
    ) as client:
        first = client.get("/jobs", params={"page": 1, "limit": PAGE_LIMIT})
        first.raise_for_status()
        body = orjson.loads(first.content)
        records = len(body["data"])
        pages = max(1, math.ceil(int(body["meta"]["total"]) / PAGE_LIMIT))
        rest = range(2, pages + 1)
        if concurrency <= 1:
            records += sum(_fetch_page(client, page) for page in rest)
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                records += sum(pool.map(lambda page: _fetch_page(client, page), rest))
    return FloorResult(pages=pages, records=records, requests=pages)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m bench.peers.floor``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000/v2")
    parser.add_argument("--api-key", default=os.environ.get("JOBSPHERE_API_KEY", "sandbox-key"))
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    result = fetch_all(args.base_url, args.api_key, args.concurrency)
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
