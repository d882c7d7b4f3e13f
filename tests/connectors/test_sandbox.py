"""The client against the real sandbox server on a loopback port: data, faults, drift, SDK calls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from connectors import (
    AuthenticationError,
    BadRequestError,
    Client,
    NotFoundError,
    PermissionDeniedError,
    RetryPolicy,
)
from sandbox.generate import Filters
from sandbox.testing import SandboxHandle, running_sandbox

FAST_RETRY = {"base_delay": 0.005, "max_delay": 0.05, "max_attempts": 10}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(jobs=500, seed=1, read_only_key="read-only-key") as sb:
        yield sb


def _client(sb: SandboxHandle, key: str | None = None, **retry: Any) -> Client:
    return Client(key or sb.api_key, sb.base_url, retry=RetryPolicy(**{**FAST_RETRY, **retry}))


def _scan(client: Client, **options: Any) -> tuple[list[str], Any]:
    scan = client.jobs.scan(**options)
    ids = [r["id"] for page in scan for r in page.records]
    return ids, scan.report


@pytest.mark.parametrize("concurrent", [True, False], ids=["concurrent", "sequential"])
def test_full_scan_matches_the_sandbox_and_is_complete(
    sandbox: SandboxHandle, concurrent: bool
) -> None:
    with _client(sandbox) as client:
        ids, report = _scan(client, concurrent=concurrent)
    assert len(ids) == len(set(ids)) == 500
    assert set(ids) == sandbox.store.snapshot_ids()
    assert report.complete and report.order_ok and report.total_first == 500


@pytest.mark.parametrize(
    "filters",
    [
        {"type": "contract"},
        {"location": "remote"},
        {"q": "engineer"},
        {"type": "part_time", "q": "data"},
    ],
    ids=["type", "location", "q", "combined"],
)
def test_filters_are_passed_through(sandbox: SandboxHandle, filters: dict[str, str]) -> None:
    with _client(sandbox) as client:
        ids, report = _scan(client, **filters)
        typed = list(client.jobs.list(**filters))
    expected = sandbox.store.total(Filters.of(**filters))
    assert 0 < len(ids) == expected < 500
    assert [job.id for job in typed] == ids and report.complete
    if "type" in filters:
        assert {job.type for job in typed} == {filters["type"]}


@pytest.mark.parametrize(
    "fault",
    [{"error_rate": 0.2}, {"truncate_rate": 0.2}, {"drop_rate": 0.2}, {"latency_ms": 5}],
    ids=["errors-20pct", "truncated-20pct", "dropped-20pct", "latency"],
)
def test_each_fault_is_survived(fault: dict[str, float]) -> None:
    with running_sandbox(jobs=1_500, seed=3, **fault) as sb, _client(sb) as client:
        ids, report = _scan(client)
        stats = sb.stats()
    assert sorted(ids) == sorted(sb.store.snapshot_ids())
    assert report.complete
    injected = stats["faults"]
    if "error_rate" in fault:
        assert injected["errors"] > 0 and report.requests > report.pages
    if "truncate_rate" in fault:
        assert injected["truncated"] > 0 and report.requests > report.pages
    if "drop_rate" in fault:
        assert injected["dropped"] > 0 and report.requests > report.pages


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_rate_limit_is_honoured_in_both_retry_after_forms(form: str) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    with (
        running_sandbox(jobs=300, seed=2, rate_limit=2, retry_after_format=form) as sb,
        Client(sb.api_key, sb.base_url, retry=RetryPolicy(sleep=sleep), concurrency=4) as client,
    ):
        ids, report = _scan(client)
        limited = sb.stats()["faults"]["rate_limited"]
    assert sorted(ids) == sorted(sb.store.snapshot_ids()) and report.complete
    assert limited > 0 and len(slept) == limited
    # The sandbox asks for whole seconds; an HTTP date has one-second resolution.
    assert all(0.0 <= s <= 2.0 for s in slept) and max(slept) >= 0.5


@pytest.mark.parametrize(
    ("inserts", "deletes"),
    [(0, 1), (0, 3), (1, 2), (3, 1)],
    ids=["deletes", "many-deletes", "net-deletes", "net-inserts"],
)
def test_drift_never_yields_duplicates_and_complete_means_nothing_missed(
    inserts: int, deletes: int
) -> None:
    with running_sandbox(jobs=1_200, seed=5, drift_inserts=inserts, drift_deletes=deletes) as sb:
        before = sb.store.snapshot_ids()
        with _client(sb) as client:
            ids, report = _scan(client)
        after = sb.store.snapshot_ids()
    assert len(ids) == len(set(ids))
    assert report.total_first != report.total_last
    if report.complete:
        assert (before & after) <= set(ids)
    else:
        assert "changing" in report.incomplete_reason


def test_continuous_deletions_are_repaired_to_a_proven_complete_scan() -> None:
    with running_sandbox(jobs=1_000, seed=8, drift_deletes=1) as sb:
        before = sb.store.snapshot_ids()
        with _client(sb) as client:
            ids, report = _scan(client, concurrent=False)
        after = sb.store.snapshot_ids()
    assert report.complete and report.rereads > 0
    assert (before & after) <= set(ids)


def test_sdk_writes_and_their_errors(sandbox: SandboxHandle) -> None:
    body = {"title": "Data Engineer", "company": "Acme", "location": "Remote", "type": "contract"}
    with _client(sandbox) as client:
        created = client.jobs.create(body)
        assert created.id in sandbox.store.snapshot_ids() and created.posted_at is not None
        updated = client.jobs.update(created.id, {"title": "Staff Data Engineer"})
        assert updated.title == "Staff Data Engineer"
        client.jobs.delete(created.id)
        assert created.id not in sandbox.store.snapshot_ids()
        with pytest.raises(NotFoundError, match="404"):
            client.jobs.delete(created.id)
        with pytest.raises(BadRequestError, match="type must be one of"):
            list(client.jobs.scan(type="permanent"))
        with pytest.raises(BadRequestError, match="missing required field"):
            client.jobs.create({"title": "No company"})
    with _client(sandbox, key="read-only-key") as reader:
        assert len(list(reader.jobs.list(type="contract"))) > 0
        with pytest.raises(PermissionDeniedError, match="403"):
            reader.jobs.create(body)
    with (
        _client(sandbox, key="wrong-key-123456") as stranger,
        pytest.raises(AuthenticationError) as caught,
    ):
        list(stranger.jobs.scan())
    assert str(caught.value).startswith("JobSphere rejected the API key (401 Unauthorized)")


def test_updated_at_flag_reaches_the_typed_jobs() -> None:
    with running_sandbox(jobs=120, seed=6, updated_at=True) as sb, _client(sb) as client:
        jobs = list(client.jobs.list())
        raw = [r for page in client.jobs.scan() for r in page.records]
    assert len(jobs) == 120 and all(job.updated_at is not None for job in jobs)
    assert all(job.posted_at is not None and job.updated_at >= job.posted_at for job in jobs)  # type: ignore[operator]
    assert all(isinstance(r["updated_at"], str) for r in raw)  # raw records keep the wire text
