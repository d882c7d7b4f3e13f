"""Fakes for connector tests: a JobSphere API over a mutable newest-first list, and a fake clock.

The fake API is served through ``httpx.MockTransport``, the client's one network seam, so the real
client code (headers, parsing, retries, pagination) runs unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from connectors import Client, RetryPolicy

API_KEY = "test-key-7f3a9c1e55d2"
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def make_job(number: int, posted: datetime) -> dict[str, Any]:
    return {
        "id": f"job_{number:07d}",
        "title": f"Engineer {number}",
        "company": "Acme",
        "location": "Remote",
        "type": "full_time",
        "salary_range": {"min": 100, "max": 200, "currency": "USD"},
        "posted_at": posted.isoformat().replace("+00:00", "Z"),
        "extra_field": {"nested": [number]},
    }


@dataclass
class FakeApi:
    """``GET/POST/PUT/DELETE /v2/jobs`` over ``jobs`` (newest first), thread-safe.

    ``before_list(api, request_number)`` runs under the lock before each ``GET /jobs`` answer, so a
    test can mutate the listing between requests; ``responder`` may answer a request instead.
    """

    count: int = 0
    key: str = API_KEY
    jobs: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    before_list: Callable[[FakeApi, int], None] | None = None
    responder: Callable[[httpx.Request, int], httpx.Response | None] | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    list_calls: int = 0
    next_number: int = 0

    def __post_init__(self) -> None:
        if not self.jobs:
            self.jobs = [
                make_job(self.count - i, BASE - timedelta(minutes=i)) for i in range(self.count)
            ]
        self.next_number = self.count + 1

    # ---------------------------------------------------------------- mutation
    def insert_head(self) -> str:
        with self.lock:
            newest = datetime.fromisoformat(self.jobs[0]["posted_at"]) if self.jobs else BASE
            job = make_job(self.next_number, newest + timedelta(seconds=1))
            self.next_number += 1
            self.jobs.insert(0, job)
            return str(job["id"])

    def delete_at(self, position: int) -> str:
        with self.lock:
            return str(self.jobs.pop(position)["id"])

    def ids(self) -> set[str]:
        with self.lock:
            return {j["id"] for j in self.jobs}

    # ----------------------------------------------------------------- serving
    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            number = len(self.requests)
            if self.responder is not None:
                answer = self.responder(request, number)
                if answer is not None:
                    return answer
            if request.headers.get("Authorization") != f"Bearer {self.key}":
                return _error(401, "unauthorized", "invalid API key")
            path = request.url.path
            if path == "/v2/jobs" and request.method == "GET":
                self.list_calls += 1
                if self.before_list is not None:
                    self.before_list(self, self.list_calls)
                return self._list(request)
            if path == "/v2/jobs" and request.method == "POST":
                body = orjson.loads(request.content)
                job = {**body, "id": f"job_{self.next_number:07d}"}
                self.next_number += 1
                self.jobs.insert(0, job)
                return httpx.Response(201, json=job)
            if path.startswith("/v2/jobs/"):
                return self._one(request, path.removeprefix("/v2/jobs/"))
            return _error(404, "not_found", f"no route {path}")

    def _list(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        page, limit = int(params.get("page", "1")), int(params.get("limit", "20"))
        chosen = [
            j
            for j in self.jobs
            if all(j.get(name) == params[name] for name in ("type", "location") if name in params)
            and ("q" not in params or params["q"].lower() in j.get("title", "").lower())
        ]
        data = chosen[(page - 1) * limit : page * limit]
        meta = {"total": len(chosen), "page": page, "limit": limit}
        return httpx.Response(200, content=orjson.dumps({"data": data, "meta": meta}))

    def _one(self, request: httpx.Request, job_id: str) -> httpx.Response:
        index = next((i for i, j in enumerate(self.jobs) if j["id"] == job_id), None)
        if index is None:
            return _error(404, "not_found", f"no job with id {job_id!r}")
        if request.method == "DELETE":
            del self.jobs[index]
            return httpx.Response(204)
        if request.method == "PUT":
            self.jobs[index] = {**self.jobs[index], **orjson.loads(request.content)}
        return httpx.Response(200, json=self.jobs[index])


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}})


@dataclass
class FakeClock:
    """Monotonic and wall clocks that only move when the code under test sleeps."""

    now: float = 1_000.0
    epoch: float = 1_767_225_600.0  # 2026-01-01T00:00:00Z at now == 0
    slept: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.epoch + self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds

    def policy(self, **overrides: Any) -> RetryPolicy:
        settings: dict[str, Any] = {"jitter": False, **overrides}
        return RetryPolicy(sleep=self.sleep, clock=self.monotonic, wall_clock=self.wall, **settings)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def fake_client(
    api: Callable[[httpx.Request], httpx.Response],
    clock: FakeClock | None = None,
    **options: Any,
) -> Client:
    policy = (clock or FakeClock()).policy()
    return Client(
        API_KEY,
        "https://api.test/v2",
        transport=httpx.MockTransport(api),
        retry=options.pop("retry", policy),
        **options,
    )
